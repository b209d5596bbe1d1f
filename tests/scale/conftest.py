"""The S3-compatible server of the object-storage tests, for builds through a cluster."""

from tests.storage.conftest import s3, s3_server  # noqa: F401  (fixtures)
