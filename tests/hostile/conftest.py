"""Hostile-input tests: each gets its own cache inside a watched folder.

`watched` is a folder beside the cache holding a victim file; every test ends by
checking that nothing outside the cache changed (`outside.assert_unchanged()`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest


class Outside:
    """A snapshot of everything outside the cache that an attack could reach."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.victim = root / "victim.txt"
        self.victim.write_text("precious")
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, str]:
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d not in ("cache", "manifests")]
            for name in filenames:
                p = Path(dirpath, name)
                if p.is_symlink():
                    out[str(p)] = "link:" + os.readlink(p)
                elif not stat.S_ISREG(p.lstat().st_mode):
                    out[str(p)] = "special"
                else:
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            for name in dirnames:
                out[str(Path(dirpath, name))] = "dir"
        return out

    def assert_unchanged(self) -> None:
        assert self.snapshot() == self.before
        assert self.victim.read_text() == "precious"


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outside:
    home = tmp_path / "cache"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "userhome"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in ("FACEDATA_MIRROR", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    import facedata.fetch.http as fhttp

    monkeypatch.setattr(fhttp, "BACKOFF", 0.0)
    (tmp_path / "manifests").mkdir()
    return Outside(tmp_path)
