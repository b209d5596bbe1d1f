"""Reader registry and source dispatch.

A manifest names its reader by string (`format.reader: genki`), so readers register
under those names and the build never imports a layout module directly. Adding a
layout is its options model in reader_options.py (which names the reader) and one
module here whose reader function carries `@register(ThatModel)`.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import facedata.files.confine as confine
from facedata.errors import ReaderError
from facedata.fetch.delivery import completeness, describe_sets
from facedata.manifest.options import MODELS, Admit, OptionsT, ReaderOptions, validated
from facedata.manifest.schema import Manifest, Source
from facedata.read.sample import Drop, FileImage, Note, Sample

Reader = Callable[[Manifest, Source, Path, Any], Iterator[Sample | Drop | Note]]
# Paths (relative to the reader's root) that tell its tree apart from a wrapper around
# it, derived from the format options: imagefolder's split folders, for instance.
Markers = Callable[[Any], list[str]]
# A reader that can be read in ranges: how to cut its input (cheap: no tokenizing), and
# how to read one cut. `parts(manifest, source, root, options, rows)` returns the
# reader's own picklable descriptions of its ranges, about `rows` rows each (and any
# Note the whole reader gives before its rows, recorded by the driver), or an `Uncut`
# when this input cannot be cut safely (then it is read whole, on the driver, and the
# build's notes say so).
PartsOf = Callable[[Manifest, Source, Path, Any, int], "Sequence[Any] | Uncut"]
ReadPart = Callable[[Any, Any], Iterator["Sample | Drop | Note"]]


@dataclass(frozen=True)
class Uncut:
    """A reader's input that its `parts` would not cut: which file, and why."""

    file: str
    why: str

    def note(self, dataset: str) -> Note:
        """What the build records: the file was read whole on the driver, and why."""
        return Note(dataset, "read_whole", f"{self.file} read whole on the driver: {self.why}")


@dataclass(frozen=True)
class ReaderEntry:
    """A registered reader: the function, the options model it receives, and the
    paths that recognise its tree (`markers`, from the options; `signature`, fixed)."""

    name: str
    read: Reader
    options: type[ReaderOptions]
    markers: Markers | None = None
    signature: tuple[str, ...] = ()
    parts: PartsOf | None = None
    read_part: ReadPart | None = None
    # its parts' samples name files of the tree (images by path): a worker can read
    # them only where the tree itself is readable, never from a driver's cache view
    part_files: bool = False

    def options_of(self, options: Mapping[str, Any] | ReaderOptions, dataset: str = "") -> Any:
        """The validated model for raw options (a ReaderError names what is wrong)."""
        if isinstance(options, self.options):
            return options
        raw = options.model_dump() if isinstance(options, ReaderOptions) else options
        return validated(self.options, raw, dataset)


READERS: dict[str, ReaderEntry] = {}
SIGNATURES: dict[str, list[str]] = {}

_IGNORED = {"__MACOSX", ".DS_Store"}
_WRAPPER_DEPTH = 3


def register(
    options: type[OptionsT],
    markers: Callable[[OptionsT], list[str]] | None = None,
    signature: list[str] | None = None,
) -> Callable[[Callable[[Manifest, Source, Path, OptionsT], Iterator[Any]]], Any]:
    """Make a reader reachable from manifests as `format.reader: <name>`.

    The name is the one its options model declares (`reader="genki"`); the reader is
    called with that model, validated, never with a raw dict. `markers` derive from
    the same model. `signature`: paths that identify the reader's folder whatever it
    is called, so a refusal can name a copy saved under another name (used only to
    explain).
    """
    name = options.reader
    if MODELS.get(name) is not options:
        raise ValueError(
            f"{options.__name__} names no reader (class ...(ReaderOptions, reader=..))"
        )

    def deco(fn: Callable[[Manifest, Source, Path, OptionsT], Iterator[Any]]) -> Any:
        if name in READERS and READERS[name].read is not fn:
            raise ValueError(f"reader {name!r} registered twice")
        READERS[name] = ReaderEntry(name, fn, options, markers, tuple(signature or ()))
        if signature is not None:
            SIGNATURES[name] = list(signature)
        return fn

    return deco


def register_parts(
    options: type[ReaderOptions], parts: PartsOf, read_part: ReadPart, *, files: bool = False
) -> None:
    """Let a registered reader's input be read in ranges by a build's workers.

    `read_part(data, options)` must yield exactly the samples, drops and notes (keys,
    labels, splits, `where` strings) that the whole-input reader yields for that range,
    so that a build is the same whichever way its rows were read. `files`: its samples
    may name files of the tree (images by path), not only bytes the range holds.
    """
    name = options.reader
    if name not in READERS:
        raise ValueError(f"reader {name!r} is not registered")
    READERS[name] = replace(READERS[name], parts=parts, read_part=read_part, part_files=files)


@dataclass(frozen=True)
class Part:
    """One range of a source's input, as small picklable data a worker reads.

    `root` is the source's folder as the build knows it: reading stays confined to it
    and errors name it, as when the driver reads. `data` is the reader's own range
    description (a blob, byte range and first line for a CSV); `options` its
    validated options.
    """

    reader: str
    dataset: str
    root: str
    options: Any
    data: Any


def source_parts(
    manifest: Manifest,
    source: Source,
    root: Path,
    rows: int,
    defer_pixels: bool = False,
    *,
    files_readable: bool = True,
) -> tuple[list[Note], list[Part]] | Note | None:
    """The ranges a build's workers read instead of the driver reading `source` whole,
    and the notes the driver records first (the file set); None when its reader has
    no ranges or the source is own data (read where its author put it, with its
    register, on the driver); a Note (kind "read_whole") when the reader could not cut
    this input: it is read whole on the driver, and the build's notes say why.
    `files_readable` False: the tree's files exist only on the driver (a view of the
    fetch cache), so a reader whose parts name files is read on the driver; its label
    files are still read by the workers through `blob_for`."""
    fmt = manifest.format_for(source)
    entry = get_reader(fmt.reader)
    if entry.parts is None or entry.read_part is None or source.is_own_data:
        return None
    if entry.part_files and not files_readable:
        return None
    raw, file_set = source_options(manifest, source, Path(root))
    options = entry.options_of(raw, manifest.id)
    if defer_pixels:
        options = options.model_copy(update={"defer_pixels": True})
    markers = list(entry.markers(options)) if entry.markers else []
    base = resolve_root(Path(root), fmt.root, manifest.id, markers)
    with confine.reading_inside(Path(root)):
        cuts = entry.parts(manifest, source, base, options, rows)
    if isinstance(cuts, Uncut):
        return cuts.note(manifest.id)
    notes = [Note(manifest.id, "file_set", file_set)] if file_set else []
    notes += [c for c in cuts if isinstance(c, Note)]  # what the reader says before any row
    parts = [Part(entry.name, manifest.id, str(root), options, c) for c in cuts]
    return notes, [p for p in parts if not isinstance(p.data, Note)]


def read_part(part: Part) -> Iterator[Sample | Drop | Note]:
    """One range's samples, drops and notes, confined as `read_source` confines them."""
    entry = get_reader(part.reader)
    if entry.read_part is None:
        raise ReaderError(f"reader {part.reader!r} cannot read ranges")
    yield from confined(part.dataset, Path(part.root), entry.read_part(part.data, part.options))


def markers_for(reader: str, options: Mapping[str, Any] | ReaderOptions) -> list[str]:
    entry = READERS.get(reader)
    if entry is None or entry.markers is None:
        return []
    return list(entry.markers(entry.options_of(options)))


def get_reader(name: str) -> ReaderEntry:
    try:
        return READERS[name]
    except KeyError:
        raise ReaderError(
            f"unknown reader {name!r}",
            hint=f"format.reader must be one of: {', '.join(sorted(READERS))}",
        ) from None


def _listing(root: Path, limit: int = 12) -> str:
    if not root.is_dir():
        return "(the folder does not exist)"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more if names else "(empty)"


def resolve_root(
    root: Path, pattern: str, dataset: str = "", markers: list[str] | None = None
) -> Path:
    """The folder a reader works in: `format.root` (a glob) below the unpacked source.

    Globs exist because top-folder names are often unconfirmed (GENKI4K/ vs
    genki4k/, SMILEsmileD-<branch>/). Only folders count: archives are unpacked where
    they sit, so a glob like `*` would otherwise also match the archive itself.
    Deliveries often wrap the expected tree in a top folder of any name (a Kaggle zip's
    `archive (3)/`): when `format.root` (or the reader's `markers`) is not found at the
    top, the one folder a few levels down where it is found is used. Ambiguity is an
    error rather than a guess, because reading the wrong tree silently produces a
    wrong corpus.
    """
    root = Path(root)
    label = f"{dataset}: " if dataset else ""
    if not root.is_dir():
        state = "is a file, not a folder" if root.exists() else "does not exist"
        raise ReaderError(
            f"{label}source folder {root} {state}",
            hint="fetch the dataset first, or pass the unpacked folder with --root "
            "(unpack an archive first, or register it with `facedata fetch ID --from`)",
        )
    markers = markers or []
    found = _resolve(root, pattern, label)
    if found is not None:
        missing = [m for m in markers if not (found / m).exists()]
        if not missing:
            return found
        first = ReaderError(
            f"{label}{', '.join(missing)} not found under {found}",
            hint=f"found there: {_listing(found)}; if they sit in a subfolder, set format.root "
            "to it",
        )
    else:
        kind = "matches no folder" if any(ch in pattern for ch in "*?[") else "not found"
        first = ReaderError(
            f"{label}format.root {pattern!r} {kind} under {root}",
            hint=f"found there: {_listing(root)}",
        )
    hits: list[Path] = []
    partial: tuple[int, Path] | None = None  # the folder holding most of the markers
    for top in _folders_below(root):
        cand = _resolve(top, pattern, label, quiet=True)
        if cand is None or cand in hits:
            continue
        have = sum((cand / m).exists() for m in markers)
        if have == len(markers):
            hits.append(cand)
        elif have and (partial is None or have > partial[0]):
            partial = (have, cand)
    if not hits and partial is not None:
        near = partial[1]
        missing = [m for m in markers if not (near / m).exists()]
        first = ReaderError(
            f"{label}{', '.join(missing)} not found under {near.relative_to(root)}",
            hint=f"found there: {_listing(near)}; set format.root (and the reader's options) "
            "to this copy's layout",
        )
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        shown = ", ".join(str(h.relative_to(root)) for h in hits[:6])
        raise ReaderError(
            f"{label}the tree format.root {pattern!r} expects is found in {len(hits)} places "
            f"under {root}: {shown}",
            hint="set format.root to the one to read",
        )
    raise first


def refuse_misnamed(root: Path, pattern: str, label: str, markers: list[str]) -> None:
    """The reader's files are there, in a folder whose name `format.root` does not
    match (RAF-DB's basic/ saved as `RAF-DB-basic-emotion/`): say which folder and
    the name it needs, instead of only that the pattern matched nothing."""
    for cand in [root, *_folders_below(root)]:
        if all((cand / m).exists() for m in markers):
            name = pattern.strip("*?[]/") or pattern
            where = "the folder given" if cand == root else f"{cand.relative_to(root)}/"
            raise ReaderError(
                f"{label}format.root {pattern!r} matches no folder under {root}, but "
                f"{where} holds what it reads ({', '.join(markers)})",
                hint=f"name that folder {name!r} (to match {pattern!r}) inside a folder of "
                "its own, and pass that outer folder or an archive of it",
            )


def _folders_below(root: Path) -> Iterator[Path]:
    """Folders below root, shallowest first, a few levels deep (wrapper candidates)."""
    level = [root]
    for _ in range(_WRAPPER_DEPTH):
        nxt = []
        for folder in level:
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            nxt += [
                p
                for p in entries
                if p.is_dir()
                and not p.is_symlink()
                and p.name not in _IGNORED
                and not p.name.startswith(".")
            ]
        yield from nxt
        level = nxt


def _resolve(root: Path, pattern: str, label: str, quiet: bool = False) -> Path | None:
    """`pattern` below root; None when absent; an error when ambiguous (unless quiet)."""
    if pattern in ("", "."):
        return root
    problem = confine.name_problem(pattern)
    if problem:
        raise ReaderError(
            f"{label}format.root: {problem}",
            hint="format.root names a folder inside the unpacked source",
        )
    if not any(ch in pattern for ch in "*?["):
        target = root / pattern
        return target if target.is_dir() and confine.is_inside(root, target) else None
    matches = sorted(
        p
        for p in root.glob(pattern)
        if p.is_dir() and not (set(p.parts) & _IGNORED) and confine.is_inside(root, p)
    )
    if len(matches) == 1:
        return matches[0]
    if not matches or quiet:
        return None
    shown = ", ".join(str(m.relative_to(root)) for m in matches[:12])
    raise ReaderError(
        f"{label}format.root {pattern!r} matches {len(matches)} folders under {root}: {shown}",
        hint="make format.root specific enough to match exactly one folder",
    )


def source_options(manifest: Manifest, source: Source, root: Path) -> tuple[dict[str, Any], str]:
    """The reader options for the files this tree holds, and the file set they come from.

    A source that lists alternative file sets is read from the first complete one,
    whose own options (e.g. which CSV) override the format's.
    """
    options = dict(manifest.format_for(source).options)
    if not source.file_sets:
        return options, ""
    state = completeness(Path(root), source, [])
    if state.file_set is None:
        raise ReaderError(
            f"{manifest.id}: none of the file sets of [{source.id}] is complete under {root}",
            hint=f"it needs {describe_sets(source)}; found there: {_listing(Path(root))}",
        )
    options.update(state.file_set.options)
    return options, state.file_set.id


def read_source(
    manifest: Manifest,
    source: Source,
    root: Path,
    admit: Admit | None = None,
    defer_pixels: bool = False,
) -> Iterator[Sample | Drop | Note]:
    """Stream one source's samples, drops and notes, whatever its native layout.

    `admit(subject_id) -> (ok, reason)` lets a reader that decodes pixels itself (video
    frames) skip people a build may not use before decoding anything of theirs.
    `defer_pixels` lets a pixels-in-CSV reader hand over the pixel text unparsed, for
    a build's workers to parse (and drop as "bad pixels" there).
    """
    fmt = manifest.format_for(source)
    entry = get_reader(fmt.reader)
    raw, file_set = source_options(manifest, source, Path(root))
    options = entry.options_of(raw, manifest.id)
    run: dict[str, Any] = {}
    if admit is not None:
        run["admit"] = admit
    if defer_pixels:
        run["defer_pixels"] = True
    if run:
        options = options.model_copy(update=run)
    if file_set:
        yield Note(manifest.id, "file_set", file_set)
    markers = list(entry.markers(options)) if entry.markers else []
    base = resolve_root(Path(root), fmt.root, manifest.id, markers)
    stream = entry.read(manifest, source, base, options)
    if source.is_own_data:  # own recordings: read where the manifest's author put them
        yield from stream
        return
    yield from confined(manifest.id, Path(root), stream)


MAX_FOLDERS = 4096  # resolved folders remembered per source (bounded: trees are hostile)


def _resolve_file(path: str, folders: dict[str, str]) -> tuple[str, str]:
    """(os.path.realpath(path), os.path.abspath(path)), resolving each folder once.

    realpath lstat()s every component of every path; a dataset's images sit in a few
    folders, so the folder is resolved once and each file costs one lstat. Anything
    unusual (a `..`, the file itself a link, a missing file) takes the full realpath.
    """
    plain = os.path.abspath(path)
    head, name = os.path.split(plain)
    if ".." in path.split(os.sep) or name in ("", ".", ".."):
        return os.path.realpath(path), plain
    try:
        is_link = stat.S_ISLNK(os.lstat(plain).st_mode)
    except OSError:
        is_link = True  # missing or unreadable: realpath says what it is
    if is_link:
        return os.path.realpath(path), plain
    real_head = folders.get(head)
    if real_head is None:
        if len(folders) >= MAX_FOLDERS:
            folders.clear()
        real_head = folders[head] = os.path.realpath(head)
    return os.path.join(real_head, name), plain


def confined(
    dataset: str, root: Path, stream: Iterator[Sample | Drop | Note]
) -> Iterator[Sample | Drop | Note]:
    """Only images that resolve inside the dataset's tree; the rest are counted drops.

    Whatever a reader joined together (a label row's path, a class folder that is a
    link), the file read is judged by where it really is. A kept image is referred to
    by its resolved path, which `FileImage` opens without following links. A reader
    failing on a hostile file (a CSV field over the limit, a name the system refuses)
    ends in a ReaderError instead of a traceback.
    """
    items = iter(stream)
    root = Path(root)
    # resolved once per source, and each folder once (this runs per sample)
    real_root = os.path.realpath(root)
    prefix = real_root.rstrip("/") + "/"
    folders: dict[str, str] = {}
    try:
        while True:
            item = confine.next_inside(root, items)
            if item is None:
                return
            if isinstance(item, Sample) and isinstance(item.image, FileImage):
                path = item.image.path
                try:
                    real, plain = _resolve_file(os.fspath(path), folders)
                except (OSError, ValueError):
                    real, plain = None, ""
                if real is None or not (real == real_root or real.startswith(prefix)):
                    yield Drop(dataset, "outside dataset", item.where or item.key, str(path))
                    continue
                if real != plain:
                    item.image = FileImage(Path(real))
                del real
            yield item
    except csv.Error as exc:
        raise ReaderError(
            f"{dataset}: unreadable CSV under {root}: {exc}",
            hint="a field or line is malformed or far too long; get a clean copy of the file",
        ) from None
    except OSError as exc:
        if exc.errno is None:
            raise
        raise ReaderError(
            f"{dataset}: cannot read {exc.filename or root}: {exc.strerror}",
            hint="a name in the dataset is unusable on this system (too long, or a link loop); "
            "get a clean copy",
        ) from None
