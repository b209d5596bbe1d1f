"""Hostile archives: refused before anything is written, nothing lands outside the target."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from facedata.errors import UnsafeArchiveError
from facedata.fetch import fetch_dataset, fetched
from facedata.fetch.store import tree_dir
from facedata.fetch.unpack import unpack
from tests.fetch.conftest import write_manifest
from tests.helpers.servers import make_tar, make_zip, serve_files


def zip_with(names: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in names.items():
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # S_IFLNK
            zf.writestr(info, target)
    return buf.getvalue()


def tar_with(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """A target folder inside a watched parent: nothing may appear beside the target."""
    parent = tmp_path / "parent"
    target = parent / "target"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("already here")
    return parent, target


def assert_untouched(parent: Path, target: Path) -> None:
    assert sorted(p.name for p in parent.iterdir()) == ["archive", "target"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def run(parent: Path, target: Path, data: bytes, **limits: int) -> list[str]:
    archive = parent / "archive"
    archive.write_bytes(data)
    return unpack(archive, target, **limits)


@pytest.mark.parametrize(
    "data, why",
    [
        (zip_with({"ok.txt": b"1", "../evil.txt": b"pwned"}), "'..'"),
        (zip_with({"a/../../evil.txt": b"pwned"}), "'..'"),
        (tar_with({"ok.txt": b"1", "../../evil.txt": b"pwned"}), "'..'"),
        (zip_with({"/tmp/evil.txt": b"pwned"}), "absolute"),
        (tar_with({"/etc/evil.txt": b"pwned"}), "absolute"),
        (tar_with({}, {"up": "../.."}), "outside"),
        (tar_with({}, {"etc": "/etc"}), "outside"),
        (zip_with({}, {"up": "../../x"}), "outside"),
        (tar_with({"d/l/evil.txt": b"pwned"}, {"d/l": ".."}), "through a link"),
    ],
    ids=[
        "zip-slip",
        "zip-slip-nested",
        "tar-slip",
        "zip-absolute",
        "tar-absolute",
        "tar-symlink-up",
        "tar-symlink-abs",
        "zip-symlink-up",
        "write-through-link",
    ],
)
def test_escapes_are_refused_and_nothing_is_written(sandbox, data, why):
    parent, target = sandbox
    with pytest.raises(UnsafeArchiveError, match=why) as err:
        run(parent, target, data)
    assert "nothing" in err.value.hint or "refused" in err.value.hint
    assert_untouched(parent, target)


def test_size_limit(sandbox):
    parent, target = sandbox
    with pytest.raises(UnsafeArchiveError, match="over the limit"):
        run(parent, target, make_zip({"a": b"x" * 1000, "b": b"y" * 1000}), max_bytes=1500)
    assert_untouched(parent, target)


def test_member_count_limit(sandbox):
    parent, target = sandbox
    many = {f"f{i}.txt": b"x" for i in range(20)}
    with pytest.raises(UnsafeArchiveError, match="members, over the limit of 10"):
        run(parent, target, make_tar(many), max_members=10)
    assert_untouched(parent, target)


def test_zip_lying_about_sizes_is_stopped_while_writing(sandbox):
    """A zip bomb understates sizes in its headers: it is refused, and nothing is kept."""
    parent, target = sandbox
    data = bytearray(zip_with({"bomb.bin": b"\0" * 50_000}))
    # patch the central directory's uncompressed size (offset 24 in the entry) to 10 bytes
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    with pytest.raises(UnsafeArchiveError, match="damaged|expands past"):
        run(parent, target, bytes(data), max_bytes=20_000)
    assert_untouched(parent, target)


def test_good_archive_skips_mac_junk_and_keeps_inner_links(sandbox):
    parent, target = sandbox
    data = tar_with(
        {"set/a.jpg": b"A", "__MACOSX/set/._a.jpg": b"junk", "set/._b.jpg": b"junk"},
        {"set/alias.jpg": "a.jpg"},
    )
    names = run(parent, target, data)
    assert sorted(names) == ["set/a.jpg", "set/alias.jpg"]
    assert (target / "set/alias.jpg").read_bytes() == b"A"
    assert not (target / "__MACOSX").exists() and not (target / "set/._b.jpg").exists()
    assert (target / "keep.txt").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".unpack")]


def test_hostile_archive_from_a_source_publishes_no_tree(manifest_dir, fetch_env):
    evil = zip_with({"ok.txt": b"1", "../../../escaped.txt": b"pwned"})
    with serve_files({"set.zip": evil}) as url:
        files = [{"name": "set.zip", "url": f"{url}/set.zip"}]
        m = write_manifest(
            manifest_dir, "evil", [{"id": "x", "kind": "http", "official": True, "files": files}]
        )
        with pytest.raises(UnsafeArchiveError):
            fetch_dataset(m)
    assert fetched(m) is None and not tree_dir("evil", "x").exists()
    assert not list(fetch_env.parent.rglob("escaped.txt"))
    leftovers = list((fetch_env / "datasets" / "evil").iterdir())
    assert leftovers == []  # the temp tree was removed too
