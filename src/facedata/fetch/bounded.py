"""What client libraries download (huggingface_hub, kagglesdk), under the same bounds
as facedata's own downloader.

huggingface_hub streams a response for as long as the server sends it, with no
overall deadline and, in its default client, no timeout: a broken or hostile Hub
(a mirror, a private endpoint, HF_ENDPOINT pointed anywhere) could send an endless
file, drip a byte a minute, or never answer. facedata's own downloader caps size,
time and rate (fetch/http.py); this puts the library's client under the same caps
through its public extension points: a client factory (huggingface_hub's
`set_client_factory`) whose client gets two event hooks, one giving every request
connect and read timeouts, one wrapping every response body in a counting stream.
What a body may be (its size cap) is set per call with `limits`, so only facedata's
own calls are bounded, by their own caps. kagglesdk is built on `requests` and has
the same gaps for its API calls: `bound_requests_session` closes them on its session.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx2

from facedata.errors import FetchError
from facedata.fetch.http import TIMEOUT, Clock, MinRate, SizeExceeded


@dataclass(frozen=True)
class Limits:
    what: str  # the file (or "the Hub's file list"), for the error message
    max_bytes: int
    clock: Clock  # the deadline, across every retry of the same file


class TooSlow(FetchError):
    """A body that arrives slower than the minimum rate."""


_LIMITS: ContextVar[Limits | None] = ContextVar("facedata_hf_limits", default=None)


def limits_for(what: str, max_bytes: int, where: str) -> Limits:
    """Bounds for `what`, fetched from `where` (for messages)."""
    return Limits(what, max_bytes, Clock(where, what))


@contextmanager
def limits(bounds: Limits) -> Iterator[None]:
    """Bodies received in this block (this thread or task) are held to `bounds`."""
    token = _LIMITS.set(bounds)
    try:
        yield
    finally:
        _LIMITS.reset(token)


class _Decoded:
    """Counts what a compressed body expands to, without keeping it.

    httpx decodes a `Content-Encoding: gzip` body after this layer sees it, so counting
    the bytes on the wire let a 1 MiB listing that expands to 1 GiB pass a 64 MiB cap.
    Each chunk is expanded here in bounded pieces only to be counted.
    """

    STEP = 1024 * 1024

    def __init__(self, encoding: str) -> None:
        # 47: gzip or zlib header, detected; a raw deflate stream is tried as such
        self.encoding = encoding
        self.inflate = zlib.decompressobj(47)
        self.raw_tried = encoding != "deflate"
        self.size = 0

    def count(self, chunk: bytes) -> int:
        """Bytes `chunk` expands to, added to the total; returns the total."""
        data = chunk
        while data:
            try:
                out = self.inflate.decompress(data, self.STEP)
            except zlib.error:
                if self.raw_tried or self.size:
                    return self.size  # httpx reports the damage itself when it decodes
                self.raw_tried, self.inflate = True, zlib.decompressobj(-15)
                continue
            self.size += len(out)
            data = self.inflate.unconsumed_tail
            if self.inflate.eof:
                break
        return self.size


_DECODED = ("gzip", "x-gzip", "deflate")


def _encoding(response: Any) -> str | None:
    """The body's Content-Encoding when it expands (gzip, deflate); any other
    encoding but identity is refused, since its expanded size cannot be counted."""
    enc = str(response.headers.get("Content-Encoding", "")).strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in _DECODED:
        return enc
    raise FetchError(
        f"{response.request.url} answered with Content-Encoding {enc!r}, which facedata "
        "does not accept (its expanded size cannot be bounded)",
        hint="the server or a proxy on the way re-encodes answers; use another endpoint",
    )


class _Counted(httpx2.SyncByteStream):
    """A response body that stops at the size cap, the deadline or the minimum rate.

    The cap holds for the body as the caller gets it: a compressed body is counted
    by what it expands to (`_Decoded`)."""

    def __init__(self, inner: Any, bounds: Limits, encoding: str | None = None) -> None:
        self.inner, self.bounds = inner, bounds
        self.decoded = _Decoded(encoding) if encoding else None

    def __iter__(self) -> Iterator[bytes]:
        b = self.bounds
        wire, meter = 0, MinRate()
        for chunk in self.inner:
            wire += len(chunk)
            got = wire if self.decoded is None else max(wire, self.decoded.count(chunk))
            if got > b.max_bytes:
                raise SizeExceeded(
                    f"the server sent more than {b.max_bytes:,} bytes for {b.what}, the "
                    "most the manifest, the pinned copy or the server's own listing allows",
                    "the download was stopped; check HF_ENDPOINT and the manifest's repo_id",
                    got,
                    b.max_bytes,
                )
            if why := meter.slow(got):
                raise TooSlow(
                    f"{b.what} arrived {why}",
                    hint="the server is too slow; try again later, or lower "
                    "FACEDATA_FETCH_MIN_RATE",
                )
            b.clock.check()
            yield chunk

    def close(self) -> None:
        self.inner.close()


def _bound_wait(request: Any) -> None:
    """huggingface_hub passes `timeout=None` (wait forever) on its calls, which
    overrides any client default: each request gets connect and read timeouts here
    (httpx reads them from the request's extensions), a caller's own finite ones kept."""
    connect, read = TIMEOUT
    given = dict(request.extensions.get("timeout") or {})
    wanted = {"connect": connect, "read": read, "write": read, "pool": read}
    request.extensions["timeout"] = {
        k: given[k] if given.get(k) is not None else v for k, v in wanted.items()
    }


def _bound_body(response: Any) -> None:
    bounds = _LIMITS.get()
    if bounds is not None:
        response.stream = _Counted(response.stream, bounds, _encoding(response))


def _bounded(make: Callable[[], Any]) -> Callable[[], Any]:
    def factory() -> Any:
        client = make()
        hooks = client.event_hooks
        client.event_hooks = {
            **hooks,
            "request": [*hooks.get("request", []), _bound_wait],
            "response": [*hooks.get("response", []), _bound_body],
        }
        return client

    return factory


@contextmanager
def bounded_hub_client() -> Iterator[None]:
    """huggingface_hub's calls in this block, or in a function decorated with it, use a
    bounded client (the factory that was in place, a user's own included, makes it;
    it is put back afterwards)."""
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http

    before = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)
    set_client_factory(_bounded(before))
    try:
        yield
    finally:
        set_client_factory(before)


MAX_API_BYTES = 64 * 1024 * 1024  # one JSON answer of a dataset site's API


def bound_requests_session(session: Any, max_body: int | None = None) -> None:
    """The same for a client library built on a `requests` session (kagglesdk): every
    request gets connect and read timeouts, and an answer read whole (not streamed) may
    be at most `max_body` bytes. Streamed answers are left to the caller, which for
    facedata is `obtain`, with its own caps."""
    import requests
    from requests.adapters import HTTPAdapter

    cap = MAX_API_BYTES if max_body is None else max_body

    class _Bounded(HTTPAdapter):
        def send(self, request: Any, stream: bool = False, timeout: Any = None, **kw: Any) -> Any:
            resp = super().send(request, stream=True, timeout=timeout or TIMEOUT, **kw)
            if stream:
                return resp
            body = bytearray()
            try:
                for chunk in resp.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > cap:
                        raise SizeExceeded(
                            f"{request.url} answered with more than {cap:,} bytes",
                            "the API's answer was cut off; check the endpoint",
                            len(body),
                            cap,
                        )
            finally:
                resp.close()
            resp._content = bytes(body)  # what requests keeps for .content / .json()
            resp._content_consumed = True
            return resp

    adapter = _Bounded()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    assert isinstance(session, requests.Session)
