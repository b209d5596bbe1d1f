"""Where a corpus lives: a local folder, or a prefix on object storage named by a URL.

`s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix` (also `gcs://`). A URL may
carry credentials (`s3://KEY:SECRET@bucket/prefix`) and settings in its query string
(`?endpoint=http://host:9000&region=eu-west-1`); both are used to connect and never
written anywhere: `Location.url` and `redact` drop them, and everything facedata
records or prints about a remote corpus goes through one of the two.

Command-line options typed as paths reach here already mangled (`Path("s3://b/k")`
is `s3:/b/k`), so `parse` accepts that form too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from facedata.errors import FacedataError

# scheme as typed -> the store it names
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):/{1,2}(?P<rest>[^\s'\"]*)")
# any URL's user-info and query string, wherever it appears in a text
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2})[^/\s@'\"]*@")
_QUERY = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2}[^\s?'\"]*)\?[^\s'\"]*")
_SECRETISH = re.compile(
    r"(?i)(?P<key>(?:aws_)?(?:secret_access_key|access_key_id|session_token|secret|token)"
    r"\s*[=:]\s*)\S+"
)


class StorageError(FacedataError):
    """A remote location that cannot be named, reached, read or written."""


@dataclass(frozen=True)
class Location:
    """A prefix on object storage; `url` is its printable name (no secrets)."""

    scheme: str  # "s3" or "gs"
    bucket: str
    key: str  # the prefix inside the bucket, no leading or trailing slash
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}".rstrip("/")

    def __str__(self) -> str:
        return self.url

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)

    def path(self, rel: str = "") -> str:
        """The file-system path (bucket/key/rel) of `rel` under this prefix."""
        parts = [self.bucket, self.key, rel.strip("/")]
        return "/".join(p for p in parts if p)


def parse(value: str | Path | None) -> Location | None:
    """The remote location `value` names, or None for a local path."""
    if value is None:
        return None
    text = str(value)
    m = _URL.fullmatch(text)
    if not m or m.group("scheme").lower() not in SCHEMES:
        return None
    scheme = SCHEMES[m.group("scheme").lower()]
    rest, _, query = m.group("rest").partition("?")
    rest, _, _fragment = rest.partition("#")
    netloc, _, key = rest.partition("/")
    access = secret = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        access, secret = unquote(user) or None, unquote(password) or None
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]", netloc):
        raise StorageError(
            f"{redact(text)} does not name a bucket",
            hint=f"write it as {scheme}://BUCKET/PREFIX (bucket names are lower case)",
        )
    segments = [s for s in key.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise StorageError(
            f"{redact(text)}: a corpus prefix may not hold '.' or '..'",
            hint=f"write the prefix plainly, e.g. {scheme}://{netloc}/corpora/smile",
        )
    options = tuple(parse_qsl(query, keep_blank_values=False))
    return Location(scheme, netloc, "/".join(segments), access, secret, options)


def is_remote(value: str | Path | None) -> bool:
    """Does `value` name object storage (rather than a local folder)?"""
    if value is None:
        return False
    m = _URL.fullmatch(str(value))
    return bool(m and m.group("scheme").lower() in SCHEMES)


def redact(text: str) -> str:
    """`text` with every URL's user-info and query string, and anything that reads
    like `secret=...`, replaced: what may be printed, logged or recorded."""
    text = _USERINFO.sub(lambda m: m.group("head") + "***@", text)
    text = _QUERY.sub(lambda m: m.group("head") + "?***", text)
    return _SECRETISH.sub(lambda m: m.group("key") + "***", text)


def shown(value: str | Path) -> str:
    """How a corpus location is printed and recorded: a remote one as its plain URL."""
    loc = parse(value) if is_remote(value) else None
    return loc.url if loc else str(value)
