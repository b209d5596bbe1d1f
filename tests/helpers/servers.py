"""Real HTTP servers on 127.0.0.1 for tests: files with faults, a fake Kaggle API, a fake Hub.

Nothing here touches the internet. The servers speak real HTTP/1.1 so the code under
test (requests, the official Kaggle client, huggingface_hub) runs unchanged.

Plain files::

    with serve_files({"data/a.zip": b"...", "big.bin": Path("big.bin")}) as base_url:
        base_url.fault("data/a.zip", drop_after(1000))  # next request dies after 1000 bytes
        fetch(f"{base_url}/data/a.zip")
        assert base_url.bytes_sent("data/a.zip") == ...

`base_url` is a `str` (so f-strings just work) that also carries the server's request
log and fault controls.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Content = bytes | Path
Route = Callable[["Handler", re.Match[str]], None]

HTML_LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b"<body><form action='/login'>Google Drive quota exceeded. Sign in.</form></body></html>\n"
)


@dataclass
class Fault:
    """One misbehaviour, applied to the next `times` requests for a path (None: forever)."""

    kind: str  # drop | status | html | wrong | norange | throttle
    times: int | None = 1
    after: int = 0  # drop: body bytes sent before the connection is cut
    status: int = 500
    retry_after: float | None = None
    rate: float = 0.0  # throttle: bytes per second


def drop_after(n_bytes: int, times: int | None = 1) -> Fault:
    """Promise the whole body, send `n_bytes`, then cut the connection."""
    return Fault("drop", times, after=n_bytes)


def status(code: int, times: int | None = 1, retry_after: float | None = None) -> Fault:
    return Fault("status", times, status=code, retry_after=retry_after)


def html_page(times: int | None = 1) -> Fault:
    """A 200 text/html login / quota page where the file should be."""
    return Fault("html", times)


def wrong_bytes(times: int | None = 1) -> Fault:
    """The right length, the wrong content (every byte flipped)."""
    return Fault("wrong", times)


def ignore_range(times: int | None = 1) -> Fault:
    """Answer 200 with the full body even when a Range was asked for."""
    return Fault("norange", times)


def throttle(bytes_per_s: float, times: int | None = None) -> Fault:
    """Send slowly, so a test can interrupt a transfer in the middle."""
    return Fault("throttle", times, rate=bytes_per_s)


@dataclass
class Record:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    sent: int = 0  # body bytes written to the socket


def _size(content: Content) -> int:
    return content.stat().st_size if isinstance(content, Path) else len(content)


def _etag(content: Content) -> str:
    if isinstance(content, Path):
        st = content.stat()
        return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-request is what the fault tests do: no tracebacks."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    """A threaded HTTP server: static files (with Range, faults) plus custom routes."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.files: dict[str, Content] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.log: list[Record] = []
        self._lock = threading.Lock()
        self.httpd = _Server((host, port), Handler)
        self.httpd.app = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, path: str, content: Content, headers: dict[str, str] | None = None) -> None:
        self.files[path.lstrip("/")] = content
        if headers:
            self.headers[path.lstrip("/")] = headers

    def route(self, method: str, pattern: str, fn: Route) -> None:
        self.routes.append((method, re.compile(pattern), fn))

    def fault(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.faults.setdefault(path.lstrip("/"), []).extend(faults)

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path, [])
            if not queue:
                return None
            f = queue[0]
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    queue.pop(0)
            return f

    def requests_for(self, path: str, method: str = "GET") -> list[Record]:
        path = "/" + path.lstrip("/")
        return [r for r in self.log if r.path == path and r.method == method]

    def bytes_sent(self, path: str) -> int:
        return sum(r.sent for r in self.requests_for(path))


class ServedURL(str):
    """The base URL, carrying its server so tests can inject faults and read the log."""

    server: LoopbackServer

    def fault(self, path: str, *faults: Fault) -> None:
        self.server.fault(path, *faults)

    def bytes_sent(self, path: str) -> int:
        return self.server.bytes_sent(path)

    def requests_for(self, path: str, method: str = "GET") -> list[Record]:
        return self.server.requests_for(path, method)

    @property
    def log(self) -> list[Record]:
        return self.server.log


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "loopback/1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    @property
    def app(self) -> LoopbackServer:
        return self.server.app  # type: ignore[attr-defined]

    def _record(self) -> Record:
        rec = Record(self.command, self.path.split("?")[0], dict(self.headers.items()))
        with self.app._lock:
            self.app.log.append(rec)
        self.rec = rec
        return rec

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._record()
        path = self.path.split("?")[0]
        for method, pattern, fn in self.app.routes:
            m = pattern.fullmatch(path)
            if m and method == self.command:
                fn(self, m)
                return
        name = path.lstrip("/")
        if self.command in ("GET", "HEAD") and name in self.app.files:
            self.send_content(name, self.app.files[name], self.app.headers.get(name, {}))
            return
        self.send_json({"error": f"not found: {path}"}, 404)

    # -- responses

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(
        self, obj: object, code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.rec.status = code
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_content(self, name: str, content: Content, extra: dict[str, str]) -> None:
        """Serve a file honouring Range / If-Range, applying the next fault for it."""
        fault = self.app.take_fault(name) if self.command == "GET" else None
        total = _size(content)
        etag = _etag(content)
        if fault and fault.kind == "status":
            body = f"error {fault.status}".encode()
            self.send_response(fault.status)
            if fault.retry_after is not None:
                self.send_header("Retry-After", str(fault.retry_after))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.rec.status = fault.status
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        if fault and fault.kind == "html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(HTML_LOGIN_PAGE)))
            self.end_headers()
            self.rec.status = 200
            if self.command != "HEAD":
                self.wfile.write(HTML_LOGIN_PAGE)
                self.rec.sent = len(HTML_LOGIN_PAGE)
            return
        start, end = 0, total - 1
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        honour = (
            rng and not (fault and fault.kind == "norange") and (not if_range or if_range == etag)
        )
        code = 200
        if honour:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if m:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else total - 1
                end = min(end, total - 1)
                if start >= total:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{total}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.rec.status = 416
                    return
                code = 206
        length = end - start + 1
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.rec.status = code
        if self.command == "HEAD":
            return
        self._send_body(content, start, length, fault)

    def _send_body(self, content: Content, start: int, length: int, fault: Fault | None) -> None:
        limit = length
        if fault and fault.kind == "drop":
            limit = min(length, fault.after)
        rate = fault.rate if fault and fault.kind == "throttle" else 0.0
        flip = bool(fault and fault.kind == "wrong")
        try:
            if isinstance(content, Path) and not (rate or flip):
                with content.open("rb") as fh:
                    sent = self.connection.sendfile(fh, start, limit)
                    self.rec.sent += sent
            else:
                self._send_chunks(content, start, limit, rate, flip)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if limit < length:
            # cut the connection mid-body: the client sees a short read
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _send_chunks(
        self, content: Content, start: int, limit: int, rate: float, flip: bool
    ) -> None:
        chunk = 64 * 1024 if not rate else max(1024, int(rate / 20))
        began = time.monotonic()
        pos = 0
        fh = content.open("rb") if isinstance(content, Path) else None
        try:
            if fh:
                fh.seek(start)
            while pos < limit:
                n = min(chunk, limit - pos)
                data = fh.read(n) if fh else content[start + pos : start + pos + n]  # type: ignore[index]
                if flip:
                    data = bytes(b ^ 0xFF for b in data)
                self.wfile.write(data)
                pos += len(data)
                self.rec.sent += len(data)
                if rate:
                    ahead = pos / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
        finally:
            if fh:
                fh.close()


@contextlib.contextmanager
def serve_files(
    files: dict[str, Content] | None = None,
    headers: dict[str, dict[str, str]] | None = None,
    port: int = 0,
) -> Iterator[ServedURL]:
    """Serve `files` (path -> bytes or Path) on 127.0.0.1; yield the base URL."""
    server = LoopbackServer(port)
    for name, content in (files or {}).items():
        server.add(name, content, (headers or {}).get(name))
    server.start()
    url = ServedURL(server.url)
    url.server = server
    try:
        yield url
    finally:
        server.stop()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- Kaggle

KAGGLE_PORT = 7777  # kagglesdk: KAGGLE_API_ENVIRONMENT=TEST -> http://localhost:7777
_DS = "/api/v1/datasets.DatasetApiService"
_COMP = "/api/v1/competitions.CompetitionApiService"


@dataclass
class FakeKaggle:
    """State of the fake Kaggle API: datasets by version, competitions, accepted creds."""

    server: LoopbackServer
    datasets: dict[str, dict[int, bytes]] = field(default_factory=dict)
    competitions: dict[str, bytes] = field(default_factory=dict)
    rules_not_accepted: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=lambda: {"test-token"})
    keys: set[tuple[str, str]] = field(default_factory=lambda: {("tester", "test-key")})

    @property
    def url(self) -> str:
        return self.server.url

    def add_dataset(self, ref: str, version: int, zip_bytes: bytes) -> None:
        self.datasets.setdefault(ref, {})[version] = zip_bytes
        owner, slug = ref.split("/")
        self.server.add(f"files/{owner}/{slug}/{version}/{slug}.zip", zip_bytes, _goog(zip_bytes))

    def add_competition(self, name: str, zip_bytes: bytes, rules_accepted: bool = True) -> None:
        self.competitions[name] = zip_bytes
        self.server.add(f"files/c/{name}/{name}.zip", zip_bytes, _goog(zip_bytes))
        if not rules_accepted:
            self.rules_not_accepted.add(name)

    def authorized(self, h: Handler) -> bool:
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:] in self.tokens
        if auth.startswith("Basic "):
            user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            return (user, key) in self.keys
        return False


def _goog(data: bytes) -> dict[str, str]:
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    return {"x-goog-hash": f"md5={md5}", "Content-Disposition": "attachment"}


def _kaggle_routes(k: FakeKaggle) -> None:
    def deny(h: Handler) -> bool:
        if not k.authorized(h):
            h.read_body()
            h.send_json({"code": 401, "message": "Unauthenticated"}, 401)
            return True
        return False

    def get_dataset(h: Handler, m: re.Match[str]) -> None:
        if deny(h):
            return
        req = json.loads(h.read_body() or b"{}")
        ref = f"{req.get('ownerSlug')}/{req.get('datasetSlug')}"
        if ref not in k.datasets:
            h.send_json({"code": 404, "message": f"dataset {ref} not found"}, 404)
            return
        h.send_json({"ref": ref, "currentVersionNumber": max(k.datasets[ref])})

    def download_dataset(h: Handler, m: re.Match[str]) -> None:
        if deny(h):
            return
        req = json.loads(h.read_body() or b"{}")
        owner, slug = req.get("ownerSlug"), req.get("datasetSlug")
        versions = k.datasets.get(f"{owner}/{slug}")
        if not versions:
            h.send_json({"code": 404, "message": "not found"}, 404)
            return
        version = req.get("datasetVersionNumber") or max(versions)
        if version not in versions:
            h.send_json({"code": 404, "message": f"version {version} not found"}, 404)
            return
        _redirect(h, f"{k.url}/files/{owner}/{slug}/{version}/{slug}.zip")

    def download_competition(h: Handler, m: re.Match[str]) -> None:
        if deny(h):
            return
        req = json.loads(h.read_body() or b"{}")
        name = req.get("competitionName")
        if name not in k.competitions:
            h.send_json({"code": 404, "message": "competition not found"}, 404)
            return
        if name in k.rules_not_accepted:
            h.send_json({"code": 403, "message": "You must accept this competition's rules"}, 403)
            return
        _redirect(h, f"{k.url}/files/c/{name}/{name}.zip")

    k.server.route("POST", rf"{_DS}/GetDataset", get_dataset)
    k.server.route("POST", rf"{_DS}/DownloadDataset", download_dataset)
    k.server.route("POST", rf"{_COMP}/DownloadDataFiles", download_competition)


def _redirect(h: Handler, location: str) -> None:
    h.send_response(302)
    h.send_header("Location", location)
    h.send_header("Content-Length", "0")
    h.end_headers()
    h.rec.status = 302


@contextlib.contextmanager
def serve_kaggle() -> Iterator[FakeKaggle]:
    """The fake Kaggle API on the fixed port the real client's TEST environment uses."""
    server = LoopbackServer(KAGGLE_PORT)
    fake = FakeKaggle(server)
    _kaggle_routes(fake)
    server.start()
    try:
        yield fake
    finally:
        server.stop()


# --------------------------------------------------------------------------- Hugging Face


@dataclass
class HubRepo:
    files: dict[str, bytes]
    commit: str = "0" * 39 + "1"
    gated: bool = False
    lfs: bool = True  # advertise sha256 in the file metadata, as the Hub does for LFS files
    history: list[str] = field(default_factory=list)  # earlier commits, still resolvable

    def push(self, commit: str) -> None:
        """Move `main` to a new commit (same files, for simplicity)."""
        self.history.append(self.commit)
        self.commit = commit

    def knows(self, rev: str) -> bool:
        return rev in ("main", self.commit, *self.history)


@dataclass
class FakeHub:
    server: LoopbackServer
    repos: dict[str, HubRepo] = field(default_factory=dict)
    token: str = "hf_test_token"

    @property
    def url(self) -> str:
        return self.server.url

    def add(self, repo_id: str, repo: HubRepo) -> None:
        self.repos[repo_id] = repo
        for path, data in repo.files.items():
            headers = {"X-Repo-Commit": repo.commit}
            if repo.lfs:
                headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            self.server.add(f"_blobs/{repo_id}/{path}", data, headers)


def _hub_routes(hub: FakeHub) -> None:
    def gate(h: Handler, repo: HubRepo | None, repo_id: str) -> bool:
        if repo is None:
            h.send_json(
                {"error": "Repository not found"},
                401,
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
            return True
        if repo.gated and h.headers.get("Authorization") != f"Bearer {hub.token}":
            msg = f"Access to dataset {repo_id} is restricted. You must have access to it."
            h.send_json({"error": msg}, 401, {"X-Error-Code": "GatedRepo", "X-Error-Message": msg})
            return True
        return False

    def info(h: Handler, m: re.Match[str]) -> None:
        repo_id, rev = m.group("repo"), m.group("rev")
        repo = hub.repos.get(repo_id)
        if gate(h, repo, repo_id):
            return
        assert repo is not None
        if not repo.knows(rev):
            h.send_json({"error": "Invalid rev id"}, 404, {"X-Error-Code": "RevisionNotFound"})
            return
        siblings = []
        for path, data in repo.files.items():
            s: dict[str, object] = {"rfilename": path, "size": len(data)}
            if repo.lfs:
                s["lfs"] = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "pointerSize": 134,
                }
            siblings.append(s)
        sha = repo.commit if rev == "main" else rev
        h.send_json({"id": repo_id, "sha": sha, "private": False, "siblings": siblings})

    def resolve(h: Handler, m: re.Match[str]) -> None:
        repo_id, rev, path = m.group("repo"), m.group("rev"), m.group("path")
        repo = hub.repos.get(repo_id)
        if gate(h, repo, repo_id):
            return
        assert repo is not None
        if not repo.knows(rev) or path not in repo.files:
            h.send_json({"error": "Entry not found"}, 404, {"X-Error-Code": "EntryNotFound"})
            return
        name = f"_blobs/{repo_id}/{path}"
        h.send_content(name, hub.server.files[name], hub.server.headers.get(name, {}))

    repo_re = r"(?P<repo>[^/]+/[^/]+)"
    hub.server.route("GET", rf"/api/datasets/{repo_re}/revision/(?P<rev>[^/]+)", info)
    for method in ("GET", "HEAD"):
        hub.server.route(
            method, rf"/datasets/{repo_re}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", resolve
        )


@contextlib.contextmanager
def serve_hub() -> Iterator[FakeHub]:
    """A fake Hugging Face Hub for the real huggingface_hub client (pass endpoint=hub.url)."""
    server = LoopbackServer()
    hub = FakeHub(server)
    _hub_routes(hub)
    server.start()
    try:
        yield hub
    finally:
        server.stop()


def make_zip(members: dict[str, bytes]) -> bytes:
    """A zip archive in memory (deterministic timestamps)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def make_tar(members: dict[str, bytes], gz: bool = False) -> bytes:
    """A tar (or tar.gz) archive in memory."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1577836800
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = [
    "FakeHub",
    "FakeKaggle",
    "Fault",
    "HubRepo",
    "KAGGLE_PORT",
    "LoopbackServer",
    "ServedURL",
    "drop_after",
    "html_page",
    "ignore_range",
    "make_tar",
    "make_zip",
    "port_free",
    "serve_files",
    "serve_hub",
    "serve_kaggle",
    "sha256",
    "status",
    "throttle",
    "wrong_bytes",
]
