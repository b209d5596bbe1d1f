"""Where a corpus lives: a local folder, or a prefix on object storage named by a URL.

`s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix` (also `gcs://`). A URL may
carry settings in its query string (`?endpoint=http://host:9000&region=eu-west-1`);
they are not secret, and `Location.address` keeps them so that a corpus registered
with them is reached again at the same store. A URL that carries credentials
(`s3://KEY:SECRET@bucket/prefix`, `?secret=...`, any user-info, also inside a
setting's value: `?endpoint=http://KEY:SECRET@host`) is refused: a URL is
echoed by shells, logs, recipes and records, so keys come from the AWS environment
variables or a profile only. `Location.url` and `redact` name a location printably.

Command-line options typed as paths reach here already mangled (`Path("s3://b/k")`
is `s3:/b/k`), so `parse` accepts that form too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode

from facedata.errors import FacedataError

# scheme as typed -> the store it names
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):/{1,2}(?P<rest>[^\s'\"]*)")
# how any URL begins: a value that begins so is never a folder name, even unparsable
_BEGINS = re.compile(r"\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):/")
# any URL's user-info and query string, wherever it appears in a text
# (greedy up to the last '@' of the URL: a secret may hold '/', '+', '=', '%2F')
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2})[^\s'\"]*@")
_QUERY = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*:/{1,2}[^\s?'\"]*)\?[^\s'\"]*")
_SECRETISH = re.compile(
    r"(?i)(?P<key>(?:aws_)?(?:secret_access_key|access_key_id|session_token|secret|token)"
    r"\s*[=:]\s*)\S+"
)


# the query settings a location keeps (not secret); any other setting is dropped
KEPT = ("endpoint", "endpoint_url", "region")
# query settings that hold a credential: such a URL is refused
_KEYED = re.compile(r"(?i)key|secret|token|password|passwd|credential|signature|session")
KEYED_HINT = (
    "never put keys in a URL (it is echoed and recorded); set AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, ~/.aws) and name the corpus as "
    "s3://BUCKET/PREFIX"
)


class StorageError(FacedataError):
    """A remote location that cannot be named, reached, read or written."""


@dataclass(frozen=True)
class Location:
    """A prefix on object storage; `url` is its printable name (no secrets)."""

    scheme: str  # "s3" or "gs"
    bucket: str
    key: str  # the prefix inside the bucket, no leading or trailing slash
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}".rstrip("/")

    def __str__(self) -> str:
        return self.url

    @property
    def address(self) -> str:
        """`url` with the settings needed to reach the store again (`?endpoint=`):
        what the registry keeps; never a credential."""
        kept = [(k, v) for k, v in self.options if k in KEPT]
        return self.url + ("?" + urlencode(kept, safe=":/") if kept else "")

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
    refuse_keyed(text)
    m = _URL.fullmatch(text)
    if not m or m.group("scheme").lower() not in SCHEMES:
        if _storage_scheme(text):  # s3://… with a space or a quote: never a folder
            raise StorageError(
                f"{redact(text)} is not a storage URL facedata can use: it holds a space, "
                "a quote or another character a URL may not",
                hint="write it as s3://BUCKET/PREFIX, with settings as ?endpoint=URL "
                "(percent-encode what needs it)",
            )
        return None
    scheme = SCHEMES[m.group("scheme").lower()]
    rest, _, query = m.group("rest").partition("?")
    rest, _, _fragment = rest.partition("#")
    netloc, _, key = rest.partition("/")
    options = tuple(parse_qsl(query, keep_blank_values=True))
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
    options = tuple((k, v) for k, v in options if v)
    return Location(scheme, netloc, "/".join(segments), options=options)


def refuse_keyed(value: str | Path | None) -> None:
    """Raise when `value` is a URL (any scheme) carrying credentials: an output
    option given one must never turn it into a local folder name or a record."""
    if value is None:
        return
    text = str(value)
    m = _BEGINS.match(text)
    if not m:
        return
    # the whole text, whatever it holds (a quote or a space ends no URL here): a
    # key anywhere in it, or any URL inside it with user-info, refuses it
    if _keyed(text[m.end() :].lstrip("/"), depth=0) or _USERINFO.search(text):
        raise StorageError(
            f"{_refused(text)} carries credentials in the URL; it was refused", hint=KEYED_HINT
        )


def _keyed(rest: str, depth: int) -> bool:
    """Does a URL's part after `scheme://` carry credentials: user-info, a setting named
    like a key, or a setting whose value is itself a keyed URL?"""
    path, _, query = rest.partition("?")
    if "@" in path:
        return True
    pairs = parse_qsl(query, keep_blank_values=True)
    return any(_KEYED.search(k) or keyed_value(v, depth) for k, v in pairs)


def keyed_value(value: str, depth: int = 0) -> bool:
    """Is a URL setting's value (percent-decoded, even twice) a URL carrying credentials
    (`?endpoint=http://KEY:SECRET@host`)? Nesting is followed a few levels, no more."""
    for _ in range(3):  # a value percent-encoded more than once
        if "%" not in value:
            break
        value = unquote(value)
    inner = _URL.match(value.strip())
    return bool(inner) and (depth >= 3 or _keyed(inner.group("rest"), depth + 1))


def _refused(text: str) -> str:
    """A keyed URL as a refusal names it: redacted, with the `//` a path option lost."""
    return redact(re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*):/(?!/)", r"\1://", text))


def _storage_scheme(text: str) -> bool:
    m = _BEGINS.match(text)
    return bool(m and m.group("scheme").lower() in SCHEMES)


def is_remote(value: str | Path | None) -> bool:
    """Does `value` name object storage (rather than a local folder)? A value that
    begins like a storage URL does, even one `parse` refuses: it is never a folder."""
    if value is None:
        return False
    return _storage_scheme(str(value))


def redact(text: str) -> str:
    """`text` with every URL's user-info and query string, and anything that reads
    like `secret=...`, replaced: what may be printed, logged or recorded."""
    text = _USERINFO.sub(lambda m: m.group("head") + "***@", text)
    text = _QUERY.sub(lambda m: m.group("head") + _kept_query(m.group(0)), text)
    return _SECRETISH.sub(lambda m: m.group("key") + "***", text)


def _kept_query(url: str) -> str:
    """The query of `url` as it may be printed: the kept settings, else `?***`."""
    query = url.partition("?")[2]
    pairs = parse_qsl(query, keep_blank_values=True)
    if pairs and all(k in KEPT and not _KEYED.search(v) and not keyed_value(v) for k, v in pairs):
        return "?" + urlencode(pairs, safe=":/")
    return "?***"


def shown(value: str | Path) -> str:
    """How a corpus location is printed and recorded: a remote one as its plain URL."""
    loc = parse(value) if is_remote(value) else None
    return loc.url if loc else str(value)


def cache_location(value: str | None) -> Location | None:
    """The fetch cache's location: `value` (a --cache option or a recipe's `cache`), else
    FACEDATA_CACHE_URL; None when neither names one. A URL is required (not a folder)."""
    from facedata import settings

    given = value or settings.text("FACEDATA_CACHE_URL").strip()
    if not given:
        return None
    refuse_keyed(given)
    loc = parse(given)
    if loc is None:
        raise StorageError(
            f"the fetch cache {redact(str(given))} is not an object-storage URL",
            hint="name it as s3://BUCKET/PREFIX (or gs://BUCKET/PREFIX); a local cache is "
            "FACEDATA_HOME",
        )
    return loc


def corpus_caches(corpus: Path | None, given: str | None = None) -> list[str]:
    """The fetch caches whose withdrawals a command on the corpus at `corpus` reads: the
    one named (`given`, else FACEDATA_CACHE_URL) AND the one the corpus was built from
    (`cache:` in its recipe.yaml). A corpus built from a cache may hold a person
    forgotten on another home with that cache: naming another cache must not hide it.
    Empty: no cache. The stores are asked by the caller, which fails closed when one
    does not answer."""
    from facedata import settings

    named = (given or settings.text("FACEDATA_CACHE_URL")).strip()
    out = [named] if named else []
    recorded = recorded_cache(corpus) if corpus is not None else None
    if recorded and recorded not in out:
        out.append(recorded)
    return out


def recorded_cache(corpus: Path) -> str | None:
    """The `cache:` a corpus's recipe.yaml names (None: none, or a recipe that cannot be
    read)."""
    from facedata.files.yamlfile import load_yaml

    recipe = Path(corpus) / "recipe.yaml"
    if not recipe.is_file():
        return None
    try:
        data = load_yaml(recipe).data
    except FacedataError:
        return None
    value = data.get("cache") if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None
