"""Gated sources: tell the person how to get access, then register what they obtained.

AffectNet, RAF-DB and CK+ are released only after an agreement is signed, so
facedata cannot download them. `fetch ID` prints the manifest's instructions and
exits with code 2; `fetch ID --from PATH` takes the archive or folder the person
received, checks it against the hashes the manifest knows, stores it and pins it.
The same path registers a file obtained by hand for any other source (a quota-bound
Google Drive file, an air-gapped copy).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from facedata.errors import (
    AccessRequiredError,
    FetchError,
    IntegrityError,
    ReaderError,
    UnsafeArchiveError,
)
from facedata.fetch.delivery import completeness, describe_sets
from facedata.fetch.integrity import check, expected_for
from facedata.fetch.probe import matching_sources, probe_delivery
from facedata.fetch.store import (
    LockEntry,
    SourceLock,
    file_sha256,
    ingest_copy,
    lock_path,
    now,
    tree_digest,
)
from facedata.fetch.tree import Placement, hub_blobs
from facedata.fetch.unpack import archive_kind, is_archive_name, should_unpack
from facedata.manifest.schema import FileSpec, Manifest, Source


def access_error(manifest: Manifest, src: Source, others: list[Source]) -> AccessRequiredError:
    """The manifest's instructions, as an error the CLI prints (exit code 2)."""
    acc = src.access
    lines = [f"{manifest.name} ({manifest.id}) is gated: {acc.level} required.", ""]
    lines.append(acc.instructions.strip())
    if acc.request_url:
        lines.append(f"Request access: {acc.request_url}")
    if acc.contact:
        lines.append(f"Contact: {acc.contact}")
    hint = (
        f"when you have the files, run `facedata fetch {manifest.id} --from PATH` "
        "(an archive or a folder)"
    )
    if others:
        alts = ", ".join(
            f"{s.id} ({s.kind}, {'official' if s.official else 'unofficial'})" for s in others
        )
        hint += f"; other sources: {alts} (pick one with --source)"
    return AccessRequiredError("\n".join(lines), hint=hint)


@dataclass
class Registered:
    placements: list[Placement]
    record: SourceLock
    loose_root: Path | None = None
    loose: list[str] = field(default_factory=list)
    check: Callable[[Path], None] | None = None  # run on the staged tree before it is published


def walk(folder: Path) -> list[str]:
    """Relative paths of the regular files below `folder` (links to regular files in
    the folder count).

    The same link rule as archives: a link that leads out of the folder (to a file of
    someone else's, `/etc/passwd`, a folder above) is never followed; it refuses the
    folder, naming the link. Anything else that is not a regular file (a FIFO would
    hang the hashing, a link to /dev/zero would fill the disk) and names that are not
    text refuse the whole folder too, naming the culprit.
    """
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__MACOSX" and not d.startswith("."))
        for d in dirnames:
            _refuse_link_out(folder, Path(dirpath, d))
        for f in sorted(filenames):
            if f.startswith("._") or f == ".DS_Store":
                continue
            path = Path(dirpath, f)
            _refuse_odd(path)
            _refuse_link_out(folder, path)
            out.append(path.relative_to(folder).as_posix())
    return out


def _refuse_link_out(folder: Path, path: Path) -> None:
    from facedata.files.confine import is_inside

    if not path.is_symlink() or is_inside(folder, path):
        return
    blobs = hub_blobs(folder)
    if blobs is not None and path.is_file() and is_inside(blobs, path):
        return
    shown = os.fsencode(path).decode("utf-8", "replace")
    raise FetchError(
        f"--from: {shown} is a link to {os.path.realpath(path)}, outside {folder}; "
        "it was not followed and nothing was copied",
        hint="links in a delivery must stay inside it: replace the link with the file "
        "itself (copy it in), then run again",
    )


def _refuse_odd(path: Path) -> None:
    from facedata.files.confine import regular_problem

    problem = regular_problem(path)
    if problem is None:
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            problem = "has a name that is not UTF-8 text"
    if problem:
        shown = os.fsencode(path).decode("utf-8", "replace")
        raise FetchError(
            f"--from: {shown} {problem}",
            hint="only regular files and folders are registered: remove pipes, devices and "
            "links to them (rename files whose names are not UTF-8), then run again",
        )


def _match_file(path: Path, specs: list[FileSpec], archive: bool) -> FileSpec | None:
    """Which manifest file a single given file is: by name, else the only one listed.

    The only-one fallback (a download renamed `ckextended (1).csv`) applies only when
    both are archives or both are not: a Kaggle zip holding the listed CSV is a
    wrapper to unpack, and pinning its bytes under the CSV's name would be a lie.
    """
    by_name = [s for s in specs if Path(s.name).name == path.name]
    if by_name:
        spec = by_name[0]
        if archive and not is_archive_name(spec.name) and spec.unpack is None:
            return None  # a zip saved under the CSV's name: unpack it, never pin it as the CSV
        return spec
    if len(specs) == 1 and archive == is_archive_name(specs[0].name):
        return specs[0]
    return None


def register(
    manifest: Manifest,
    src: Source,
    from_path: Path,
    pinned: SourceLock | None,
    notes: list[str],
) -> Registered:
    """Take a delivery as a person received it: an archive, a folder, or a file.

    Files the manifest lists are placed at their own paths; any other archive (a
    Kaggle or hand-made zip wrapping the real files) is unpacked at the tree root,
    archives inside it too; a folder's other files are copied as they are. What the
    staged tree then holds is checked against the manifest (required files, one
    complete file set, the reader's root) before it is published.
    """
    from_path = Path(from_path).expanduser()
    if not from_path.exists():
        raise FetchError(
            f"--from {from_path}: no such file or folder",
            hint="pass the archive or the folder you downloaded",
        )
    if not from_path.is_dir():
        _refuse_odd(from_path)
    if from_path.is_dir():
        reg = _register_folder(manifest, src, from_path.resolve(), pinned, notes)
    else:
        reg = _register_file(manifest, src, from_path.resolve(), pinned, notes)
    claimed = {e.name for e in reg.record.files}
    entries = [] if reg.loose else list(reg.record.files)

    def _check(tree: Path) -> None:
        try:
            check_delivery(manifest, src, tree, from_path, claimed, notes, entries)
        except FetchError as exc:
            if isinstance(exc, IntegrityError):
                raise
            found = matching_sources(manifest, src, tree, from_path)
            if len(found) == 1:
                m, other = found[0]
                exc.hint = (
                    f"it has the shape of {m.id} [{other.id}] ({other.kind}, "
                    f"{'official' if other.official else 'unofficial'}): run `facedata fetch "
                    f"{m.id} --source {other.id} --from {from_path}`"
                )
            elif found:
                shown = ", ".join(f"{m.id} --source {o.id}" for m, o in found)
                exc.hint = (
                    f"it can be read as: {shown}; if it is one of these, run `facedata fetch "
                    f"DATASET --source SOURCE --from {from_path}`"
                )
            raise

    reg.check = _check
    return reg


def _take(
    name: str,
    path: Path,
    spec: FileSpec | None,
    src: Source,
    pinned: SourceLock | None,
    notes: list[str],
    unpack: bool | None = None,
) -> tuple[Placement, LockEntry]:
    """Hash, check and store one file; it will be unpacked where it sits if an archive."""
    pin = pinned.entry(name) if pinned else None
    sha, size = file_sha256(path)
    md5 = None
    if spec is not None and spec.md5:
        import hashlib

        h = hashlib.md5()
        with open(path, "rb") as fh:
            while chunk := fh.read(4 << 20):
                h.update(chunk)
        md5 = h.hexdigest()
    try:
        if unpack is None:
            unpack = should_unpack(name, path, spec.unpack if spec is not None else None)
    except UnsafeArchiveError as exc:
        if path.name != name:
            exc.message = exc.message.replace(name, f"{path} (given as {name})", 1)
        raise
    try:
        check(name, sha, size, md5, expected_for(spec, pin), notes)
    except IntegrityError as exc:
        if pinned is not None and pin is not None and (spec is None or not spec.verified):
            exc.hint = (
                f"this cache pinned a different {name} for {pinned.dataset} [{src.id}] before. "
                f'If {path} is the right file, delete the "{src.id}" entry under '
                f'"{pinned.dataset}" in {lock_path()}, then run this command again'
            )
        else:
            exc.message = exc.message.replace("the file was discarded", f"{path} was not stored")
            exc.hint = (
                f"{path} is not the file the manifest describes: check that you passed the "
                "right file (a different release or a damaged copy), or get a complete copy "
                "from the dataset's publisher"
            )
        raise
    blob = ingest_copy(path, sha)
    pinned_at = pin.pinned_at if pin and pin.sha256 == sha else now()
    entry = LockEntry(name, str(path), size, sha, src.official, pinned_at)
    return Placement(name, blob, unpack), entry


def _register_file(
    manifest: Manifest, src: Source, path: Path, pinned: SourceLock | None, notes: list[str]
) -> Registered:
    is_archive = archive_kind(path) is not None
    spec = _match_file(path, src.files, is_archive)
    if spec is None and is_archive:
        # a wrapper (a Kaggle zip, an archive of the extracted folder): unpacked at the
        # root. Its lock entry never takes a listed file's name: those bytes are not it.
        listed = {Path(f.name).name for f in src.files}
        name = f"{path.name} (archive)" if path.name in listed else path.name
        placement, entry = _take(name, path, None, src, pinned, notes, unpack=True)
        return Registered([placement], _record(manifest, src, path, [entry]))
    if spec is None and src.files:
        listed = ", ".join(f.name for f in src.files)
        raise FetchError(
            f"{path.name} is none of the files {manifest.id} [{src.id}] expects ({listed})",
            hint="pass a folder holding them, the archive you downloaded, or the matching file "
            "with --from; choose the source with --source",
        )
    name = spec.name if spec else path.name
    placement, entry = _take(name, path, spec, src, pinned, notes)
    return Registered([placement], _record(manifest, src, path, [entry]))


def _register_folder(
    manifest: Manifest, src: Source, folder: Path, pinned: SourceLock | None, notes: list[str]
) -> Registered:
    names = walk(folder)
    if not names:
        raise FetchError(
            f"--from {folder} is an empty folder", hint="pass the folder with the data"
        )
    present = set(names)
    placements: list[Placement] = []
    entries: list[LockEntry] = []
    claimed: set[str] = set()
    for spec in src.files:
        rel = spec.name if spec.name in present else None
        if rel is None:
            rel = next((n for n in names if Path(n).name == Path(spec.name).name), None)
        if rel is None or rel in claimed:
            continue  # absent here: check_delivery decides whether that matters
        claimed.add(rel)
        p, e = _take(spec.name, folder / rel, spec, src, pinned, notes)
        placements.append(p)
        entries.append(e)
    beside = _extracted_beside(names, claimed, src, notes)
    loose = []
    for rel in names:
        if rel in claimed or rel.startswith(beside):
            continue
        archive = is_archive_name(rel) and archive_kind(folder / rel) is not None
        if archive or (src.hub_layout and rel.endswith(".parquet")):
            # a Hub snapshot's shards are pinned one by one, as a Hub fetch pins them
            p, e = _take(rel, folder / rel, None, src, pinned, notes)
            placements.append(p)
            entries.append(e)
        else:
            loose.append(rel)
    record = _record(manifest, src, folder, entries)
    if src.hub_layout and _HUB_COMMIT.fullmatch(folder.name):
        record.version = folder.name  # the Hub cache's snapshots/<commit>/ names the commit
    return Registered(placements, record, folder, loose)


def _extracted_beside(
    names: list[str], claimed: set[str], src: Source, notes: list[str]
) -> tuple[str, ...]:
    """Folders that are a taken archive's own extraction, lying beside it.

    torchvision's CelebA download leaves img_align_celeba.zip and the folder it
    extracted side by side; both copied would put the images in the tree twice, and a
    reader could not tell which to read. The archive (hash-checked) is used, and the
    folder is left out, said once.
    """
    listed = {Path(f.name).name: f for f in src.files}
    found: list[str] = []
    for rel in claimed:
        spec = listed.get(Path(rel).name)
        if spec is None or not is_archive_name(spec.name) or not spec.unpacks_to:
            continue
        inside = [spec.unpacks_to] if isinstance(spec.unpacks_to, str) else spec.unpacks_to
        parent = str(Path(rel).parent)
        for name in inside:
            prefix = (name.strip("/") if parent == "." else f"{parent}/{name.strip('/')}") + "/"
            if any(n.startswith(prefix) for n in names):
                found.append(prefix)
                notes.append(f"{prefix} lies beside {rel}, its own extraction: the archive is used")
    return tuple(found)


def check_delivery(
    manifest: Manifest,
    src: Source,
    tree: Path,
    given: Path,
    claimed: set[str],
    notes: list[str],
    claimed_entries: list[LockEntry] | None = None,
) -> None:
    """Refuse a staged tree the build could not read, naming what is missing.

    Runs before the tree is published, so a refused delivery leaves the cache as it
    was; what would otherwise fail only at build time (a missing required file, no
    complete file set, the reader's root absent) fails here, with the fix.
    """
    from facedata.read import markers_for, resolve_root
    from facedata.read.registry import SIGNATURES, refuse_misnamed

    state = completeness(tree, src, manifest.required_files(src), claimed)
    listed = ", ".join(f.name for f in src.files)
    if src.files and not state.found:
        raise FetchError(
            f"{given.name} holds none of the files {manifest.id} [{src.id}] expects ({listed})",
            hint="pass the archive or folder of this dataset as you downloaded it, or choose "
            "another source with --source",
        )
    if state.missing:
        raise FetchError(
            f"{given} lacks {', '.join(state.missing)}, which {manifest.id} [{src.id}] needs",
            hint=f"pass the folder (or archive) that holds every required file; it lists {listed}",
        )
    if state.needs_set and state.file_set is None:
        raise FetchError(
            f"{given} holds no complete set of the files {manifest.id} [{src.id}] can read",
            hint=f"it needs {describe_sets(src)}",
        )
    if state.file_set is not None:
        notes.append(f"will read the file set {state.file_set.id}")
    _check_members(manifest, src, tree, given, claimed)
    fmt = manifest.format_for(src)
    options = dict(fmt.options)
    if state.file_set is not None:
        options.update(state.file_set.options)
    try:
        try:
            resolve_root(tree, fmt.root, manifest.id, markers_for(fmt.reader, options))
        except ReaderError:
            sig = SIGNATURES.get(fmt.reader)
            if sig and any(ch in fmt.root for ch in "*?["):
                refuse_misnamed(tree, fmt.root, f"{manifest.id}: ", sig)
            raise
    except ReaderError as exc:
        top = fmt.root.split("/")[0]
        if given.is_dir() and top not in (".", "") and fnmatch.fnmatch(given.name, top):
            raise FetchError(
                f"{given} is the {given.name}/ folder itself; {manifest.id} [{src.id}] is "
                f"registered from the folder that holds {given.name}/",
                hint=f"run `facedata fetch {manifest.id} --from {given.parent}`",
            ) from None
        # the staged tree is a temp folder: name places relative to what was given
        shown = str(given.name)
        message = exc.message.replace(f"{tree}/", f"{shown}: ").replace(str(tree), shown)
        message = message.replace(f"{manifest.id}: ", "", 1)
        hint = (exc.hint or "").replace(f"{tree}/", "").replace(str(tree), shown)
        raise FetchError(
            f"{given} does not hold the tree {manifest.id} [{src.id}] reads: {message}",
            hint=hint or "pass the folder or archive as the dataset's publisher ships it",
        ) from None
    # own recordings (reader local) are described by the person's own annotations.csv
    if fmt.reader != "local" and not _confirmed(src, claimed_entries):
        probe_delivery(manifest, src, tree, given)


def _check_members(
    manifest: Manifest, src: Source, tree: Path, given: Path, claimed: set[str]
) -> None:
    """Hold a listed file found inside an unpacked wrapper to its verified hashes.

    A file given as itself (or in a folder) is hashed against the manifest when it is
    registered; the same file inside a zip (a Kaggle dataset's `fer2013.zip` holding
    fer2013.csv, a shared-drive wrapper) was taken on its name alone, so a re-sorted,
    truncated or filtered copy (one without its test rows) passed where the file
    itself is refused. Only verified hashes refuse; unverified ones never decide.
    """
    import hashlib

    from facedata.fetch.delivery import TreeIndex, locate

    index: TreeIndex | None = None
    for spec in src.files:
        if spec.name in claimed or not spec.verified or not (spec.sha256 or spec.md5):
            continue
        index = index or TreeIndex(tree)
        path = locate(tree, spec, index)
        if path is None or path.name != Path(spec.name).name or not path.is_file():
            continue  # absent, or only its extraction is there
        sha, size = file_sha256(path)
        md5 = None
        if spec.md5:
            h = hashlib.md5()
            with open(path, "rb") as fh:
                while chunk := fh.read(4 << 20):
                    h.update(chunk)
            md5 = h.hexdigest()
        inside = path.relative_to(tree).as_posix()
        try:
            check(inside, sha, size, md5, expected_for(spec, None), [])
        except IntegrityError as exc:
            detail = exc.message.split(": ", 1)[-1].split(" (from ", 1)[0]
            raise IntegrityError(
                f"{given} holds {inside}, which is not the {spec.name} {manifest.id} "
                f"[{src.id}] lists: {detail}; nothing was stored",
                hint="a re-sorted, filtered, truncated or re-encoded copy would give wrong or "
                "missing rows: pass the file as the publisher ships it (check that you "
                "downloaded the right dataset and release)",
            ) from None


def _confirmed(src: Source, entries: list[LockEntry] | None) -> bool:
    """Every registered file is a listed one whose verified sha256 it matches.

    Only then do the bytes say what the delivery is; anything else (an unverified or
    absent hash, a wrapper archive, loose files) is read with its reader first.
    """
    if not entries:
        return False
    specs = {f.name: f for f in src.files}
    for e in entries:
        spec = specs.get(e.name)
        if spec is None or not spec.verified or spec.sha256 != e.sha256:
            return False
    return True


def tree_entry(
    src: Source, folder: Path, tree: Path, pinned: SourceLock | None, notes: list[str]
) -> LockEntry:
    """Pin the loose files of a registered folder by a digest over the finished tree.

    One digest instead of one entry per image keeps the lock file small for folders of
    hundreds of thousands of files; `verify` recomputes it over the same tree.
    """
    digest, total = tree_digest(tree, walk(tree))
    name = f"{folder.name}/"
    pin = pinned.entry(name) if pinned else None
    if pin is not None and pin.sha256 != digest:
        notes.append(f"the files of {folder} differ from those registered before; re-pinned")
    pinned_at = pin.pinned_at if pin and pin.sha256 == digest else now()
    return LockEntry(name, str(folder), total, digest, src.official, pinned_at, kind="tree")


_HUB_COMMIT = re.compile(r"[0-9a-f]{40}")


def _record(manifest: Manifest, src: Source, path: Path, entries: list[LockEntry]) -> SourceLock:
    return SourceLock(manifest.id, src.id, src.kind, src.official, str(path), None, now(), entries)
