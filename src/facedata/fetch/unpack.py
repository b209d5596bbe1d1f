"""Safe extraction of zip and tar archives (plain, gzip, bzip2, xz).

Archives come from strangers. Every member is checked before a single byte is
written: no absolute paths, no `..`, no links that point outside the target, no
devices, no duplicate names, and limits on member count and total size (also enforced
while writing, as zip headers can lie). One budget (bytes, members, nesting depth,
expansion ratio) covers every archive of a tree, nested ones included, so an archive
inside an archive cannot start a fresh allowance. Extraction goes into a temp folder
inside the target that is merged in only when complete, so a refused or interrupted
archive leaves nothing; every file is created new and never through a link
(`confine.create_new`), and links that do not resolve inside the extraction (a chain
such as `u1 -> .`, `u2 -> u1/..`) refuse the whole archive.
"""

from __future__ import annotations

import bz2
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

import facedata.files.confine as confine
from facedata import settings
from facedata.errors import UnsafeArchiveError, UnsafePathError

# Defaults; the environment is read when an unpack starts (see Budget), not at import.
MAX_BYTES = int(settings.NUMBERS["FACEDATA_UNPACK_MAX_BYTES"].default)
MAX_MEMBERS = int(settings.NUMBERS["FACEDATA_UNPACK_MAX_MEMBERS"].default)
# Image data barely compresses (JPEG, PNG: about 1:1; PPM, pixel CSVs: 2-5:1). A far
# larger ratio is a decompression bomb. Below RATIO_FLOOR the ratio is not judged:
# a small label file may well compress 50:1.
MAX_RATIO = settings.NUMBERS["FACEDATA_UNPACK_MAX_RATIO"].default
RATIO_FLOOR = int(settings.NUMBERS["FACEDATA_UNPACK_RATIO_FLOOR"].default)
MAX_DEPTH = 2  # an archive, and archives inside it
_MAX_LINK = 4096  # bytes of a zip symlink's target worth reading
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
    if not is_archive_name(name) and not name.lower().endswith((".html", ".htm", ".xml")):
        _refuse_html(name, path)
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


def _refuse_html(name: str, path: Path) -> None:
    """A label list or CSV that is really a web page (a login or quota page saved under
    the file's name) is refused, as an archive that is no archive is."""
    from facedata.fetch.http import sniffs_html

    with open(path, "rb") as fh:
        head = fh.read(4096)
    if sniffs_html(head):
        raise UnsafeArchiveError(
            f"{name} is an HTML page, not the data file it is named as",
            hint="a login, quota or error page was saved in its place: download the real file "
            "(in a browser if need be) and register it with `facedata fetch ID --from PATH`",
        )


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


def _readable(raw: str) -> str:
    """A member name as text: bytes that are not UTF-8 (tar keeps them as surrogates)
    are read as Latin-1, so every later step (lock file, digests) can encode it."""
    try:
        raw.encode("utf-8")
        return raw
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogateescape").decode("latin-1")


def _safe_name(raw: str, archive: Path) -> str:
    raw = _readable(raw)
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
    if norm == ".":
        return ""
    problem = confine.name_problem(norm)
    if problem:
        raise UnsafeArchiveError(
            f"{archive.name}: member {raw[:80]!r}: {problem}",
            hint="the archive holds a name this system cannot store; nothing was extracted. "
            "Get a clean copy from the dataset's official source",
        )
    return norm


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
            if info.file_size > _MAX_LINK:
                raise UnsafeArchiveError(
                    f"{archive.name}: link {name!r} has a {info.file_size:,}-byte target",
                    hint="a link target is a short path; nothing was extracted",
                )
            with zf.open(info) as fh:
                target = fh.read(_MAX_LINK + 1).decode("utf-8", "replace")
            out.append(_Member(name, "symlink", 0, target, info))
        elif info.is_dir():
            out.append(_Member(name, "dir", 0, ref=info))
        else:
            out.append(_Member(name, "file", info.file_size, ref=info))
    return out


def _tar_members(tf: tarfile.TarFile, archive: Path, budget: Budget) -> list[_Member]:
    """Members, judged one header at a time: tarfile seeks past each member's declared
    size to find the next header, which for a compressed stream means decompressing
    it, so a header declaring a petabyte must be refused before the next step."""
    out: list[_Member] = []
    declared = 0
    while (info := tf.next()) is not None:
        declared += max(info.size, 0)
        budget.precheck(archive, len(out) + 1, declared)
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


def _check(members: list[_Member], archive: Path, budget: Budget) -> list[_Member]:
    """Refuse what cannot be extracted safely; return the members to write.

    A file stored twice (`tar` appends updates) keeps its last copy, as tar itself
    does; any other repeated name (file and folder, file and link) is refused, since
    the second would be written through, or over, the first.
    """
    budget.precheck(archive, len(members), sum(m.size for m in members))
    last = {m.name: i for i, m in enumerate(members) if m.kind == "file"}
    members = [m for i, m in enumerate(members) if m.kind != "file" or last[m.name] == i]
    kinds: dict[str, str] = {}
    folders: set[str] = set()  # every folder a member's path implies
    files: set[str] = set()
    links = {m.name for m in members if m.kind == "symlink"}
    for m in members:
        before = kinds.get(m.name)
        if before is not None and not (before == m.kind == "dir"):
            raise UnsafeArchiveError(
                f"{archive.name}: {m.name!r} appears twice (a {before}, then a {m.kind})",
                hint="an archive with two members of one name is ambiguous (the second could "
                "write through the first); nothing was extracted",
            )
        kinds[m.name] = m.kind
        _check_folders(m, kinds, folders, archive)
        _check_link(m, links, archive)
        if m.kind == "hardlink" and m.link not in files:
            raise UnsafeArchiveError(
                f"{archive.name}: hard link {m.name!r} -> {m.link!r} targets no file before it",
                hint="a hard link must name a regular file stored earlier in the archive; "
                "nothing was extracted",
            )
        if m.kind == "file":
            files.add(m.name)
    return members


def _check_folders(m: _Member, kinds: dict[str, str], folders: set[str], archive: Path) -> None:
    """Refuse a file that is also a folder: `a` stored as a file and `a/x` under it, in
    either order. Only explicit entries of one name were compared before, so the
    second write met the first on disk (FileExistsError, a traceback)."""
    parts = m.name.split("/")
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if kinds.get(folder) in ("file", "hardlink"):
            raise _file_and_folder(archive, folder, m.name)
        folders.add(folder)
    if m.kind in ("file", "hardlink") and m.name in folders:
        raise _file_and_folder(archive, m.name, m.name + "/...")


def _file_and_folder(archive: Path, name: str, inner: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive.name}: {name!r} is both a file and the folder holding {inner!r}",
        hint="one path cannot be both; the archive is damaged or crafted, nothing was "
        "extracted. Get a clean copy",
    )


class Budget:
    """One allowance for every archive unpacked into one tree, nested ones included.

    Counts bytes really written (zip headers may understate sizes) and members, and
    judges the expansion ratio against the packed bytes of the outermost archives, so
    a small archive holding archives cannot multiply its allowance.
    """

    def __init__(
        self,
        max_bytes: int | None = None,
        max_members: int | None = None,
        max_ratio: float | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        # read now, not at import, so a setting given to a running program applies
        if max_bytes is None:
            max_bytes = settings.whole("FACEDATA_UNPACK_MAX_BYTES", MAX_BYTES)
        if max_members is None:
            max_members = settings.whole("FACEDATA_UNPACK_MAX_MEMBERS", MAX_MEMBERS)
        if max_ratio is None:
            max_ratio = settings.number("FACEDATA_UNPACK_MAX_RATIO", MAX_RATIO)
        self.max_bytes, self.max_members = int(max_bytes), int(max_members)
        self.max_ratio = max_ratio
        self.max_depth = max_depth
        self.used = 0
        self.members = 0
        self.packed = 0

    def enter(self, archive: Path, depth: int) -> None:
        if depth > self.max_depth:
            raise UnsafeArchiveError(
                f"{archive.name} is nested {depth} archives deep (limit {self.max_depth})",
                hint="data archives hold images, not archives of archives of archives",
            )
        if depth == 1:
            self.packed += archive.stat().st_size

    def _ratio_limit(self) -> int:
        floor = settings.whole("FACEDATA_UNPACK_RATIO_FLOOR", RATIO_FLOOR)
        return max(int(self.max_ratio * max(self.packed, 1)), floor)

    def precheck(self, archive: Path, members: int, declared: int) -> None:
        """Refuse on what the headers declare, before anything is written."""
        if self.members + members > self.max_members:
            raise UnsafeArchiveError(
                f"{archive.name} has at least {self.members + members:,} members, over the "
                f"limit of {self.max_members:,}",
                hint="raise FACEDATA_UNPACK_MAX_MEMBERS if this archive is trusted",
            )
        total = self.used + declared
        if total > self.max_bytes:
            raise UnsafeArchiveError(
                f"{archive.name} would unpack to {total:,} bytes, over the limit of "
                f"{self.max_bytes:,}",
                hint="raise FACEDATA_UNPACK_MAX_BYTES if this archive is trusted and the disk "
                "has room",
            )
        if self.packed and total > self._ratio_limit():
            self._ratio_error(archive, total)

    def _ratio_error(self, archive: Path, total: int) -> None:
        raise UnsafeArchiveError(
            f"{archive.name} would expand {total / max(self.packed, 1):,.0f}:1 "
            f"({total:,} bytes from {self.packed:,}), over the limit of {self.max_ratio:g}:1",
            hint="image data barely compresses, so this looks like a decompression bomb; "
            "nothing was kept. Raise FACEDATA_UNPACK_MAX_RATIO if this archive is trusted",
        )

    def count(self, members: int) -> None:
        self.members += members

    def take(self, archive: Path, n: int) -> None:
        self.used += n
        if self.used > self.max_bytes:
            raise UnsafeArchiveError(
                f"{archive.name} expands past {self.max_bytes:,} bytes (its headers understate "
                "the sizes)",
                hint="the archive looks like a decompression bomb; nothing was kept",
            )
        if self.packed and self.used > self._ratio_limit():
            self._ratio_error(archive, self.used)


def _copy(src, out, archive: Path, budget: Budget) -> None:  # noqa: ANN001 - file-likes
    with out:
        while chunk := src.read(_COPY_CHUNK):
            budget.take(archive, len(chunk))
            out.write(chunk)


def unpack(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int | None = None,
    max_members: int | None = None,
    name: str | None = None,
    budget: Budget | None = None,
    depth: int = 1,
) -> list[str]:
    """Extract `archive` into folder `dest` (created); return the member paths written.

    `name` is what messages call the archive (its file name in the dataset), as the
    path itself may be a blob named by its hash.

    All members are checked before anything is written, then extracted into a temp
    folder inside `dest` and moved into place, so a refusal or a crash leaves `dest`
    as it was (the temp folder is removed, or cleaned by the next run).

    `budget` is shared by every archive of one tree; `depth` is 1 for an archive as
    obtained, 2 for one found inside it.
    """
    if budget is None:
        budget = Budget(max_bytes, max_members)
    shown = name or archive.name
    kind = archive_kind(archive)
    if kind is None:
        raise UnsafeArchiveError(
            f"{shown} is neither a zip nor a tar archive",
            hint="set `unpack: false` for this file in the manifest if it is not an archive",
        )
    dest.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink():
        raise UnsafeArchiveError(
            f"{shown} would be unpacked into {dest.name}, which is a link",
            hint="an earlier archive planted a link where this one unpacks; nothing was "
            "extracted. Get clean copies of the dataset's archives",
        )
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        budget.enter(archive, depth)
        if kind == "zip":
            members = _unpack_zip(archive, tmp, budget)
        else:
            members = _unpack_tar(archive, tmp, budget)
        _links_stay_inside(tmp, archive)
        _merge(tmp, dest)
    except UnsafePathError as exc:
        raise UnsafeArchiveError(
            f"{shown}: {exc.message}",
            hint="the archive would write through a link; nothing was extracted",
        ) from None
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
    members: list[_Member],
    tmp: Path,
    archive: Path,
    budget: Budget,
    open_file: Callable[[Any], IO[bytes]],
) -> list[str]:
    """Materialise checked members under `tmp`; zip and tar differ only in `open_file`.

    Every file is created new (`confine.create_new`): a name already present, a link
    included, fails instead of being written through.
    """
    budget.count(len(members))
    checked: set[Path] = set()  # folders already resolved inside tmp (none is a link)
    for m in members:
        target = tmp / m.name
        if m.kind == "dir":
            if target.is_symlink():
                raise UnsafePathError(f"folder {m.name!r} is a link")
            target.mkdir(parents=True, exist_ok=True)
        elif m.kind == "symlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(m.link, target)
        elif m.kind == "hardlink":
            with confine.open_regular(tmp, tmp / m.link) as src:
                _copy(src, confine.create_new(tmp, target, checked), archive, budget)
        else:
            with open_file(m.ref) as src:
                _copy(src, confine.create_new(tmp, target, checked), archive, budget)
    return [m.name for m in members if m.kind != "dir"]


def _links_stay_inside(tmp: Path, archive: Path) -> None:
    """Each link, resolved through all the others, must end inside the extraction."""
    for link in confine.walk_links(tmp):
        if not confine.is_inside(tmp, link):
            name = link.relative_to(tmp).as_posix()
            raise UnsafeArchiveError(
                f"{archive.name}: link {name!r} -> {os.readlink(link)!r} leads outside the "
                "archive through other links",
                hint="links leaving the target are refused; nothing was extracted",
            )


def _unpack_zip(archive: Path, tmp: Path, budget: Budget) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        members = _zip_members(zf, archive)
        members = _check(members, archive, budget)
        return _write_members(members, tmp, archive, budget, zf.open)


def _tar_open(tf: tarfile.TarFile) -> Callable[[Any], IO[bytes]]:
    def open_member(ref: Any) -> IO[bytes]:
        src = tf.extractfile(ref)
        assert src is not None  # only regular files reach here
        return src

    return open_member


_TRAILER_LIMIT = 16 * 1024**2  # tar blocking pads with at most a few records of zeros


def _unpack_tar(archive: Path, tmp: Path, budget: Budget) -> list[str]:
    with tarfile.open(archive) as tf:
        members = _tar_members(tf, archive, budget)
        members = _check(members, archive, budget)
        written = _write_members(members, tmp, archive, budget, _tar_open(tf))
        _drain(tf, archive)
        return written


def _drain(tf: tarfile.TarFile, archive: Path) -> None:
    """Read a compressed tar to the end of its stream.

    gzip, bz2 and xz check their CRCs only at the end of a stream (or block); tarfile
    stops at the end-of-archive marker, so corruption in the last stretch would go
    unnoticed and damaged members would be pinned as good. Bounded: a stream that goes
    on far past the archive's end is refused rather than decompressed.
    """
    stream = tf.fileobj
    if stream is None or not isinstance(stream, gzip.GzipFile | lzma.LZMAFile | bz2.BZ2File):
        return
    left = _TRAILER_LIMIT
    while chunk := stream.read(min(_COPY_CHUNK, left + 1)):
        left -= len(chunk)
        if left < 0:
            raise UnsafeArchiveError(
                f"{archive.name} holds over {_TRAILER_LIMIT // 1024**2} MiB of data after "
                "the end of its tar archive",
                hint="a tar archive ends with its end marker; get a clean copy of the file",
            )


def _merge(src: Path, dest: Path) -> None:
    """Move the extracted entries into `dest`; later archives may add to the same folders.

    A folder is merged into an existing folder only if that folder is real: a link
    planted by an earlier archive is replaced, never followed.
    """
    for entry in src.iterdir():
        target = dest / entry.name
        if (
            entry.is_dir()
            and not entry.is_symlink()
            and target.is_dir()
            and not target.is_symlink()
        ):
            _merge(entry, target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)
