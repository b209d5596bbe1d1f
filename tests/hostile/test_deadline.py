"""An overall download deadline holds within a moment, whatever the server does.

Back-off sleeps between tries and each request's timeouts are cut to the time left,
so a server that never answers, or stalls mid-body, cannot stretch an 8 s deadline
to 17 s (as the back-off 0.5 + 1 + 2 + 4 + 8 s once did).
"""

from __future__ import annotations

import re
import time

import pytest

from facedata.errors import FetchError
from facedata.fetch import fetch_dataset
from facedata.fetch import http as fhttp
from facedata.fetch.store import get_source_lock
from tests.helpers.servers import Handler, LoopbackServer
from tests.hostile.test_servers import _http_manifest, _send_head

DEADLINE = 1.5


@pytest.mark.parametrize("stall", ["no-answer", "mid-body"])
def test_a_stuck_server_is_cut_at_the_deadline(outside, monkeypatch, stall):
    monkeypatch.setattr(fhttp, "BACKOFF", 0.5)  # the real back-off, not the tests' zero
    monkeypatch.setenv("FACEDATA_FETCH_DEADLINE", str(DEADLINE))
    monkeypatch.setenv("FACEDATA_FETCH_RATE_WINDOW", "600")  # only the deadline may end it
    srv = LoopbackServer().start()

    def stuck(h: Handler, m: re.Match[str]) -> None:
        if stall == "mid-body":
            _send_head(h, 200, {"Content-Length": "1000"})
            h.wfile.write(b"x" * 10)
            h.wfile.flush()
        time.sleep(DEADLINE + 4)

    srv.route("GET", "/stuck.txt", stuck)
    try:
        m = _http_manifest(outside.root / "manifests", f"{srv.url}/stuck.txt")
        start = time.monotonic()
        with pytest.raises(FetchError, match="took over|tries"):
            fetch_dataset(m)
        took = time.monotonic() - start
    finally:
        srv.stop()
    assert took < DEADLINE + 1.0, took
    assert get_source_lock("hset", "web") is None
