"""Hostile servers on 127.0.0.1: endless bodies, drips, lies, redirects, encodings.

Every server loop is bounded (it stops after a fixed amount or when the client hangs
up) and each test tunes the deadlines down so it ends in well under two seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from pathlib import Path

import pytest

from facedata.errors import FetchError, IntegrityError, ManifestError
from facedata.fetch import fetch_dataset
from facedata.fetch import http as fhttp
from facedata.fetch.http import HtmlPageError
from facedata.fetch.store import get_source_lock, tree_dir
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import load_manifest
from tests.fetch.conftest import write_manifest
from tests.helpers.cli import run_cli
from tests.helpers.servers import Handler, LoopbackServer, make_tar, make_zip

BODY = b"0123456789" * 100  # 1,000 bytes


@pytest.fixture
def server():
    srv = LoopbackServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _http_manifest(folder: Path, url: str, name: str = "labels.txt", **spec: object):
    return write_manifest(
        folder,
        "hset",
        [
            {
                "id": "web",
                "kind": "http",
                "official": True,
                "files": [{"name": name, "url": url, "unpack": False, **spec}],
            }
        ],
    )


def _send_head(h: Handler, code: int = 200, headers: dict[str, str] | None = None) -> None:
    h.send_response(code)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.rec.status = code


def _pour(h: Handler, chunk: bytes, limit: int, delay: float = 0.0) -> None:
    """Write `chunk` repeatedly, at most `limit` bytes; stop when the client hangs up."""
    try:
        while h.rec.sent < limit:
            h.wfile.write(chunk)
            h.wfile.flush()
            h.rec.sent += len(chunk)
            if delay:
                time.sleep(delay)
    except OSError:
        pass
    h.close_connection = True


def test_body_larger_than_the_manifest_size_is_cut(server, outside):
    """No Content-Length, endless body, manifest says 1,000 bytes: at most that is written."""

    def endless(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Type": "text/plain", "Connection": "close"})
        _pour(h, b"x" * 65536, 64 << 20)

    server.route("GET", "/endless.txt", endless)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/endless.txt", size=1000)
    with pytest.raises(IntegrityError, match="size is at least"):
        fetch_dataset(m)
    assert server.requests_for("endless.txt")[0].sent < 16 << 20
    parts = list((outside.root / "cache").rglob("*.part"))
    assert all(p.stat().st_size <= 1000 for p in parts)
    assert get_source_lock("hset", "web") is None
    outside.assert_unchanged()


def test_body_larger_than_its_own_content_length_is_cut(server, outside):
    def liar(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Length": "1000", "Connection": "close"})
        _pour(h, b"y" * 65536, 8 << 20)

    server.route("GET", "/liar.txt", liar)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/liar.txt")
    res = fetch_dataset(m)  # http.client reads exactly Content-Length bytes
    assert res.files[0].size == 1000


def test_unknown_size_is_capped(server, outside, monkeypatch):
    monkeypatch.setenv("FACEDATA_FETCH_MAX_BYTES", "100000")

    def endless(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Connection": "close"})
        _pour(h, b"z" * 65536, 32 << 20)

    server.route("GET", "/nosize.txt", endless)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/nosize.txt")
    with pytest.raises(FetchError, match="more than the 100,000 bytes"):
        fetch_dataset(m)


def test_a_drip_feed_hits_the_minimum_rate_and_the_deadline(server, outside, monkeypatch):
    monkeypatch.setenv("FACEDATA_FETCH_MIN_RATE", "1000")
    monkeypatch.setenv("FACEDATA_FETCH_RATE_WINDOW", "0.2")
    monkeypatch.setenv("FACEDATA_FETCH_DEADLINE", "1.0")

    def drip(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Length": "10000", "ETag": '"d"', "Connection": "close"})
        _pour(h, b".", 10000, delay=0.05)

    server.route("GET", "/drip.txt", drip)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/drip.txt")
    start = time.monotonic()
    with pytest.raises(FetchError, match="took over|tries"):
        fetch_dataset(m)
    assert time.monotonic() - start < 5


def test_a_short_body_that_ignores_range_is_retried_a_bounded_number_of_times(server, outside):
    """Content-Length promises 1,000 bytes, 10 arrive, Range is ignored: no endless loop."""

    def short(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Length": "1000", "Connection": "close"})
        _pour(h, b"s" * 10, 10)

    server.route("GET", "/short.txt", short)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/short.txt")
    with pytest.raises(FetchError):
        fetch_dataset(m)
    assert len(server.requests_for("short.txt")) <= fhttp.MAX_TRIES


def test_growing_short_bodies_stop_at_the_total_request_limit(server, outside, monkeypatch):
    """Each try sends one byte more than the last: progress, but never the end."""
    monkeypatch.setattr(fhttp, "MAX_TRIES", 8)
    calls = []

    def creep(h: Handler, m: re.Match[str]) -> None:
        calls.append(1)
        have = int((h.headers.get("Range") or "bytes=0-")[6:].split("-")[0])
        _send_head(
            h,
            206 if have else 200,
            {
                "Content-Length": str(1000 - have),
                "Content-Range": f"bytes {have}-999/1000",
                "Connection": "close",
            },
        )
        _pour(h, b"c", 1)

    server.route("GET", "/creep.txt", creep)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/creep.txt")
    with pytest.raises(FetchError, match="after 8 requests"):
        fetch_dataset(m)
    assert len(calls) == 8


def test_resume_after_the_file_changed_starts_over(server, outside):
    """The 206 carries a new ETag: the spliced file is never pinned, the new one is."""
    old, new = b"A" * 1000, b"B" * 1000
    state = {"n": 0}

    def changing(h: Handler, m: re.Match[str]) -> None:
        state["n"] += 1
        rng = h.headers.get("Range")
        if state["n"] == 1:  # the old file, cut after 400 bytes
            _send_head(h, 200, {"Content-Length": "1000", "ETag": '"v1"', "Connection": "close"})
            _pour(h, old[:400], 400)
            return
        if rng:  # ignores If-Range and resumes from the new file
            start = int(rng[6:].split("-")[0])
            _send_head(
                h,
                206,
                {
                    "Content-Length": str(1000 - start),
                    "Content-Range": f"bytes {start}-999/1000",
                    "ETag": '"v2"',
                },
            )
            h.wfile.write(new[start:])
            return
        _send_head(h, 200, {"Content-Length": "1000", "ETag": '"v2"'})
        h.wfile.write(new)

    server.route("GET", "/changing.txt", changing)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/changing.txt")
    res = fetch_dataset(m)
    assert res.files[0].sha256 == hashlib.sha256(new).hexdigest()
    assert (tree_dir("hset", "web") / "labels.txt").read_bytes() == new


def test_gzip_content_encoding_is_decoded_before_hashing(server, outside):
    def gz(h: Handler, m: re.Match[str]) -> None:
        body = gzip.compress(BODY)
        _send_head(h, 200, {"Content-Length": str(len(body)), "Content-Encoding": "gzip"})
        h.wfile.write(body)

    server.route("GET", "/gz.txt", gz)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/gz.txt")
    res = fetch_dataset(m)
    assert res.files[0].sha256 == hashlib.sha256(BODY).hexdigest()
    assert (tree_dir("hset", "web") / "labels.txt").read_bytes() == BODY


def test_unknown_content_encoding_is_refused(server, outside):
    def br(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Length": "4", "Content-Encoding": "br"})
        h.wfile.write(b"\x00\x01\x02\x03")

    server.route("GET", "/br.txt", br)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/br.txt")
    with pytest.raises(FetchError, match="Content-Encoding 'br'"):
        fetch_dataset(m)
    assert get_source_lock("hset", "web") is None


def test_html_in_place_of_a_label_file_is_refused(server, outside):
    page = b"<!-- generated -->\n<html><body>Please sign in</body></html>"

    def html(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Type": "text/plain", "Content-Length": str(len(page))})
        h.wfile.write(page)

    server.route("GET", "/labels.txt", html)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/labels.txt")
    with pytest.raises(HtmlPageError):
        fetch_dataset(m)
    assert get_source_lock("hset", "web") is None


@pytest.mark.parametrize(
    "location, match",
    [
        ("/loop", "redirects in a loop"),
        ("file:///etc/passwd", "file://"),
        ("ftp://127.0.0.1/x", "ftp://"),
    ],
    ids=["loop", "file", "ftp"],
)
def test_bad_redirects_are_clean_errors(server, outside, capsys, location, match):
    def redirect(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 302, {"Location": location, "Content-Length": "0"})

    server.route("GET", "/loop", redirect)
    folder = outside.root / "manifests"
    _http_manifest(folder, f"{server.url}/loop")
    res = run_cli(capsys, "fetch", "hset", "--manifests", str(folder))
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert match in res.err and "hint:" in res.err
    assert len(server.requests_for("loop")) <= fhttp.MAX_REDIRECTS + 2
    outside.assert_unchanged()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/labels.txt",
        "file:///etc/passwd",
        "http://exa mple.org/labels.txt",
        "http://127.0.0.1:99999/labels.txt",
        "http:///labels.txt",
        "labels.txt",
    ],
)
def test_bad_urls_are_refused_when_the_manifest_loads(outside, url):
    with pytest.raises(ManifestError, match="url"):
        _http_manifest(outside.root / "manifests", url)


def test_bad_url_reaching_the_downloader_is_a_clean_error(outside):
    m = _http_manifest(outside.root / "manifests", "http://127.0.0.1:1/labels.txt")
    with pytest.raises(FetchError):
        fhttp.download("http://[::1/x", outside.root / "cache" / "p.part", name="x")
    assert m.sources[0].files[0].url


def test_manifest_file_names_empty_or_dot_are_refused(outside):
    for name in ("", ".", "a/../b"):
        with pytest.raises(ManifestError, match="name"):
            write_manifest(
                outside.root / "manifests",
                "nset",
                [
                    {
                        "id": "w",
                        "kind": "http",
                        "official": True,
                        "files": [{"name": name, "url": "http://127.0.0.1/x"}],
                    }
                ],
            )
    assert load_taxonomy()  # the loader itself still works
    assert load_manifest  # imported for the error path above


def test_html_saved_as_a_label_file_is_refused_by_fetch_from(outside, capsys):
    folder = outside.root / "manifests"
    write_manifest(
        folder,
        "hset",
        [
            {
                "id": "m",
                "kind": "manual",
                "official": True,
                "access": {"level": "agreement", "instructions": "ask"},
                "files": [{"name": "labels.txt", "unpack": False}],
            }
        ],
    )
    page = outside.root / "labels.txt"
    page.write_bytes(b"\n  <!DOCTYPE html><html><body>quota exceeded</body></html>")
    res = run_cli(capsys, "fetch", "hset", "--from", str(page), "--manifests", str(folder))
    assert res.code == 1 and "HTML page" in res.err and "Traceback" not in res.err, res.err
    assert get_source_lock("hset", "m") is None


GZ_ARCHIVE = make_tar({"a/labels.txt": b"1 0\n"}, gz=True)
ZIP_ARCHIVE = make_zip({"a/labels.txt": b"1 0\n"})


@pytest.mark.parametrize(
    "name, file, on_the_wire",
    [
        # a .tar.gz whose own compression the server labels as the transfer's (common)
        ("d.tar.gz", GZ_ARCHIVE, lambda b: b),
        # the same file compressed once more for the transfer, as HTTP means it
        ("d.tar.gz", GZ_ARCHIVE, gzip.compress),
        ("d.zip", ZIP_ARCHIVE, gzip.compress),
    ],
    ids=["tgz-labelled", "tgz-double", "zip-encoded"],
)
@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
def test_an_archive_sent_with_gzip_encoding_is_stored_as_the_file(
    server, outside, name, file, on_the_wire, pinned
):
    body = on_the_wire(file)

    def send(h: Handler, m: re.Match[str]) -> None:
        _send_head(h, 200, {"Content-Length": str(len(body)), "Content-Encoding": "gzip"})
        h.wfile.write(body)

    server.route("GET", f"/{name}", send)
    spec = {"sha256": hashlib.sha256(file).hexdigest(), "size": len(file)} if pinned else {}
    m = _http_manifest(
        outside.root / "manifests", f"{server.url}/{name}", name=name, unpack=True, **spec
    )
    res = fetch_dataset(m)
    assert res.files[0].sha256 == hashlib.sha256(file).hexdigest()
    assert (tree_dir("hset", "web") / "a" / "labels.txt").read_bytes() == b"1 0\n"


def test_html_content_type_in_place_of_a_label_file_is_not_pinned(server, outside):
    page = b"Your download quota is exceeded. Try again tomorrow."

    def quota(h: Handler, m: re.Match[str]) -> None:
        _send_head(
            h, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(page))}
        )
        h.wfile.write(page)

    server.route("GET", "/labels.csv", quota)
    m = _http_manifest(outside.root / "manifests", f"{server.url}/labels.csv", name="labels.csv")
    with pytest.raises(HtmlPageError):
        fetch_dataset(m)
    assert get_source_lock("hset", "web") is None
    assert not tree_dir("hset", "web").exists()
