"""One connection to object storage, through pyarrow's file systems.

pyarrow (already a dependency for Parquet) speaks S3 and GCS and takes credentials
from the usual places: the AWS / Google environment variables, ~/.aws, instance
metadata. An S3-compatible store (MinIO, Ceph, moto, ...) is reached through an
endpoint: the URL's `?endpoint=`, else `FACEDATA_S3_ENDPOINT`, else the AWS CLI's own
`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.

Every read is bounded (a listing, an object's size) because what a bucket holds may
have been written by anyone, and every error leaves with its secrets redacted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .location import Location, StorageError, redact

ENDPOINT_ENV = ("FACEDATA_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
MAX_LISTING = 100_000  # objects one listing may return before it is refused
CHUNK = 8 << 20
HINT = (
    "check the bucket name, your credentials (AWS_ACCESS_KEY_ID / ~/.aws, "
    "GOOGLE_APPLICATION_CREDENTIALS) and, for an S3-compatible store, FACEDATA_S3_ENDPOINT"
)


@contextmanager
def errors(doing: str, where: Location | str) -> Iterator[None]:
    """Turn a store's exception into a StorageError whose text holds no secret."""
    try:
        yield
    except StorageError:
        raise
    except (OSError, ValueError) as exc:
        shown = where.url if isinstance(where, Location) else redact(str(where))
        raise StorageError(f"cannot {doing} {shown}: {redact(str(exc))}", hint=HINT) from None


def endpoint(loc: Location) -> str | None:
    """The S3-compatible endpoint to use, if any (None: AWS itself)."""
    given = loc.option("endpoint") or loc.option("endpoint_url")
    for name in ENDPOINT_ENV:
        given = given or os.environ.get(name)
    return given or None


@dataclass
class Store:
    """A pyarrow file system and the prefix a corpus lives under."""

    loc: Location
    fs: Any  # pyarrow.fs.FileSystem

    def info(self, rel: str) -> Any:
        import pyarrow.fs as pafs

        with errors("look up", f"{self.loc.url}/{rel}"):
            info = self.fs.get_file_info(self.loc.path(rel))
        return info if info.type != pafs.FileType.NotFound else None

    def read_bytes(self, rel: str, limit: int) -> bytes | None:
        """The whole object at `rel`, or None when there is none; refused over `limit`."""
        info = self.info(rel)
        if info is None:
            return None
        if info.size is not None and info.size > limit:
            raise StorageError(
                f"{self.loc.url}/{rel} is {info.size:,} bytes, over the {limit:,} allowed",
                hint="a corpus record is well under 1 MiB; this is not a facedata corpus",
            )
        with (
            errors("read", f"{self.loc.url}/{rel}"),
            self.fs.open_input_stream(self.loc.path(rel)) as fh,
        ):
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise StorageError(f"{self.loc.url}/{rel} is over {limit:,} bytes", hint=HINT)
        return data

    def download(self, rel: str, dest: IO[bytes], limit: int) -> int:
        """Copy the object at `rel` into `dest`, refusing more than `limit` bytes."""
        done = 0
        with (
            errors("read", f"{self.loc.url}/{rel}"),
            self.fs.open_input_stream(self.loc.path(rel)) as fh,
        ):
            while block := fh.read(CHUNK):
                done += len(block)
                if done > limit:
                    raise StorageError(
                        f"{self.loc.url}/{rel} is larger than its record says ({limit:,} bytes)",
                        hint="the corpus on the store was changed or damaged; publish it again",
                    )
                dest.write(block)
        return done

    def upload(self, src: Path, rel: str) -> None:
        where = f"{self.loc.url}/{rel}"
        with (
            errors("write", where),
            open(src, "rb") as fh,
            self.fs.open_output_stream(self.loc.path(rel)) as out,
        ):
            while block := fh.read(CHUNK):
                out.write(block)

    def write_bytes(self, rel: str, data: bytes) -> None:
        where = f"{self.loc.url}/{rel}"
        with errors("write", where), self.fs.open_output_stream(self.loc.path(rel)) as out:
            out.write(data)

    def delete(self, rel: str) -> None:
        with errors("delete", f"{self.loc.url}/{rel}"):
            self.fs.delete_file(self.loc.path(rel))

    def listing(self, rel: str) -> list[tuple[str, int]]:
        """(key relative to the corpus prefix, size) of every object under `rel`.

        The keys come from the store: whatever they hold, only ones that are plain
        relative names under `rel` come back, and a listing over MAX_LISTING objects
        is refused rather than read into memory."""
        import pyarrow.fs as pafs

        base = self.loc.path(rel).rstrip("/") + "/"
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        found: list[tuple[str, int]] = []
        with errors("list", f"{self.loc.url}/{rel}"):
            infos = self.fs.get_file_info(selector)
        if len(infos) > MAX_LISTING:
            raise StorageError(
                f"{self.loc.url}/{rel} holds over {MAX_LISTING:,} objects",
                hint="a corpus prefix holds a few shards per version; clean the prefix by hand",
            )
        prefix = self.loc.path().rstrip("/") + "/"
        for info in infos:
            if info.type != pafs.FileType.File or not info.path.startswith(base):
                continue
            key = info.path[len(prefix) :]
            parts = key.split("/")
            if any(p in ("", ".", "..") for p in parts) or "\\" in key:
                continue  # never acted on: a key a hostile writer shaped to climb out
            found.append((key, int(info.size or 0)))
        return found


def _endpoint_args(url: str) -> dict[str, str]:
    """pyarrow's form of an endpoint URL: host[:port] and scheme apart (a URL that
    passed through a path option has lost a slash: `http:/host:9000`)."""
    m = re.fullmatch(r"(?P<scheme>https?):/{1,2}(?P<host>[^/]+)/?", url.strip())
    if m:
        return {"endpoint_override": m.group("host"), "scheme": m.group("scheme")}
    return {"endpoint_override": url.strip().rstrip("/"), "scheme": "https"}


def connect(loc: Location) -> Store:
    """Open the file system that holds `loc` (credentials from the usual places)."""
    import pyarrow.fs as pafs

    with errors("connect to", loc):
        if loc.scheme == "gs":
            given = loc.option("endpoint")
            return Store(loc, pafs.GcsFileSystem(**(_endpoint_args(given) if given else {})))
        kwargs: dict[str, Any] = {}
        url = endpoint(loc)
        if url:
            kwargs.update(_endpoint_args(url), allow_bucket_creation=False)
        region = loc.option("region") or os.environ.get("AWS_REGION")
        region = region or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region"] = region
        elif url:
            kwargs["region"] = "us-east-1"  # an S3-compatible store ignores it
        if loc.access_key and loc.secret_key:
            kwargs["access_key"] = loc.access_key
            kwargs["secret_key"] = loc.secret_key
        return Store(loc, pafs.S3FileSystem(**kwargs))
