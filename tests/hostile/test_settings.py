"""Settings from the environment are validated: a typo must never switch a bound off.

`float("nan")` parses and compares false with everything, so NaN once disabled the
download deadline and the minimum rate silently; infinities, negatives and words
did much the same. Each is now refused with the variable named.
"""

from __future__ import annotations

import re

import pytest

from facedata import settings
from facedata.fetch.unpack import Budget
from tests.helpers.cli import run_cli
from tests.helpers.servers import Handler, LoopbackServer
from tests.hostile.test_servers import BODY, _http_manifest, _send_head

BAD = ["nan", "NaN", "inf", "-inf", "-5", "0", "ten", "1e400", "10MB"]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    "name", ["FACEDATA_FETCH_DEADLINE", "FACEDATA_FETCH_MIN_RATE", "FACEDATA_FETCH_RATE_WINDOW"]
)
def test_bad_fetch_settings_stop_the_fetch_naming_the_variable(
    outside, capsys, monkeypatch, name: str, value: str
) -> None:
    srv = LoopbackServer().start()
    try:

        def ok(h: Handler, m: re.Match[str]) -> None:
            _send_head(h, 200, {"Content-Length": str(len(BODY))})
            h.wfile.write(BODY)

        srv.route("GET", "/labels.txt", ok)
        folder = outside.root / "manifests"
        _http_manifest(folder, f"{srv.url}/labels.txt")
        monkeypatch.setenv(name, value)
        res = run_cli(capsys, "fetch", "hset", "--manifests", str(folder))
    finally:
        srv.stop()
    assert res.code == 1, res.out + res.err
    assert name in res.err and "Traceback" not in res.err
    outside.assert_unchanged()


@pytest.mark.parametrize("value", [*BAD, "2.5"])
@pytest.mark.parametrize(
    "name",
    ["FACEDATA_UNPACK_MAX_BYTES", "FACEDATA_UNPACK_MAX_MEMBERS", "FACEDATA_UNPACK_MAX_RATIO"],
)
def test_bad_unpack_settings_are_refused(monkeypatch, name: str, value: str) -> None:
    if value == "2.5" and name == "FACEDATA_UNPACK_MAX_RATIO":
        return  # a ratio may be fractional
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.SettingError, match=name):
        Budget()


def test_good_settings_are_read_when_an_operation_starts(monkeypatch) -> None:
    monkeypatch.setenv("FACEDATA_UNPACK_MAX_MEMBERS", " 12 ")
    assert Budget().max_members == 12
    monkeypatch.setenv("FACEDATA_UNPACK_MAX_MEMBERS", "")
    assert Budget().max_members == 5_000_000
    monkeypatch.setenv("FACEDATA_PROGRESS_SECONDS", "0")
    assert settings.number("FACEDATA_PROGRESS_SECONDS") == 0
    monkeypatch.setenv("FACEDATA_PROGRESS_SECONDS", "nan")
    with pytest.raises(settings.SettingError, match="FACEDATA_PROGRESS_SECONDS"):
        settings.number("FACEDATA_PROGRESS_SECONDS")
