"""Archives that try to write outside the cache, lie about sizes, or crash the unpacker.

Each attack goes through the real CLI (`facedata fetch ID --from FILE`) or the unpack
API, and ends in UnsafeArchiveError (exit 1 with a hint) with nothing outside the
cache changed and no tree published.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from facedata.errors import UnsafeArchiveError
from facedata.fetch import unpack as unpack_mod
from facedata.fetch.store import tree_dir
from facedata.fetch.tree import Placement, build_tree
from facedata.fetch.unpack import Budget, unpack
from tests.fetch.conftest import write_manifest
from tests.helpers.cli import run_cli
from tests.hostile.archives import CHAIN, huge_member_tar, tar, zip_

# From <cache>/datasets/evil/.manual.*.partial/.unpack-*/ six links up is the watched
# folder itself, so `x` below resolves exactly to the victim file.
TO_VICTIM = [*CHAIN[:6], ("sym", "x", "u6/victim.txt"), ("file", "x", b"pwned")]

WRITE_THROUGH = [
    # a link to the victim, then a regular file of the same name written through it
    pytest.param(tar(TO_VICTIM), id="tar"),
    pytest.param(zip_(TO_VICTIM), id="zip"),
    # the chain alone would publish links to folders outside the cache
    pytest.param(tar(CHAIN), id="tar-chain-only"),
    pytest.param(zip_(CHAIN), id="zip-chain-only"),
    # a plain link then a file of the same name
    pytest.param(tar([("sym", "a", "b"), ("file", "a", b"pwned")]), id="link-then-file"),
]


def _manifest(folder: Path, files: list[str]) -> None:
    write_manifest(
        folder,
        "evil",
        [
            {
                "id": "manual",
                "kind": "manual",
                "official": True,
                "access": {"level": "agreement", "instructions": "ask"},
                "files": [{"name": n} for n in files],
            }
        ],
    )


@pytest.mark.parametrize("data", WRITE_THROUGH)
def test_write_through_a_link_is_refused_by_the_cli(data, outside, capsys):
    folder = outside.root / "manifests"
    _manifest(folder, ["evil.tar"])
    archive = outside.root / "given" / "evil.tar"
    archive.parent.mkdir()
    archive.write_bytes(data)
    outside.before = outside.snapshot()
    res = run_cli(capsys, "fetch", "evil", "--from", str(archive), "--manifests", str(folder))
    assert res.code == 1, res.err
    assert "Traceback" not in res.err and "hint:" in res.err
    assert "link" in res.err or "twice" in res.err
    outside.assert_unchanged()
    assert not tree_dir("evil", "manual").exists()


def test_link_planted_by_a_first_archive_is_not_followed_by_a_second(outside):
    """Even a link already in the target (however it got there) is replaced, not entered."""
    target = outside.root / "cache" / "tree"
    target.mkdir(parents=True)
    (target / "d").symlink_to(outside.root)
    archive = outside.root / "cache" / "second.tar"
    archive.write_bytes(tar([("file", "d/victim.txt", b"pwned"), ("file", "d/new.txt", b"x")]))
    unpack(archive, target)
    outside.assert_unchanged()
    assert (target / "d").is_dir() and not (target / "d").is_symlink()
    assert (target / "d" / "victim.txt").read_bytes() == b"pwned"


def test_two_archives_of_one_source_cannot_chain_links(outside):
    """The first archive's links are judged on the finished tree: a chain is refused."""
    a = outside.root / "cache" / "a.tar"
    b = outside.root / "cache" / "b.tar"
    a.parent.mkdir(parents=True)
    a.write_bytes(tar(CHAIN))
    b.write_bytes(tar([("file", "u7/victim.txt", b"pwned")]))
    with pytest.raises(UnsafeArchiveError, match="outside"):
        build_tree("evil", "s", [Placement("a.tar", a, True), Placement("b.tar", b, True)])
    outside.assert_unchanged()
    assert not tree_dir("evil", "s").exists()


def test_nested_archive_cannot_write_through_a_link(outside):
    inner = tar([*CHAIN, ("sym", "x", "u7/victim.txt"), ("file", "x", b"pwned")])
    outer = outside.root / "cache" / "outer.zip"
    outer.parent.mkdir(parents=True)
    outer.write_bytes(zip_([("file", "data/inner.tar", inner)]))
    with pytest.raises(UnsafeArchiveError):
        build_tree("evil", "s", [Placement("outer.zip", outer, True)], nested=True)
    outside.assert_unchanged()


def test_nested_archives_share_one_budget(outside, monkeypatch):
    """Three inner archives of 4 KiB each under a 10 KiB limit: the third is refused."""
    monkeypatch.setattr(unpack_mod, "MAX_BYTES", 10_000)
    inners = [
        ("file", f"part{i}.tar.gz", tar([("file", f"p{i}.bin", bytes(4096))], "w:gz"))
        for i in range(3)
    ]
    outer = outside.root / "cache" / "outer.tar"
    outer.parent.mkdir(parents=True)
    outer.write_bytes(tar(inners))
    with pytest.raises(UnsafeArchiveError, match="over the limit|expands past"):
        build_tree("evil", "s", [Placement("outer.tar", outer, True)], nested=True)
    assert not tree_dir("evil", "s").exists()
    outside.assert_unchanged()


def test_archive_nested_too_deep_is_refused(outside):
    archive = outside.root / "cache" / "x.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar([("file", "a.txt", b"1")]))
    with pytest.raises(UnsafeArchiveError, match="nested 3 archives deep"):
        unpack(archive, outside.root / "cache" / "t", budget=Budget(), depth=3)


def test_expansion_ratio_is_limited_and_the_limit_can_be_raised(outside, monkeypatch):
    monkeypatch.setenv("FACEDATA_UNPACK_RATIO_FLOOR", str(1 << 20))
    bomb = outside.root / "cache" / "bomb.zip"
    bomb.parent.mkdir(parents=True)
    bomb.write_bytes(zip_([("file", "zeros.bin", bytes(8 << 20))]))  # ~1000:1
    with pytest.raises(UnsafeArchiveError, match=r"(?s)expand [\d,]+:1.*FACEDATA_UNPACK_MAX_RATIO"):
        unpack(bomb, outside.root / "cache" / "t")
    assert not (outside.root / "cache" / "t" / "zeros.bin").exists()
    monkeypatch.setenv("FACEDATA_UNPACK_MAX_RATIO", "5000")
    assert unpack(bomb, outside.root / "cache" / "t") == ["zeros.bin"]


def test_zip_understating_sizes_hits_the_ratio_limit_while_writing(outside, monkeypatch):
    monkeypatch.setenv("FACEDATA_UNPACK_RATIO_FLOOR", str(1 << 20))
    data = bytearray(zip_([("file", "zeros.bin", bytes(8 << 20))]))
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")  # the central directory lies
    bomb = outside.root / "cache" / "bomb.zip"
    bomb.parent.mkdir(parents=True)
    bomb.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchiveError):
        unpack(bomb, outside.root / "cache" / "t")
    assert not (outside.root / "cache" / "t" / "zeros.bin").exists()


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_petabyte_member_is_refused_from_its_header(outside, gz):
    archive = outside.root / "cache" / "huge.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(huge_member_tar(gz=gz))
    with pytest.raises(UnsafeArchiveError, match="over the limit"):
        unpack(archive, outside.root / "cache" / "t")


@pytest.mark.parametrize(
    "entries, why",
    [
        ([("file", "a", b"1"), ("dir", "a", b"")], "twice"),
        ([("dir", "a", b""), ("file", "a", b"1")], "twice"),
        ([("file", "a", b"1"), ("sym", "a", "b")], "twice"),
        ([("hard", "h", "later"), ("file", "later", b"1")], "before it"),
        ([("hard", "h", "nowhere")], "before it"),
        ([("file", "a", b"1"), ("file", "a/x", b"2")], "both a file and the folder"),
        ([("file", "a/x", b"2"), ("file", "a", b"1")], "both a file and the folder"),
        ([("file", "a/b/x", b"2"), ("file", "a/b", b"1")], "both a file and the folder"),
        ([("file", "t", b"1"), ("hard", "a", "t"), ("file", "a/x", b"2")], "both a file"),
    ],
    ids=[
        "file-dir",
        "dir-file",
        "file-link",
        "hardlink-later",
        "hardlink-none",
        "file-then-implied-folder",
        "implied-folder-then-file",
        "deep-implied-folder-then-file",
        "hardlink-then-implied-folder",
    ],
)
def test_duplicate_and_forward_members_are_clean_errors(outside, entries, why, capsys):
    folder = outside.root / "manifests"
    _manifest(folder, ["d.tar"])
    archive = outside.root / "given" / "d.tar"
    archive.parent.mkdir()
    archive.write_bytes(tar(entries))
    outside.before = outside.snapshot()
    res = run_cli(capsys, "fetch", "evil", "--from", str(archive), "--manifests", str(folder))
    assert res.code == 1 and why in res.err and "Traceback" not in res.err, res.err
    outside.assert_unchanged()


def test_a_file_stored_twice_keeps_its_last_copy(outside):
    archive = outside.root / "cache" / "twice.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar([("file", "a", b"old"), ("file", "a", b"new")]))
    assert unpack(archive, outside.root / "cache" / "t") == ["a"]
    assert (outside.root / "cache" / "t" / "a").read_bytes() == b"new"


def test_directory_entries_may_repeat(outside):
    archive = outside.root / "cache" / "d.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar([("dir", "a", b""), ("dir", "a", b""), ("file", "a/x", b"1")]))
    assert unpack(archive, outside.root / "cache" / "t") == ["a/x"]


def test_hard_link_to_an_earlier_member_is_a_copy(outside):
    archive = outside.root / "cache" / "h.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar([("file", "a.txt", b"data"), ("hard", "b.txt", "a.txt")]))
    unpack(archive, outside.root / "cache" / "t")
    assert (outside.root / "cache" / "t" / "b.txt").read_bytes() == b"data"


def test_non_utf8_member_names_are_kept_readable(outside, capsys):
    """A Latin-1 name in a tar becomes text every later step can encode (lock, digests)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", encoding="latin-1") as tf:
        info = tarfile.TarInfo("caf\xe9.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"1"))
    folder = outside.root / "manifests"
    _manifest(folder, ["n.tar"])
    archive = outside.root / "given" / "n.tar"
    archive.parent.mkdir()
    archive.write_bytes(buf.getvalue())
    res = run_cli(capsys, "fetch", "evil", "--from", str(archive), "--manifests", str(folder))
    assert res.code == 0, res.err
    assert (tree_dir("evil", "manual") / "café.txt").read_bytes() == b"1"


def test_overlong_member_name_is_a_clean_error(outside):
    archive = outside.root / "cache" / "long.tar"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar([("file", "a" * 300 + ".jpg", b"1")]))
    with pytest.raises(UnsafeArchiveError, match="over 255 bytes"):
        unpack(archive, outside.root / "cache" / "t")


def test_zip_symlink_with_a_huge_target_is_refused(outside):
    archive = outside.root / "cache" / "l.zip"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(zip_([("sym", "l", "a" * 10_000)]))
    with pytest.raises(UnsafeArchiveError, match="target"):
        unpack(archive, outside.root / "cache" / "t")


def test_gzip_of_garbage_named_tar_is_damaged_not_a_traceback(outside):
    archive = outside.root / "cache" / "g.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(gzip.compress(b"not a tar at all" * 100))
    with pytest.raises(UnsafeArchiveError, match="damaged"):
        unpack(archive, outside.root / "cache" / "t")


def _one_member_tar(mode: str, payload: bytes, trailer: bytes = b"") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        info = tarfile.TarInfo("a.bin")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    plain = raw.getvalue() + trailer
    if mode == "gz":
        return gzip.compress(plain)
    import bz2
    import lzma

    return bz2.compress(plain) if mode == "bz2" else lzma.compress(plain)


@pytest.mark.parametrize("mode", ["gz", "bz2", "xz"])
@pytest.mark.parametrize("back", [1, 5, 8])
def test_a_compressed_tar_damaged_in_its_last_bytes_is_refused(tmp_path: Path, mode, back):
    """gzip checks its CRC only at the stream's end, after tarfile's end marker: the
    stream is read to its end, so a damaged trailer is not pinned as good."""
    data = bytearray(_one_member_tar(mode, bytes(range(256)) * 800))
    data[-back] ^= 0xFF
    bad = tmp_path / f"x.tar.{mode}"
    bad.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchiveError, match="damaged"):
        unpack(bad, tmp_path / "out")
    assert not list((tmp_path / "out").glob("a.bin"))


def test_a_tar_stream_that_goes_on_far_past_its_end_is_refused(tmp_path: Path):
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(_one_member_tar("gz", b"face", trailer=b"\0" * (17 * 1024**2)))
    with pytest.raises(UnsafeArchiveError, match="after the end of its tar"):
        unpack(archive, tmp_path / "out")
