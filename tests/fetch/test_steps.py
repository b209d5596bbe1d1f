"""A download is a loop over requests; each request says what to do next.

The server tests check what a whole download does; these check the single step:
one request against a loopback server, and the step it returns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from facedata.fetch import http as fhttp
from facedata.fetch.http import Done, Fail, Retry, Wait
from tests.helpers.servers import LoopbackServer, status

BODY = b"0123456789" * 100


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer().start()
    srv.add("/f.bin", BODY)
    try:
        yield srv
    finally:
        srv.stop()


def _transfer(server: LoopbackServer, tmp_path, **bounds: int | None) -> fhttp._Transfer:
    url = f"{server.url}/f.bin"
    limits = fhttp._Bounds(bounds.get("strict"), bounds.get("soft"))
    return fhttp._Transfer(
        url, tmp_path / "f.part", "f.bin", url, requests.Session(), None, False, limits
    )


def test_a_whole_body_is_done_and_hashed(server, tmp_path):
    with _transfer(server, tmp_path) as job:
        assert isinstance(job.attempt(), Done)
        got = job.finish()
    assert got.size == len(BODY) and (tmp_path / "f.part").read_bytes() == BODY


def test_a_busy_server_says_wait_for_its_retry_after(server, tmp_path):
    server.fault("/f.bin", status(503, retry_after=0))
    with _transfer(server, tmp_path) as job:
        step = job.attempt()
        assert step == Wait(0.0)
        job.follow(step)
        assert job.retries == 1
        assert isinstance(job.attempt(), Done)


def test_a_missing_file_fails_with_the_status_named(server, tmp_path):
    with _transfer(server, tmp_path) as job:
        job.url = f"{server.url}/gone.bin"
        step = job.attempt()
    assert isinstance(step, Fail) and "HTTP 404" in step.error.message


def test_a_partial_longer_than_the_file_restarts_from_byte_zero(server, tmp_path):
    with _transfer(server, tmp_path) as job:
        (tmp_path / "f.part").write_bytes(BODY + b"extra")
        step = job.attempt()
        assert step == Retry(restart=True)
        job.follow(step)
        assert not (tmp_path / "f.part").exists()
        assert isinstance(job.attempt(), Done)
    assert (tmp_path / "f.part").read_bytes() == BODY


def test_a_declared_size_over_the_bound_fails_before_any_byte(server, tmp_path):
    with _transfer(server, tmp_path, strict=10) as job:
        step = job.attempt()
    assert isinstance(step, Fail) and isinstance(step.error, fhttp.SizeExceeded)
    assert not (tmp_path / "f.part").exists() or (tmp_path / "f.part").stat().st_size == 0


def test_an_unreachable_host_says_retry_with_the_cause(tmp_path):
    part = tmp_path / "f.part"
    url = "http://127.0.0.1:9/f.bin"  # discard port: nothing listens
    with fhttp._Transfer(
        url, part, "f.bin", url, requests.Session(), None, False, fhttp._Bounds(None, None)
    ) as job:
        step = job.attempt()
    assert isinstance(step, Retry) and step.cause is not None and not step.restart
