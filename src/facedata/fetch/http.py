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
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

import facedata.files.jsontext as jsontext
from facedata import settings
from facedata.errors import FetchError, IntegrityError, NoNetworkError
from facedata.fetch import progress

CHUNK = 1024 * 1024
RETRIES = 5
BACKOFF = 0.5  # seconds, doubled per attempt (tests set it to 0)
MAX_BACKOFF = 20.0
MAX_RETRY_AFTER = 60.0
TIMEOUT = (15.0, 60.0)  # connect, read (between bytes)
TRANSIENT = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "facedata (+https://github.com/)"
MAX_TRIES = 30  # requests per download, whatever happens: progress does not reset this
MAX_REDIRECTS = 10
# When neither the manifest nor the server says how large a file is, this is the most
# that is written (FACEDATA_FETCH_MAX_BYTES); a manifest size allows a small margin.
UNKNOWN_SIZE_CAP = 256 * 1024**3
SIZE_MARGIN = 0.05


def deadline_s() -> float:
    """The whole download, every retry included (FACEDATA_FETCH_DEADLINE, seconds)."""
    return settings.number("FACEDATA_FETCH_DEADLINE")


def min_rate() -> tuple[float, float]:
    """(bytes/s, window s): a transfer slower than this over the window is cut.

    A per-read timeout alone never fires on a server that drips a byte every few
    seconds; the rate over a window does.
    """
    return (
        settings.number("FACEDATA_FETCH_MIN_RATE"),
        settings.number("FACEDATA_FETCH_RATE_WINDOW"),
    )


def size_cap(strict: int | None, soft: int | None, server: int | None) -> int:
    """The most bytes a body may have: what the manifest or pin promises, else the
    server's own Content-Length, else a large fixed cap."""
    if strict is not None:
        return strict
    if soft is not None:
        return soft + max(int(soft * SIZE_MARGIN), 1024 * 1024)
    if server is not None:
        return server
    return settings.whole("FACEDATA_FETCH_MAX_BYTES", UNKNOWN_SIZE_CAP)


class HtmlPageError(FetchError):
    """An HTML page (login, quota, error) arrived where a data file was expected."""


class SizeExceeded(IntegrityError):
    """The server declares, or sends, more bytes than the file may have."""

    def __init__(self, message: str, hint: str, size: int, cap: int) -> None:
        super().__init__(message, hint)
        self.size, self.cap = size, cap


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
    return sniffs_html(head)


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml version", b"<meta")


def sniffs_html(head: bytes) -> bool:
    """The bytes open like a web page (comments and whitespace skipped)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for _ in range(8):
        if not start.startswith(b"<!--"):
            break
        end = start.find(b"-->")
        if end < 0:
            return False
        start = start[end + 3 :].lstrip(b" \t\r\n")
    return start.startswith(_HTML_STARTS)


def _meta_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _load_meta(part: Path) -> dict:
    try:
        return jsontext.loads(_meta_path(part).read_text())
    except (OSError, ValueError):
        return {}


def _save_meta(part: Path, meta: dict) -> None:
    from facedata.files.atomic import atomic_write_text

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
    max_size: int | None = None,
    soft_size: int | None = None,
) -> Downloaded:
    """Bring `url` into `part`, resuming what an earlier run left there.

    `key` identifies the content across runs (the URL by default; a Kaggle version for
    its signed, expiring URLs): a `.part` written under another key is discarded rather
    than resumed, and If-Range asks the server for the whole file if it changed; a
    server that ignores If-Range and answers 206 with another ETag or Last-Modified is
    caught too, and the download starts over.

    Bounded in every direction: never more than `max_size` bytes (a size the manifest
    or pin promises; `soft_size` allows a small margin), never more than MAX_TRIES
    requests, never longer than `deadline_s()`, never slower than `min_rate()`.
    Each request is one `_Transfer.attempt`, which says what to do next.
    """
    bounds = _Bounds(max_size, soft_size)
    with (
        _session(session) as sess,
        _Transfer(url, part, name, key or url, sess, headers, md5, bounds) as job,
    ):
        for _ in range(MAX_TRIES):
            step = job.attempt()
            if isinstance(step, Done):
                return job.finish()
            job.follow(step)
        raise FetchError(
            f"gave up on {name} from {url} after {MAX_TRIES} requests",
            hint="the server keeps failing or breaking its promises (size, ranges); "
            "run the command again later: it resumes where it stopped",
        )


# -- one request of a download, and what it says to do next


@dataclass(frozen=True)
class Done:
    """The body arrived whole: hash the `.part` and hand it over."""


@dataclass(frozen=True)
class Wait:
    """The server asked for patience (a transient status): sleep, then ask again."""

    seconds: float


@dataclass(frozen=True)
class Retry:
    """The request failed: back off, then resume from what the `.part` holds.

    `restart`: the `.part` cannot be continued (the server's file changed, our partial
    is longer than its file, a decoded body was cut), so the next request starts at
    byte 0. `progressed`: the request grew the file, so it does not count against
    RETRIES (MAX_TRIES still bounds it).
    """

    cause: BaseException | None = None
    progressed: bool = False
    restart: bool = False


@dataclass(frozen=True)
class Fail:
    """Nothing more will help: the download ends with `error`."""

    error: FetchError


Step = Done | Wait | Retry | Fail


@dataclass(frozen=True)
class _Bounds:
    """The sizes a caller promises: `strict` exactly (a pin), `soft` with a margin."""

    strict: int | None
    soft: int | None


@contextlib.contextmanager
def _session(given: requests.Session | None) -> Iterator[requests.Session]:
    """The caller's session, or one of our own that is closed afterwards."""
    if given is not None:
        given.max_redirects = MAX_REDIRECTS
        yield given
        return
    with requests.Session() as own:
        own.max_redirects = MAX_REDIRECTS
        yield own


class _Transfer:
    """One download's state across its requests: the `.part`'s resume record, the
    running hash, the retry count and what has crossed the network."""

    def __init__(
        self,
        url: str,
        part: Path,
        name: str,
        key: str,
        sess: requests.Session,
        headers: dict[str, str] | None,
        md5: bool,
        bounds: _Bounds,
    ) -> None:
        self.url, self.part, self.name, self.key, self.sess = url, part, name, key, sess
        self.bounds = bounds
        part.parent.mkdir(parents=True, exist_ok=True)
        self.meta = _load_meta(part)
        if self.meta.get("key") != key:
            self._start_over()
        self.headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        self.first_offset: int | None = None
        self.transferred = 0
        self.retries = 0  # failed requests since the file last grew: the backoff, RETRIES
        self.best = 0  # the longest the .part has been: only growth past it counts as progress
        self.goog: str | None = None
        self.digest = _Digest(md5)
        self.clock = Clock(url, name)

    def __enter__(self) -> _Transfer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.digest.close()

    def _start_over(self) -> None:
        discard(self.part)
        self.meta = {"key": self.key}

    def attempt(self) -> Step:
        """One request, resuming from what the `.part` holds; what to do next."""
        self.clock.check()
        have = self.part.stat().st_size if self.part.exists() else 0
        headers = dict(self.headers)
        if have:
            headers["Range"] = f"bytes={have}-"
            if self.meta.get("validator"):
                headers["If-Range"] = self.meta["validator"]
        try:
            resp = self.sess.get(
                self.url, headers=headers, stream=True, timeout=self.clock.timeout()
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if isinstance(exc, requests.exceptions.InvalidURL):
                return Fail(_bad_url(self.url, self.name, exc))
            return Retry(exc)
        except requests.TooManyRedirects:
            return Fail(
                FetchError(
                    f"{self.url} redirects in a loop (over {MAX_REDIRECTS} redirects) for "
                    f"{self.name}",
                    hint="the link is broken on the server's side; check the dataset's "
                    "homepage for a current link, or try another source with --source",
                )
            )
        except (requests.RequestException, ValueError) as exc:
            return Fail(_bad_url(self.url, self.name, exc))
        with resp:
            return self._answer(resp, have)

    def _answer(self, resp: requests.Response, have: int) -> Step:
        """What the server's answer to a request for bytes `have`- means."""
        code = resp.status_code
        if code in TRANSIENT:
            if self.retries >= RETRIES:
                return Fail(_status_error(resp, self.url, self.name))
            return Wait(min(_retry_after(resp, self.retries), self.clock.left()))
        if code == 416 and have:
            return Retry(restart=True)  # our partial is longer than the file
        if code not in (200, 206):
            return Fail(_status_error(resp, self.url, self.name))
        if not _continues(resp, have, self.meta):
            return Retry(restart=True)
        offset = have if code == 206 else 0
        if self.first_offset is None or offset == 0:
            self.first_offset = offset
        encoding = _encoding(resp, self.url, self.name)
        total = None if encoding else _total_from(resp, offset)
        cap = size_cap(self.bounds.strict, self.bounds.soft, total)
        if total is not None and total > cap:
            return Fail(
                SizeExceeded(
                    f"{self.url} declares {self.name} as {total:,} bytes, but at most {cap:,} "
                    "are expected",
                    _TOO_LARGE,
                    total,
                    cap,
                )
            )
        self._server_md5(resp)
        if offset == 0:
            self.meta = {
                "key": self.key,
                "validator": _validator(resp),
                "total": total,
                "encoding": encoding,
            }
            _save_meta(self.part, self.meta)
        if not offset:
            self.digest.pos = -1  # a fresh body: hash from the first byte again
        try:
            self.digest.sync(self.part, offset)
            self.transferred += self._receive(resp, offset, total, cap, encoding)
        except _Interrupted as exc:
            self.transferred += exc.received
            size_now = offset + exc.received
            grew = size_now > self.best and not exc.slow
            self.best = max(self.best, size_now)
            # a decoded body cannot be resumed by byte range
            return Retry(exc.cause, progressed=grew, restart=bool(encoding))
        return Done()

    def _server_md5(self, resp: requests.Response) -> None:
        """Keep the server's own md5 (x-goog-hash), and hash md5 too from now on."""
        self.goog = _goog_md5(resp) or self.goog
        if self.goog and not self.digest.want_md5:
            self.digest.close()
            self.digest = _Digest(True)

    def _receive(
        self,
        resp: requests.Response,
        offset: int,
        total: int | None,
        cap: int,
        encoding: str | None,
    ) -> int:
        """Append the body to the `.part`; returns bytes received. Raises _Interrupted on a drop.

        `read1` returns whatever has arrived, so the deadline and the minimum rate are
        checked even while a server drips a byte at a time.
        """
        received = 0
        mode = "ab" if offset else "wb"
        meter = MinRate()
        with (
            open(self.part, mode) as out,
            progress.transfer(self.name, total, offset) as advance,
        ):
            try:
                read = _reader(resp, self.name, encoding, self.url)
                while True:
                    chunk = read()
                    if not chunk:
                        break
                    self._admit(chunk, resp, offset + received, cap)
                    out.write(chunk)
                    self.digest.update(chunk)
                    received += len(chunk)
                    advance(len(chunk))
                    if why := meter.slow(received):
                        raise _Interrupted(received, ConnectionError(why), slow=True)
                    self.clock.check()
            except (requests.RequestException, Urllib3Error, OSError) as exc:
                out.flush()
                raise _Interrupted(received, exc) from None
            except _Interrupted:
                out.flush()
                raise
        if total is not None and offset + received < total:
            raise _Interrupted(
                received, ConnectionError(f"connection closed at {offset + received}")
            )
        return received

    def _admit(self, chunk: bytes, resp: requests.Response, at: int, cap: int) -> None:
        """Refuse a piece of the body landing at byte `at` that opens a web page or
        goes past the size cap."""
        if at == 0 and looks_like_html(chunk, resp.headers.get("Content-Type"), self.name):
            raise HtmlPageError(
                f"got an HTML page instead of {self.name} from {self.url} (quota or login?)",
                hint="open the URL in a browser: a quota, login or consent page stands "
                "in the way. Download the file by hand and register it with "
                "`facedata fetch ID --from PATH`, or try another source with --source",
            )
        if at + len(chunk) > cap:
            raise SizeExceeded(
                f"{self.url} sent more than the {cap:,} bytes expected of {self.name}; the "
                "download was stopped",
                _TOO_LARGE,
                at + len(chunk),
                cap,
            )

    def follow(self, step: Step) -> None:
        """Do what a failed request calls for before the next one: wait, back off, or end."""
        if isinstance(step, Fail):
            raise step.error
        if isinstance(step, Wait):
            time.sleep(step.seconds)
            self.retries += 1
        elif isinstance(step, Retry):
            if step.restart:
                self._start_over()
            self.retries = _next_attempt(
                self.retries,
                self.url,
                self.name,
                step.cause,
                progressed=step.progressed,
                clock=self.clock,
            )

    def finish(self) -> Downloaded:
        """The completed `.part`, hashed."""
        size = self.part.stat().st_size
        self.digest.sync(self.part, size)
        sha, md5_hex = self.digest.hexdigests()
        return Downloaded(
            self.part,
            self.url,
            sha,
            md5_hex,
            size,
            self.first_offset or 0,
            self.transferred,
            self.goog,
        )


_TOO_LARGE = (
    "the server sends a different (or hostile) file; check the url, or correct the size in "
    "the manifest if the publisher changed the file"
)


class Clock:
    """The overall deadline of one download, across every retry."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.limit = deadline_s()
        self.end = time.monotonic() + self.limit

    def left(self) -> float:
        return max(self.end - time.monotonic(), 0.0)

    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts for the next request, none longer than the time left,
        so a server that stops answering cannot hold a download past its deadline by
        more than a moment."""
        left = max(self.left(), 0.05)
        return (min(TIMEOUT[0], left), min(TIMEOUT[1], left))

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise FetchError(
                f"downloading {self.name} from {self.url} took over {self.limit:,.0f} s",
                hint="the server is too slow; run the command again later (it resumes), or "
                "raise FACEDATA_FETCH_DEADLINE",
            )


class MinRate:
    """The minimum rate over a window (see `min_rate`), measured on one body."""

    def __init__(self) -> None:
        self.rate, self.window = min_rate()
        self.mark_t, self.mark_n = time.monotonic(), 0

    def slow(self, received: int) -> str | None:
        """Why the body is too slow with `received` bytes so far; None while it is not."""
        now = time.monotonic()
        span = now - self.mark_t
        if span < self.window:
            return None
        if (received - self.mark_n) / span < self.rate:
            return f"slower than {self.rate:,.0f} bytes/s for {span:,.0f} s"
        self.mark_t, self.mark_n = now, received
        return None


def _bad_url(url: str, name: str, exc: BaseException) -> FetchError:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return FetchError(
        f"cannot download {name} from {url}: {detail}",
        hint="only http:// and https:// links to a valid host and port are followed (a "
        "redirect to file:// or ftp:// is refused); fix the url in the manifest",
    )


def _validator(resp: requests.Response) -> str | None:
    return resp.headers.get("ETag") or resp.headers.get("Last-Modified")


def _continues(resp: requests.Response, have: int, meta: dict) -> bool:
    """A 206 must continue the very bytes we hold: same range start, same validator,
    no transfer encoding. False: the download must start over."""
    if resp.status_code != 206:
        return True
    if not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
        return False
    if meta.get("encoding"):
        return False
    old, new = meta.get("validator"), _validator(resp)
    # the file changed on the server: splicing would mix two versions
    return not (old and new and old != new)


_DECODABLE = ("gzip", "x-gzip", "deflate")


def _encoding(resp: requests.Response, url: str, name: str) -> str | None:
    """The body's Content-Encoding if it must be decoded; refuse what cannot be.

    We ask for `identity`; a server that compresses anyway would otherwise get its
    compressed bytes hashed and pinned as the file.
    """
    enc = resp.headers.get("Content-Encoding", "").strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in _DECODABLE:
        return enc
    raise FetchError(
        f"{url} sent {name} with Content-Encoding {enc!r}, which facedata does not decode",
        hint="download the file another way and register it with `facedata fetch ID --from "
        "PATH`, or try another source with --source",
    )


_GZIP_NAMES = (".gz", ".tgz")


def _reader(
    resp: requests.Response, name: str, encoding: str | None, url: str
) -> Callable[[], bytes]:
    """A function giving the next piece of the file as it is meant to be stored (b""
    at the end).

    A body sent with `Content-Encoding: gzip` is decoded, as HTTP says, except for a
    file that is itself gzip (`x.tar.gz`): many servers label such a file's own
    compression as the transfer's, and decoding it would store `x.tar` under the
    name `x.tar.gz` (and fail a well-behaved mirror's pin). For those, the first bytes
    decide: a body whose decoded start is gzip again was compressed twice and is
    decoded once; any other is the file itself, stored as sent.
    """
    if not encoding:
        return lambda: resp.raw.read1(CHUNK, decode_content=False)
    if encoding not in ("gzip", "x-gzip") or not name.lower().endswith(_GZIP_NAMES):
        return lambda: resp.raw.read1(CHUNK, decode_content=True)
    pending = [resp.raw.read1(CHUNK, decode_content=False)]

    def raw() -> bytes:
        return pending.pop() if pending else resp.raw.read1(CHUNK, decode_content=False)

    try:
        head = zlib.decompressobj(31).decompress(pending[0], 2)
    except zlib.error:
        head = b""
    if not head.startswith(b"\x1f\x8b"):
        return raw
    inflate = zlib.decompressobj(31)

    def decoded() -> bytes:
        while True:
            data = inflate.unconsumed_tail or raw()
            if not data:
                return inflate.flush()
            try:
                out = inflate.decompress(data, CHUNK)  # bounded: a bomb meets the size cap
            except zlib.error:
                raise FetchError(
                    f"{url} sent {name} with a damaged gzip Content-Encoding",
                    hint="try again later, or download the file another way and register it "
                    "with `facedata fetch ID --from PATH`",
                ) from None
            if out:
                return out

    return decoded


class _Interrupted(Exception):
    def __init__(self, received: int, cause: BaseException, slow: bool = False) -> None:
        super().__init__(str(cause))
        self.received = received
        self.cause = cause
        self.slow = slow  # cut for being too slow: never counts as progress


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
    attempt: int,
    url: str,
    name: str,
    cause: BaseException | None,
    progressed: bool = False,
    clock: Clock | None = None,
) -> int:
    """Sleep before the next try; a try that grew the file does not count (MAX_TRIES does).

    The sleep never outlasts the overall deadline (`clock`): backing off 0.5 + 1 + 2 +
    4 + 8 s once let an 8 s deadline end a stuck download after 17 s.
    """
    if progressed:
        return 0
    if _unresolvable(cause):
        host = requests.utils.urlparse(url).hostname or url
        raise NoNetworkError(
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
    pause = min(BACKOFF * 2**attempt, MAX_BACKOFF)
    time.sleep(pause if clock is None else min(pause, clock.left()))
    if clock is not None:
        clock.check()
    return attempt + 1


__all__ = [
    "Clock",
    "Downloaded",
    "HtmlPageError",
    "MinRate",
    "SizeExceeded",
    "discard",
    "download",
    "looks_like_html",
    "size_cap",
    "sniffs_html",
]
