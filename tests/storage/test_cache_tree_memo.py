"""The remembered hashes of the fetch cache's tree listings (gate/treememo.py) are
hostile input: anything but an exact, well-formed memo of the same version is read
again from the store, never trusted to stand for the listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facedata.gate import treememo

URL = "s3://bucket/cache"
KEY = "trees/celeba/local.json"
HASHES = {"a" * 64, "b" * 64}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))


def _memo() -> Path:
    (path,) = treememo.folder(URL).glob("*.json")
    return path


def test_a_listing_is_recalled_at_the_same_version_only() -> None:
    treememo.remember(URL, KEY, '"etag-1"', HASHES)
    assert treememo.recall(URL, KEY, '"etag-1"') == HASHES
    assert treememo.recall(URL, KEY, '"etag-2"') is None  # changed on the store
    assert treememo.recall(URL, "trees/other/local.json", '"etag-1"') is None
    assert treememo.recall("s3://bucket/elsewhere", KEY, '"etag-1"') is None
    assert treememo.recall(URL, KEY, None) is None


def test_a_store_that_reports_no_tag_is_never_remembered() -> None:
    treememo.remember(URL, KEY, None, HASHES)
    assert not treememo.folder(URL).exists()


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"format": "other/1", "url": URL, "key": KEY, "tag": '"e"', "hashes": []}),
        json.dumps(
            {
                "format": treememo.FORMAT,
                "url": URL,
                "key": KEY,
                "tag": '"e"',
                "hashes": ["../../etc"],
            }
        ),  # fmt: skip
        json.dumps(
            {"format": treememo.FORMAT, "url": URL, "key": KEY, "tag": '"e"', "hashes": "a" * 64}
        ),  # fmt: skip
    ],
)
def test_a_damaged_memo_is_read_again(damage: bytes | str) -> None:
    treememo.remember(URL, KEY, '"e"', HASHES)
    path = _memo()
    path.write_bytes(damage if isinstance(damage, bytes) else damage.encode())
    assert treememo.recall(URL, KEY, '"e"') is None


def test_an_oversized_memo_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    treememo.remember(URL, KEY, '"e"', HASHES)
    monkeypatch.setattr(treememo, "MAX_BYTES", 16)
    assert treememo.recall(URL, KEY, '"e"') is None


def test_memos_of_listings_gone_from_the_cache_are_removed() -> None:
    treememo.remember(URL, KEY, '"e"', HASHES)
    treememo.remember(URL, "trees/gone/local.json", '"e"', HASHES)
    treememo.forget_others(URL, [KEY])
    assert treememo.recall(URL, KEY, '"e"') == HASHES
    assert len(list(treememo.folder(URL).glob("*.json"))) == 1
