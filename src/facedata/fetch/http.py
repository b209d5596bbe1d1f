"""Download one URL into a `.part` file that survives interruptions.

Dataset archives are large and their hosts flaky (university servers, Google Drive
quotas), so a transfer must be resumable across runs, retry what is transient, and
never leave something that looks complete but is not. This module only moves bytes
and hashes them as they arrive; deciding whether the hash is acceptable, and
publishing the file, is the caller's job (see `obtain.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from ..errors import FetchError
from . import progress

CHUNK = 1024 * 1024
RETRIES = 5
BACKOFF = 0.5  # seconds, doubled per attempt (tests set it to 0)
MAX_BACKOFF = 20.0
MAX_RETRY_AFTER = 60.0
TIMEOUT = (15.0, 60.0)  # connect, read (between bytes)
TRANSIENT = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "facedata (+https://github.com/)"


class HtmlPageError(FetchError):
    """An HTML page (login, quota, error) arrived where a data file was expected."""


@dataclass
class Downloaded:
    """A completed `.part` file: its hash, and how much of it crossed the network now."""

    path: Path
    url: str
    sha256: str
    md5: str | None
    size: int
    resumed_from: int
    transferred: int
    goog_md5: str | None = None  # the server's own md5 (x-goog-hash), checked by the caller


def looks_like_html(head: bytes, content_type: str | None, name: str) -> bool:
    """True when the bytes are a web page although the file is not meant to be one."""
    if name.lower().endswith((".html", ".htm")):
        return False
    if content_type and content_type.split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    ):
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml version"))


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _load_meta(part: Path) -> dict:
    try:
        return json.loads(_meta_path(part).read_text())
    except (OSError, ValueError):
        return {}


def _save_meta(part: Path, meta: dict) -> None:
    from ..atomic import atomic_write_text

    atomic_write_text(_meta_path(part), json.dumps(meta))


def discard(part: Path) -> None:
    """Forget a partial download (bytes and resume metadata)."""
    for p in (part, _meta_path(part)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _retry_after(resp: requests.Response, attempt: int) -> float:
    value = resp.headers.get("Retry-After")
    if value:
        with contextlib.suppress(ValueError):
            return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    return min(BACKOFF * 2**attempt, MAX_BACKOFF)


def _total_from(resp: requests.Response, offset: int) -> int | None:
    cr = resp.headers.get("Content-Range", "")
    m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", cr)
    if m and m.group(3) != "*":
        return int(m.group(3))
    cl = resp.headers.get("Content-Length")
    return offset + int(cl) if cl and cl.isdigit() else None


def _goog_md5(resp: requests.Response) -> str | None:
    for part in resp.headers.get("x-goog-hash", "").split(","):
        k, _, v = part.strip().partition("=")
        if k == "md5" and v:
            import base64

            with contextlib.suppress(ValueError):
                return base64.b64decode(v).hex()
    return None


def _status_error(resp: requests.Response, url: str, name: str) -> FetchError:
    code = resp.status_code
    if code in (401, 403):
        return FetchError(
            f"{url} refused access to {name} (HTTP {code})",
            hint="the host wants a login or the link expired; download it in a browser and "
            "register it with `facedata fetch ID --from PATH`",
        )
    if code == 404:
        return FetchError(
            f"{name} is not at {url} (HTTP 404)",
            hint="the file moved; check the dataset's homepage, fix the url in its manifest, "
            "or try another source with --source",
        )
    return FetchError(
        f"{url} answered HTTP {code} for {name}",
        hint="try again later, or another source with --source",
    )


class _Digest:
    """sha256 (and md5 when asked) of the `.part` file, kept in step as bytes arrive.

    Hashing while receiving avoids reading a multi-gigabyte file a second time, and a
    worker thread does it (hashlib releases the GIL) so the socket keeps flowing while
    a chunk is hashed. After a resume or a short write the prefix on disk is re-read.
    """

    def __init__(self, md5: bool) -> None:
        self.want_md5 = md5
        self.pos = -1
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._thread: threading.Thread | None = None

    def sync(self, part: Path, offset: int) -> None:
        if self.pos == offset:
            return
        self.drain()
        self.sha = hashlib.sha256()
        self.md5 = hashlib.md5() if self.want_md5 else None
        self.pos = 0
        if offset:
            with open(part, "rb") as fh:
                left = offset
                while left > 0 and (chunk := fh.read(min(4 * CHUNK, left))):
                    self.update(chunk)
                    left -= len(chunk)
        if self.pos != offset:
            raise FetchError(f"{part} shrank while being resumed", hint="run the command again")

    def update(self, chunk: bytes) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, daemon=True)
            self._thread.start()
        self._queue.put(chunk)
        self.pos += len(chunk)

    def _work(self) -> None:
        while True:
            chunk = self._queue.get()
            try:
                if chunk is None:
                    return
                self.sha.update(chunk)
                if self.md5 is not None:
                    self.md5.update(chunk)
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        if self._thread is not None:
            self._queue.join()

    def hexdigests(self) -> tuple[str, str | None]:
        self.drain()
        return self.sha.hexdigest(), self.md5.hexdigest() if self.md5 is not None else None

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def download(
    url: str,
    part: Path,
    *,
    name: str,
    key: str | None = None,
    session: requests.Session | None = None,
    headers: dict[str, str] | None = None,
    md5: bool = False,
) -> Downloaded:
    """Bring `url` into `part`, resuming what an earlier run left there.

    `key` identifies the content across runs (the URL by default; a Kaggle version for
    its signed, expiring URLs): a `.part` written under another key is discarded rather
    than resumed, and If-Range asks the server for the whole file if it changed.
    """
    key = key or url
    part.parent.mkdir(parents=True, exist_ok=True)
    meta = _load_meta(part)
    if meta.get("key") != key:
        discard(part)
        meta = {"key": key}
    own = session is None
    sess = session or requests.Session()
    base_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    first_offset: int | None = None
    transferred = 0
    attempt = 0
    goog: str | None = None
    digest = _Digest(md5)
    try:
        while True:
            have = part.stat().st_size if part.exists() else 0
            req_headers = dict(base_headers)
            if have:
                req_headers["Range"] = f"bytes={have}-"
                if meta.get("validator"):
                    req_headers["If-Range"] = meta["validator"]
            try:
                resp = sess.get(url, headers=req_headers, stream=True, timeout=TIMEOUT)
            except (requests.ConnectionError, requests.Timeout) as exc:
                attempt = _next_attempt(attempt, url, name, exc)
                continue
            with resp:
                if resp.status_code in TRANSIENT:
                    if attempt >= RETRIES:
                        raise _status_error(resp, url, name)
                    time.sleep(_retry_after(resp, attempt))
                    attempt += 1
                    continue
                if resp.status_code == 416 and have:
                    discard(part)  # our partial is longer than the file: start over
                    meta = {"key": key}
                    attempt = _next_attempt(attempt, url, name, None)
                    continue
                if resp.status_code not in (200, 206):
                    raise _status_error(resp, url, name)
                if resp.status_code == 206 and not resp.headers.get("Content-Range", "").startswith(
                    f"bytes {have}-"
                ):
                    discard(part)
                    meta = {"key": key}
                    attempt = _next_attempt(attempt, url, name, None)
                    continue
                offset = have if resp.status_code == 206 else 0
                if first_offset is None:
                    first_offset = offset
                total = _total_from(resp, offset)
                goog = _goog_md5(resp) or goog
                if goog and not digest.want_md5:
                    digest.close()
                    digest = _Digest(True)
                if offset == 0:
                    meta = {
                        "key": key,
                        "validator": resp.headers.get("ETag") or resp.headers.get("Last-Modified"),
                        "total": total,
                    }
                    _save_meta(part, meta)
                try:
                    if offset:
                        digest.sync(part, offset)
                    else:
                        digest.pos = -1
                        digest.sync(part, 0)
                    n = _stream(resp, part, offset, total, url, name, digest)
                    transferred += n
                except _Interrupted as exc:
                    transferred += exc.received
                    attempt = _next_attempt(attempt, url, name, exc.cause, progressed=exc.received)
                    continue
                break
        size = part.stat().st_size
        digest.sync(part, size)
        sha, md5_hex = digest.hexdigests()
        return Downloaded(
            part,
            url,
            sha,
            md5_hex,
            size,
            first_offset or 0,
            transferred,
            goog,
        )
    finally:
        digest.close()
        if own:
            sess.close()


class _Interrupted(Exception):
    def __init__(self, received: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.received = received
        self.cause = cause


OFFLINE_HINT = (
    "without network access, get the file another way and register it with "
    "`facedata fetch ID --from PATH`, or serve files from a local mirror with "
    "FACEDATA_MIRROR=URL"
)


def _unresolvable(cause: BaseException | None) -> bool:
    """The host name does not resolve: retrying will not help (offline, or a typo)."""
    seen: set[int] = set()
    todo = [cause]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, socket.gaierror) or type(exc).__name__ == "NameResolutionError":
            return True
        todo += [exc.__cause__, exc.__context__, getattr(exc, "reason", None)]
        todo += [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    return False


def _next_attempt(
    attempt: int, url: str, name: str, cause: BaseException | None, progressed: int = 0
) -> int:
    """Sleep before the next try; a try that moved bytes forward does not count."""
    if progressed:
        return 0
    if _unresolvable(cause):
        host = requests.utils.urlparse(url).hostname or url
        raise FetchError(
            f"could not download {name}: the host name {host} does not resolve (no network, "
            "or no DNS)",
            hint=f"check the connection; {OFFLINE_HINT}",
        )
    if attempt >= RETRIES:
        reason = f": {cause}" if cause else ""
        raise FetchError(
            f"could not download {name} from {url} after {RETRIES + 1} tries{reason}",
            hint="check the connection and run the same command again: it resumes where it "
            f"stopped; {OFFLINE_HINT}",
        )
    time.sleep(min(BACKOFF * 2**attempt, MAX_BACKOFF))
    return attempt + 1


def _stream(
    resp: requests.Response,
    part: Path,
    offset: int,
    total: int | None,
    url: str,
    name: str,
    digest: _Digest,
) -> int:
    """Append the body to `part`; returns bytes received. Raises _Interrupted on a drop."""
    received = 0
    mode = "ab" if offset else "wb"
    with (
        open(part, mode) as out,
        progress.transfer(name, total, offset) as advance,
    ):
        try:
            while True:
                chunk = resp.raw.read(CHUNK, decode_content=False)
                if not chunk:
                    break
                if (
                    offset == 0
                    and received == 0
                    and looks_like_html(chunk, resp.headers.get("Content-Type"), name)
                ):
                    raise HtmlPageError(
                        f"got an HTML page instead of {name} from {url} (quota or login?)",
                        hint="open the URL in a browser: a quota, login or consent page stands "
                        "in the way. Download the file by hand and register it with "
                        "`facedata fetch ID --from PATH`, or try another source with --source",
                    )
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                advance(len(chunk))
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            out.flush()
            raise _Interrupted(received, exc) from None
    if total is not None and offset + received < total:
        raise _Interrupted(received, ConnectionError(f"connection closed at {offset + received}"))
    return received


__all__ = ["Downloaded", "HtmlPageError", "discard", "download", "looks_like_html"]
