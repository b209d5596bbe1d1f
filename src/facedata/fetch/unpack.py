"""Safe extraction of zip and tar archives (plain, gzip, bzip2, xz).

Archives come from strangers. Every member is checked before a single byte is
written: no absolute paths, no `..`, no links that point outside the target, no
devices, and limits on member count and total size (also enforced while writing, as
zip headers can lie). Extraction goes into a temp folder inside the target that is
merged in only when complete, so a refused or interrupted archive leaves nothing.
"""

from __future__ import annotations

import gzip
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import UnsafeArchiveError

MAX_BYTES = int(os.environ.get("FACEDATA_UNPACK_MAX_BYTES", 256 * 1024**3))
MAX_MEMBERS = int(os.environ.get("FACEDATA_UNPACK_MAX_MEMBERS", 5_000_000))
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_COPY_CHUNK = 1024 * 1024
# What corrupt bytes raise while reading; bz2 raises a bare OSError without an errno.
_CORRUPT = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    gzip.BadGzipFile,
)


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_kind(path: Path) -> str | None:
    """'zip' or 'tar' from the bytes themselves (names lie; Kaggle names everything .zip)."""
    with open(path, "rb") as fh:
        head = fh.read(262 + 8)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[257:262] == b"ustar" or head[:2] == b"\x1f\x8b" or head[:3] == b"BZh":
        return "tar"
    if head[:6] == b"\xfd7zXZ\x00":
        return "tar"
    return None


def should_unpack(name: str, path: Path, flag: bool | None) -> bool:
    """The manifest's `unpack:` wins; otherwise archives are recognised by extension.

    A file named like an archive whose bytes are none (an HTML error page, a truncated
    or wrong file) is refused rather than stored as it is, where readers would only
    find a mystery file and the lock file would pin the wrong bytes.
    """
    if flag is not None:
        return flag
    if not is_archive_name(name):
        return False
    if archive_kind(path) is None:
        raise UnsafeArchiveError(
            f"{name} is named like an archive but is neither a zip nor a tar archive",
            hint="it is probably truncated, an error page or the wrong file: get a complete "
            "copy (with --from, check the path), or set `unpack: false` for this file in the "
            "manifest if it really is not an archive",
        )
    return True


@dataclass
class _Member:
    name: str  # normalised relative posix path
    kind: str  # file | dir | symlink | hardlink
    size: int
    link: str = ""  # symlink target (as written) or hardlink source (normalised)
    ref: object = None  # ZipInfo or TarInfo


def _skip(name: str) -> bool:
    parts = name.split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def _safe_name(raw: str, archive: Path) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(
            f"{archive.name}: member {raw!r} has an absolute path",
            hint="the archive would write outside its folder; it was refused and nothing was "
            "extracted. Get a clean copy from the dataset's official source",
        )
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{name}/":
        raise UnsafeArchiveError(
            f"{archive.name}: member {raw!r} climbs out of the target with '..'",
            hint="the archive would write outside its folder (zip-slip); it was refused and "
            "nothing was extracted. Get a clean copy from the dataset's official source",
        )
    return "" if norm == "." else norm


def _check_link(member: _Member, links: set[str], archive: Path) -> None:
    """A link must resolve inside the archive, and no member may be written through one.

    Each link is resolved from its own folder; a path that passes through another
    link is refused outright, since textual checks cannot see where that link leads.
    """
    parts = member.name.split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in links:
            raise UnsafeArchiveError(
                f"{archive.name}: member {member.name!r} is reached through a link",
                hint="writing through links inside an archive is refused; nothing was extracted",
            )
    if member.kind != "symlink":
        return
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.link))
    if member.link.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(
            f"{archive.name}: link {member.name!r} -> {member.link!r} points outside the archive",
            hint="links leaving the target are refused; nothing was extracted",
        )


def _zip_members(zf: zipfile.ZipFile, archive: Path) -> list[_Member]:
    out = []
    for info in zf.infolist():
        name = _safe_name(info.filename, archive)
        if not name or _skip(name):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = zf.read(info).decode("utf-8", "replace")
            out.append(_Member(name, "symlink", 0, target, info))
        elif info.is_dir():
            out.append(_Member(name, "dir", 0, ref=info))
        else:
            out.append(_Member(name, "file", info.file_size, ref=info))
    return out


def _tar_members(tf: tarfile.TarFile, archive: Path) -> list[_Member]:
    out = []
    for info in tf:
        name = _safe_name(info.name, archive)
        if not name or _skip(name):
            continue
        if info.issym():
            out.append(_Member(name, "symlink", 0, info.linkname, info))
        elif info.islnk():
            link = _safe_name(info.linkname, archive)
            out.append(_Member(name, "hardlink", 0, link, info))
        elif info.isdir():
            out.append(_Member(name, "dir", 0, ref=info))
        elif info.isreg():
            out.append(_Member(name, "file", info.size, ref=info))
        else:
            raise UnsafeArchiveError(
                f"{archive.name}: member {info.name!r} is a device, fifo or other special file",
                hint="data archives hold files and folders only; nothing was extracted",
            )
    return out


def _check(members: list[_Member], archive: Path, max_bytes: int, max_members: int) -> None:
    if len(members) > max_members:
        raise UnsafeArchiveError(
            f"{archive.name} has {len(members):,} members, over the limit of {max_members:,}",
            hint="raise FACEDATA_UNPACK_MAX_MEMBERS if this archive is trusted",
        )
    total = sum(m.size for m in members)
    if total > max_bytes:
        raise UnsafeArchiveError(
            f"{archive.name} would unpack to {total:,} bytes, over the limit of {max_bytes:,}",
            hint="raise FACEDATA_UNPACK_MAX_BYTES if this archive is trusted and the disk has room",
        )
    files = {m.name for m in members if m.kind == "file"}
    links = {m.name for m in members if m.kind == "symlink"}
    for m in members:
        _check_link(m, links, archive)
        if m.kind == "hardlink" and m.link not in files:
            raise UnsafeArchiveError(
                f"{archive.name}: hard link {m.name!r} -> {m.link!r} targets no file in it",
                hint="links leaving the target are refused; nothing was extracted",
            )


class _Budget:
    """Counts bytes really written: zip headers may understate sizes (zip bombs)."""

    def __init__(self, archive: Path, limit: int) -> None:
        self.archive, self.limit, self.used = archive, limit, 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise UnsafeArchiveError(
                f"{self.archive.name} expands past {self.limit:,} bytes (its headers understate "
                "the sizes)",
                hint="the archive looks like a decompression bomb; nothing was kept",
            )


def _copy(src, dst: Path, budget: _Budget) -> None:  # noqa: ANN001 - file-like
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            budget.take(len(chunk))
            out.write(chunk)


def unpack(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int | None = None,
    max_members: int | None = None,
    name: str | None = None,
) -> list[str]:
    """Extract `archive` into folder `dest` (created); return the member paths written.

    `name` is what messages call the archive (its file name in the dataset), as the
    path itself may be a blob named by its hash.

    All members are checked before anything is written, then extracted into a temp
    folder inside `dest` and moved into place, so a refusal or a crash leaves `dest`
    as it was (the temp folder is removed, or cleaned by the next run).
    """
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    max_members = MAX_MEMBERS if max_members is None else max_members
    shown = name or archive.name
    kind = archive_kind(archive)
    if kind is None:
        raise UnsafeArchiveError(
            f"{shown} is neither a zip nor a tar archive",
            hint="set `unpack: false` for this file in the manifest if it is not an archive",
        )
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        if kind == "zip":
            members = _unpack_zip(archive, tmp, max_bytes, max_members)
        else:
            members = _unpack_tar(archive, tmp, max_bytes, max_members)
        _merge(tmp, dest)
    except UnsafeArchiveError as exc:
        if shown != archive.name:
            exc.message = exc.message.replace(archive.name, shown)
        raise
    except (*_CORRUPT, OSError) as exc:
        if not isinstance(exc, _CORRUPT) and exc.errno is not None:
            raise  # a disk or permission problem, not the archive's
        lines = str(exc).splitlines()
        detail = lines[0] if len(lines) == 1 else "not a readable archive"
        raise UnsafeArchiveError(
            f"{shown} is damaged: {detail}",
            hint="the file is truncated or corrupt: get a fresh, complete copy (with --from, "
            "check you passed the right file), or try another source with --source",
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return members


def _write_members(
    members: list[_Member], tmp: Path, budget: _Budget, open_file: Callable[[Any], IO[bytes]]
) -> list[str]:
    """Materialise checked members under `tmp`; zip and tar differ only in `open_file`."""
    for m in members:
        target = tmp / m.name
        if m.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
        elif m.kind == "symlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(m.link, target)
        elif m.kind == "hardlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp / m.link, target)
        else:
            with open_file(m.ref) as src:
                _copy(src, target, budget)
    return [m.name for m in members if m.kind != "dir"]


def _unpack_zip(archive: Path, tmp: Path, max_bytes: int, max_members: int) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        members = _zip_members(zf, archive)
        _check(members, archive, max_bytes, max_members)
        return _write_members(members, tmp, _Budget(archive, max_bytes), zf.open)


def _tar_open(tf: tarfile.TarFile) -> Callable[[Any], IO[bytes]]:
    def open_member(ref: Any) -> IO[bytes]:
        src = tf.extractfile(ref)
        assert src is not None  # only regular files reach here
        return src

    return open_member


def _unpack_tar(archive: Path, tmp: Path, max_bytes: int, max_members: int) -> list[str]:
    with tarfile.open(archive) as tf:
        members = _tar_members(tf, archive)
        _check(members, archive, max_bytes, max_members)
        return _write_members(members, tmp, _Budget(archive, max_bytes), _tar_open(tf))


def _merge(src: Path, dest: Path) -> None:
    """Move the extracted entries into `dest`; later archives may add to the same folders."""
    for entry in src.iterdir():
        target = dest / entry.name
        if entry.is_dir() and not entry.is_symlink() and target.is_dir():
            _merge(entry, target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)
