"""One connection to object storage: S3 through boto3, GCS through pyarrow.fs.

Both take credentials from the usual places: the AWS / Google environment
variables, ~/.aws, instance metadata; nothing here reads a secret itself. An
S3-compatible store (MinIO, Ceph, moto, ...) is reached through an endpoint: the
URL's `?endpoint=`, else `FACEDATA_S3_ENDPOINT`, else the AWS CLI's own
`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.

Every read is bounded (a listing, an object's size) because what a bucket holds may
have been written by anyone, and every error leaves with its secrets redacted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from facedata.storage.location import Location, StorageError, redact

ENDPOINT_ENV = ("FACEDATA_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
MAX_LISTING = 100_000  # objects one listing may return before it is refused
CHUNK = 8 << 20
PART = 64 << 20  # uploads up to this are one PUT; larger ones go in parts of this size
VERIFY_BY_DOWNLOAD = 64 << 20  # a store without checksums: objects read back to verify
GCS_RETRY_SECONDS = 30  # how long a GCS call retries transient errors before it fails
HINT = (
    "check the bucket name, your credentials (AWS_ACCESS_KEY_ID / ~/.aws, "
    "GOOGLE_APPLICATION_CREDENTIALS) and, for an S3-compatible store, FACEDATA_S3_ENDPOINT"
)


class Conflict(StorageError):
    """The record changed since it was read: another publish came in between."""


def digest(raw: bytes) -> str:
    """How a record's bytes are recognised again (also the staged copy's name suffix)."""
    import hashlib

    return hashlib.sha256(raw).hexdigest()[:16]


# the error codes S3-compatible stores give for an object that is not there
MISSING = ("404", "NoSuchKey", "NotFound")


@contextmanager
def errors(doing: str, where: Location | str) -> Iterator[None]:
    """Turn a store's exception into a StorageError whose text holds no secret."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - boto3's and pyarrow's errors, all redacted
        shown = where.url if isinstance(where, Location) else redact(str(where))
        raise StorageError(f"cannot {doing} {shown}: {redact(str(exc))}", hint=HINT) from None


def endpoint(loc: Location) -> str | None:
    """The S3-compatible endpoint to use, if any (None: AWS itself)."""
    given = loc.option("endpoint") or loc.option("endpoint_url")
    for name in ENDPOINT_ENV:
        given = given or os.environ.get(name)
    return given or None


def region(loc: Location) -> str | None:
    """The region to use: the URL's `?region=`, else AWS_REGION / AWS_DEFAULT_REGION."""
    given = loc.option("region") or os.environ.get("AWS_REGION")
    return given or os.environ.get("AWS_DEFAULT_REGION") or None


class Store:
    """What a corpus needs of a store, under the prefix `loc` names; `rel` is a key
    relative to that prefix."""

    loc: Location

    def size(self, rel: str) -> int | None:
        """The object's size in bytes, or None when there is none."""
        raise NotImplementedError

    def _reader(self, rel: str) -> Any:
        """A readable binary stream of the object (a context manager)."""
        raise NotImplementedError

    def upload(self, src: Path, rel: str) -> None:
        raise NotImplementedError

    def upload_stream(self, fh: IO[bytes], rel: str) -> None:
        """Upload what `fh.read` returns, read once and in order (a caller hashing the
        reads hashes exactly the bytes sent)."""
        raise NotImplementedError

    def write_bytes(self, rel: str, data: bytes) -> None:
        raise NotImplementedError

    def replace_bytes(self, rel: str, data: bytes, base: str, limit: int) -> None:
        """Write `data` over the object only if it still holds the bytes whose `digest`
        is `base`; else raise Conflict. Here the check and the write are two steps (a
        store without conditional writes); S3 makes them one."""
        now = self.read_bytes(rel, limit)
        if now is None or digest(now) != base:
            raise Conflict(f"{self.loc.url}/{rel} changed meanwhile", hint="run it again")
        self.write_bytes(rel, data)

    def create_bytes(self, rel: str, data: bytes) -> None:
        """Write `data` only where no object is yet; else raise Conflict (two steps
        here, one conditional PUT on S3)."""
        if self.size(rel) is not None:
            raise Conflict(f"{self.loc.url}/{rel} was written meanwhile", hint="run it again")
        self.write_bytes(rel, data)

    def delete(self, rel: str) -> None:
        raise NotImplementedError

    def holds(self, rel: str, sha256: str, size: int, local: Path) -> bool:
        """Does the object at `rel` hold the bytes of `local` (`size` bytes, `sha256`)?

        A size alone proves nothing (anyone may write a bucket). Here, with no checksum
        the store computes, an object up to VERIFY_BY_DOWNLOAD is read back and hashed;
        a larger one is taken as absent (uploaded again)."""
        if self.size(rel) != size or size > VERIFY_BY_DOWNLOAD:
            return False
        import hashlib

        digest = hashlib.sha256()
        with errors("read", f"{self.loc.url}/{rel}"), self._reader(rel) as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
        return digest.hexdigest() == sha256

    def _keys(self, base: str) -> Iterator[tuple[str, int]]:
        """(full key, size) of every object whose key starts with `base`."""
        raise NotImplementedError

    def read_bytes(self, rel: str, limit: int) -> bytes | None:
        """The whole object at `rel`, or None when there is none; refused over `limit`."""
        size = self.size(rel)
        if size is None:
            return None
        if size > limit:
            raise StorageError(
                f"{self.loc.url}/{rel} is {size:,} bytes, over the {limit:,} allowed",
                hint="a corpus record is well under 1 MiB; this is not a facedata corpus",
            )
        with errors("read", f"{self.loc.url}/{rel}"), self._reader(rel) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise StorageError(f"{self.loc.url}/{rel} is over {limit:,} bytes", hint=HINT)
        return data

    def download(self, rel: str, dest: IO[bytes], limit: int) -> int:
        """Copy the object at `rel` into `dest`, refusing more than `limit` bytes."""
        done = 0
        with errors("read", f"{self.loc.url}/{rel}"), self._reader(rel) as fh:
            while block := fh.read(CHUNK):
                done += len(block)
                if done > limit:
                    raise StorageError(
                        f"{self.loc.url}/{rel} is larger than its record says ({limit:,} bytes)",
                        hint="the corpus on the store was changed or damaged; publish it again",
                    )
                dest.write(block)
        return done

    def _tagged_keys(self, base: str) -> Iterator[tuple[str, int, str | None]]:
        """(full key, size, version tag or None) of every object under `base`: a tag
        (S3's ETag) changes whenever the object's bytes do; a store that reports none
        gives None, and what was read of it is never reused."""
        for key, size in self._keys(base):
            yield key, size, None

    def read_tagged(self, rel: str, limit: int) -> tuple[bytes, str | None] | None:
        """The object at `rel` and the version tag of exactly those bytes (None where the
        store reports none), or None when there is none; refused over `limit`."""
        raw = self.read_bytes(rel, limit)
        return None if raw is None else (raw, None)

    def listing(self, rel: str) -> list[tuple[str, int]]:
        """(key relative to the corpus prefix, size) of every object under `rel`.

        The keys come from the store: whatever they hold, only ones that are plain
        relative names under `rel` come back, and a listing over MAX_LISTING objects
        is refused rather than read into memory."""
        return [(key, size) for key, size, _tag in self.tagged_listing(rel)]

    def tagged_listing(self, rel: str) -> list[tuple[str, int, str | None]]:
        """`listing`, with each object's version tag (see `_tagged_keys`): what lets a
        reader tell an object it has read before from one changed since, in one LIST."""
        prefix = f"{self.loc.key}/" if self.loc.key else ""
        base = f"{prefix}{rel.strip('/')}/"
        found: list[tuple[str, int, str | None]] = []
        with errors("list", f"{self.loc.url}/{rel}"):
            for seen, (key, size, tag) in enumerate(self._tagged_keys(base)):
                if seen >= MAX_LISTING:
                    raise StorageError(
                        f"{self.loc.url}/{rel} holds over {MAX_LISTING:,} objects",
                        hint="a corpus prefix holds a few files per version; clean it by hand",
                    )
                if not key.startswith(base):
                    continue
                inner = key[len(prefix) :]
                parts = inner.split("/")
                if any(p in ("", ".", "..") for p in parts) or "\\" in inner:
                    continue  # never acted on: a key a hostile writer shaped to climb out
                found.append((inner, size, _tag(tag)))
        return found


class S3Store(Store):
    """S3 and S3-compatible stores, through boto3 (credentials: env, ~/.aws, instance
    metadata, as the AWS CLI finds them)."""

    def __init__(self, loc: Location, client: Any) -> None:
        self.loc, self.client = loc, client

    def _key(self, rel: str) -> str:
        return "/".join(p for p in (self.loc.key, rel.strip("/")) if p)

    def _ask(self, doing: str, rel: str, call: Any, **options: Any) -> Any | None:
        """One request about the object `rel` (`call`: the client's head_object or
        get_object); None when the store says it is not there. Any other failure (no
        endpoint, no credentials, a refusal) is a StorageError whose text holds no
        secret."""
        from botocore.exceptions import ClientError

        where = f"{self.loc.url}/{rel}"
        try:
            return call(Bucket=self.loc.bucket, Key=self._key(rel), **options)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                return None
            raise StorageError(f"cannot {doing} {where}: {redact(str(exc))}", hint=HINT) from None
        except Exception as exc:  # noqa: BLE001 - no endpoint, no credentials, ...
            raise StorageError(f"cannot {doing} {where}: {redact(str(exc))}", hint=HINT) from None

    def size(self, rel: str) -> int | None:
        head = self._ask("look up", rel, self.client.head_object)
        return None if head is None else int(head["ContentLength"])

    @contextmanager
    def _reader(self, rel: str) -> Iterator[Any]:
        body = self.client.get_object(Bucket=self.loc.bucket, Key=self._key(rel))["Body"]
        try:
            yield body
        finally:
            body.close()

    def upload(self, src: Path, rel: str) -> None:
        with errors("write", f"{self.loc.url}/{rel}"):
            self.client.upload_file(str(src), self.loc.bucket, self._key(rel))

    def upload_stream(self, fh: IO[bytes], rel: str) -> None:
        """Uploaded with a SHA-256 checksum the store verifies and keeps (`holds`): of
        the whole object up to PART bytes, else of its PART-sized parts."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(  # parts read in order, one at a time
            use_threads=False, multipart_threshold=PART, multipart_chunksize=PART
        )
        extra = {"ChecksumAlgorithm": "SHA256"}
        with errors("write", f"{self.loc.url}/{rel}"):
            self.client.upload_fileobj(
                fh, self.loc.bucket, self._key(rel), ExtraArgs=extra, Config=config
            )

    def holds(self, rel: str, sha256: str, size: int, local: Path) -> bool:
        """The object's size and the SHA-256 checksum S3 computed when it was written
        (never its metadata, which the writer chooses) equal `local`'s. An object
        written without a checksum, or with another, is not held: uploaded again."""
        import base64

        head = self._ask("look up", rel, self.client.head_object, ChecksumMode="ENABLED")
        if head is None:
            return False
        if int(head.get("ContentLength") or -1) != size:
            return False
        given = str(head.get("ChecksumSHA256") or "").partition("-")[0]
        if not given:
            return False
        if size <= PART:
            return given == base64.b64encode(bytes.fromhex(sha256)).decode()
        return given == _composite(local, PART)

    def write_bytes(self, rel: str, data: bytes) -> None:
        with errors("write", f"{self.loc.url}/{rel}"):  # one PUT: all of it or nothing
            self.client.put_object(Bucket=self.loc.bucket, Key=self._key(rel), Body=data)

    def replace_bytes(self, rel: str, data: bytes, base: str, limit: int) -> None:
        """One conditional PUT (If-Match on the ETag of the bytes checked): a publish
        that came in between makes it fail instead of being overwritten."""

        where = f"{self.loc.url}/{rel}"
        with errors("read", where):
            got = self.client.get_object(Bucket=self.loc.bucket, Key=self._key(rel))
            etag, body = got.get("ETag"), got["Body"]
            try:
                now = body.read(limit + 1)
            finally:
                body.close()
        if len(now) > limit or digest(now) != base or not etag:
            raise Conflict(f"{where} changed meanwhile", hint="run it again")
        # a store without conditional writes: the check above is all there is
        self._put_if(rel, data, "changed", lambda: self.write_bytes(rel, data), IfMatch=etag)

    def create_bytes(self, rel: str, data: bytes) -> None:
        """One conditional PUT (If-None-Match: *): a record written in between by
        another publish makes it fail instead of being overwritten."""
        fallback = lambda: Store.create_bytes(self, rel, data)  # noqa: E731 - two steps
        self._put_if(rel, data, "was written", fallback, IfNoneMatch="*")

    def _put_if(
        self, rel: str, data: bytes, happened: str, fallback: Any, **condition: str
    ) -> None:
        """A PUT on `condition` (If-Match / If-None-Match): a failed condition is a
        Conflict ("`happened` meanwhile"); a store that does not implement it gets
        `fallback()`; every other failure a StorageError without secrets."""
        from botocore.exceptions import ClientError

        where = f"{self.loc.url}/{rel}"
        try:
            self.client.put_object(
                Bucket=self.loc.bucket, Key=self._key(rel), Body=data, **condition
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise Conflict(f"{where} {happened} meanwhile", hint="run it again") from None
            if code not in ("NotImplemented", "501"):
                raise StorageError(f"cannot write {where}: {redact(str(exc))}", hint=HINT) from None
            fallback()
        except Exception as exc:  # noqa: BLE001 - no endpoint, no credentials, ...
            raise StorageError(f"cannot write {where}: {redact(str(exc))}", hint=HINT) from None

    def delete(self, rel: str) -> None:
        with errors("delete", f"{self.loc.url}/{rel}"):
            self.client.delete_object(Bucket=self.loc.bucket, Key=self._key(rel))

    def _keys(self, base: str) -> Iterator[tuple[str, int]]:
        for key, size, _tag in self._tagged_keys(base):
            yield key, size

    def _tagged_keys(self, base: str) -> Iterator[tuple[str, int, str | None]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.loc.bucket, Prefix=base
        )
        for page in pages:
            for item in page.get("Contents") or []:
                yield str(item.get("Key")), int(item.get("Size") or 0), item.get("ETag")

    def read_tagged(self, rel: str, limit: int) -> tuple[bytes, str | None] | None:
        """One GET: the bytes and the ETag the store sent with exactly those bytes."""
        where = f"{self.loc.url}/{rel}"
        got = self._ask("read", rel, self.client.get_object)
        if got is None:
            return None
        body = got["Body"]
        try:
            size = int(got.get("ContentLength") or 0)
            if size > limit:
                raise StorageError(
                    f"{where} is {size:,} bytes, over the {limit:,} allowed", hint=HINT
                )
            with errors("read", where):
                data = body.read(limit + 1)
        finally:
            body.close()
        if len(data) > limit:
            raise StorageError(f"{where} is over {limit:,} bytes", hint=HINT)
        return data, _tag(got.get("ETag"))


class ArrowStore(Store):
    """Any store pyarrow.fs reaches (Google Cloud Storage here)."""

    def __init__(self, loc: Location, fs: Any) -> None:
        self.loc, self.fs = loc, fs

    def size(self, rel: str) -> int | None:
        import pyarrow.fs as pafs

        with errors("look up", f"{self.loc.url}/{rel}"):
            info = self.fs.get_file_info(self.loc.path(rel))
        return None if info.type == pafs.FileType.NotFound else int(info.size or 0)

    def _reader(self, rel: str) -> Any:
        return self.fs.open_input_stream(self.loc.path(rel))

    def upload(self, src: Path, rel: str) -> None:
        where = f"{self.loc.url}/{rel}"
        with (
            errors("write", where),
            open(src, "rb") as fh,
            self.fs.open_output_stream(self.loc.path(rel)) as out,
        ):
            while block := fh.read(CHUNK):
                out.write(block)

    def upload_stream(self, fh: IO[bytes], rel: str) -> None:
        where = f"{self.loc.url}/{rel}"
        with errors("write", where), self.fs.open_output_stream(self.loc.path(rel)) as out:
            while block := fh.read(CHUNK):
                out.write(block)

    def write_bytes(self, rel: str, data: bytes) -> None:
        where = f"{self.loc.url}/{rel}"
        with errors("write", where), self.fs.open_output_stream(self.loc.path(rel)) as out:
            out.write(data)

    def delete(self, rel: str) -> None:
        with errors("delete", f"{self.loc.url}/{rel}"):
            self.fs.delete_file(self.loc.path(rel))

    def _keys(self, base: str) -> Iterator[tuple[str, int]]:
        import pyarrow.fs as pafs

        start = f"{self.loc.bucket}/{base}"
        selector = pafs.FileSelector(start, recursive=True, allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File and info.path.startswith(f"{self.loc.bucket}/"):
                yield info.path[len(self.loc.bucket) + 1 :], int(info.size or 0)


MAX_TAG = 200  # an ETag is a quoted hex digest, with a part count for a multipart upload


def _tag(value: object) -> str | None:
    """A version tag the store reported, if it is one (bounded, printable ASCII): only
    ever compared for equality, never trusted for more."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TAG:
        return None
    return value if value.isascii() and value.isprintable() else None


def _composite(path: Path, part: int) -> str:
    """S3's checksum of an object uploaded in `part`-sized parts: the SHA-256 of the
    parts' SHA-256 digests, base64 (what a HEAD gives before its `-N`)."""
    import base64
    import hashlib

    digests = b""
    with open(path, "rb") as fh:
        while block := fh.read(part):
            digests += hashlib.sha256(block).digest()
    return base64.b64encode(hashlib.sha256(digests).digest()).decode()


def _endpoint_args(url: str) -> dict[str, str]:
    """pyarrow's form of an endpoint URL: host[:port] and scheme apart (a URL that
    passed through a path option has lost a slash: `http:/host:9000`)."""
    m = re.fullmatch(r"(?P<scheme>https?):/{1,2}(?P<host>[^/]+)/?", url.strip())
    if m:
        return {"endpoint_override": m.group("host"), "scheme": m.group("scheme")}
    return {"endpoint_override": url.strip().rstrip("/"), "scheme": "https"}


def connect(loc: Location) -> Store:
    """Open the store that holds `loc` (credentials from the usual places)."""
    with errors("connect to", loc):
        if loc.scheme == "gs":
            import pyarrow.fs as pafs

            given = loc.option("endpoint")
            args: dict[str, Any] = _endpoint_args(given) if given else {}
            # bounded: pyarrow's GCS client otherwise retries an unreachable store for
            # 15 minutes, a build that prints nothing and does not end
            args["retry_time_limit"] = timedelta(seconds=GCS_RETRY_SECONDS)
            return ArrowStore(loc, pafs.GcsFileSystem(**args))
        try:
            import boto3
        except ImportError:
            raise StorageError(
                f"{loc.url} is on S3, and boto3 is not installed",
                hint='pip install "facedata[s3]"',
            ) from None
        kwargs: dict[str, Any] = {}
        url = endpoint(loc)
        if url:
            args = _endpoint_args(url)
            kwargs["endpoint_url"] = f"{args['scheme']}://{args['endpoint_override']}"
        kwargs["region_name"] = region(loc) or "us-east-1"
        return S3Store(loc, boto3.session.Session().client("s3", **kwargs))
