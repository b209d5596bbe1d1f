"""Fetch a dataset: pick a source, obtain its files, publish the tree, pin it in the lock.

The order of work is what keeps the cache consistent after a crash at any point:
files are checked before they enter the blob store, the tree is assembled in a temp
folder and renamed, and the lock is written last. A source counts as fetched only
when both its lock record and its tree exist.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from facedata.errors import AccessRequiredError, FetchError, NoNetworkError
from facedata.fetch import progress, treelist
from facedata.fetch.integrity import expected_for
from facedata.fetch.job import Fetched, FetchJob
from facedata.fetch.obtain import Candidate, mirror_candidates, obtain
from facedata.fetch.store import (
    LockEntry,
    SourceLock,
    blob_path,
    file_sha256,
    get_source_lock,
    now,
    partial_dir,
    put_source_lock,
    read_lock,
    source_guard,
    tree_digest,
    tree_dir,
)
from facedata.fetch.tree import Placement, build_tree
from facedata.fetch.unpack import should_unpack
from facedata.manifest.schema import Manifest, Source
from facedata.manifest.sources import of_kind


@dataclass
class FetchResult:
    """A fetched source: where its tree is and exactly which bytes it came from."""

    dataset: str
    source: Source
    root: Path
    files: list[LockEntry]
    cached: bool = False  # True when nothing had to be obtained this time
    notes: list[str] = field(default_factory=list)

    @property
    def official(self) -> bool:
        return self.source.official


@dataclass
class Verified:
    """The outcome of re-hashing one pinned file (or tree)."""

    dataset: str
    source: str
    name: str
    ok: bool
    problem: str = ""


# -- fetchers: one per source kind


class Fetcher(Protocol):
    """Obtains one source's files into the blob store and says where they go.

    The contract every downloadable kind meets: resume and verify what it transfers
    (through `obtain`), check against the manifest and the pin, and return the
    placements of the tree plus the lock record. `build_tree` and the lock do the
    rest, the same way for every kind. `nested`: archives inside what it obtained
    are unpacked too (a Kaggle zip holding fer2013.tar.gz).
    """

    nested: bool

    def fetch(self, job: FetchJob) -> Fetched: ...


FetchFn = Callable[[FetchJob], Fetched]


@dataclass(frozen=True)
class FunctionFetcher:
    """A Fetcher from a function of one FetchJob; `load` imports it on first use (kaggle,
    hf are heavy)."""

    load: Callable[[], FetchFn]
    nested: bool = False

    def fetch(self, job: FetchJob) -> Fetched:
        return self.load()(job)


def _kaggle() -> FetchFn:
    from facedata.fetch.kaggle import fetch_kaggle

    return fetch_kaggle


def _hf() -> FetchFn:
    from facedata.fetch.hf import fetch_hf

    return fetch_hf


# Source kind -> how its files are obtained. `manual` and `local` are absent on
# purpose: a gated source is registered by a person (`--from`), own data is read in place.
FETCHERS: dict[str, Fetcher] = {
    "http": FunctionFetcher(lambda: fetch_file_urls),
    "kaggle": FunctionFetcher(_kaggle, nested=True),
    "huggingface": FunctionFetcher(_hf),
}


def choose_fetcher(kind: str) -> Fetcher:
    """The fetcher for a source kind, like pooch's `choose_downloader` picks by protocol."""
    try:
        return FETCHERS[kind]
    except KeyError:
        known = ", ".join(sorted(FETCHERS))
        raise FetchError(
            f"{kind} sources cannot be downloaded",
            hint=f"downloadable kinds: {known}; register other sources with `--from PATH`",
        ) from None


# -- choosing sources


def select_sources(manifest: Manifest, source_id: str | None) -> list[Source]:
    """Sources to try, in order: one by id, all of a kind, one by 1-based number, or all."""
    if source_id is None:
        return list(manifest.sources)
    by_id = [s for s in manifest.sources if s.id == source_id]
    if by_id:
        return by_id
    by_kind = of_kind(manifest.sources, source_id)
    if by_kind:
        return by_kind
    if source_id.isdigit() and 1 <= int(source_id) <= len(manifest.sources):
        return [manifest.sources[int(source_id) - 1]]
    listed = ", ".join(f"{i}: {s.id} ({s.kind})" for i, s in enumerate(manifest.sources, 1))
    raise FetchError(
        f"{manifest.id} has no source {source_id!r}",
        hint=f"--source takes a source id, a kind or a number: {listed}",
    )


# -- what is already here


def fetched(manifest: Manifest, source_id: str | None = None) -> FetchResult | None:
    """The first source of `manifest` already in the cache (lock record and tree), or None.

    No network and no hashing: readers and `build` call this on every run.
    """
    locks = read_lock().get(manifest.id, {})
    for src in select_sources(manifest, source_id):
        record = locks.get(src.id)
        root = tree_dir(manifest.id, src.id)
        if record is not None and root.is_dir():
            # sizes and times against the tree's file list; verify re-hashes it
            treelist.refuse_if_changed(manifest.id, src.id, root)
            return FetchResult(manifest.id, src, root, record.files, cached=True)
    return None


# -- fetching


def fetch_dataset(
    manifest: Manifest,
    source_id: str | None = None,
    from_path: Path | None = None,
    force: bool = False,
) -> FetchResult:
    """Obtain the dataset from its first working source (or the one `source_id` picks).

    A gated source stops the walk with its access instructions (AccessRequiredError,
    exit code 2) rather than falling through to an unofficial re-upload: using a
    mirror of gated data is a decision the person makes with --source.
    """
    candidates = select_sources(manifest, source_id)
    if from_path is not None:
        # the gated source is what a person obtains by hand; else the first candidate
        src = next((s for s in candidates if s.by_hand), candidates[0])
        return _fetch_one(manifest, src, from_path, force=True)
    if not force and (hit := fetched(manifest, source_id)) is not None:
        return hit
    failures: list[str] = []
    offline: list[NoNetworkError] = []  # the first "no network" failure, if any
    for i, src in enumerate(candidates):
        if src.is_own_data:
            raise FetchError(
                f"{manifest.id} [{src.id}] is your own recorded data: nothing to fetch",
                hint="builds read it where it lies (the manifest's `path`)",
            )
        if src.by_hand:
            err = manual_access_error(manifest, src, candidates[i + 1 :])
            if failures:
                err.message += "\n\nother sources failed first:\n" + "\n".join(failures)
            raise _with_offline_ways(err, manifest.id)
        try:
            result = _fetch_one(manifest, src, None, force=force)
        except AccessRequiredError:
            raise
        except FetchError as exc:
            if len(candidates) == 1 or i == len(candidates) - 1:
                lead = _offline_first(exc, src.id, offline, failures)
                raise _with_offline_ways(lead, manifest.id) from None
            if isinstance(exc, NoNetworkError) and not offline:
                offline.append(exc)
            failures.append(f"  {src.id}: {exc.message}")
            progress.say(f"{manifest.id} [{src.id}] failed ({exc.message}); trying the next source")
            continue
        if failures:
            result.notes.insert(0, f"used {src.id} after earlier sources failed")
        if not src.official:
            result.notes.append(
                f"{src.id} is an unofficial mirror: it carries the original license, and "
                "provenance records it as unofficial"
            )
        return result
    raise AssertionError("select_sources never returns an empty list")


def manual_access_error(manifest: Manifest, src: Source, others: list[Source]) -> FetchError:
    from facedata.fetch.manual import access_error

    return access_error(manifest, src, [s for s in others if not s.by_hand])


def _fetch_one(manifest: Manifest, src: Source, from_path: Path | None, force: bool) -> FetchResult:
    try:
        return _fetch_one_guarded(manifest, src, from_path, force)
    except OSError as exc:  # a full disk, a read-only cache: staged files are discarded
        from facedata.errors import disk_error
        from facedata.paths import home

        raise disk_error(exc, home(), "write to the cache at") from None


def _fetch_one_guarded(
    manifest: Manifest, src: Source, from_path: Path | None, force: bool
) -> FetchResult:
    notes: list[str] = []
    with source_guard(manifest.id, src.id):
        pinned = get_source_lock(manifest.id, src.id)
        loose_root: Path | None = None
        loose: list[str] = []
        nested = False
        check = None
        if from_path is not None:
            from facedata.fetch.manual import register

            reg = register(manifest, src, from_path, pinned, notes)
            placements, record = reg.placements, reg.record
            loose_root, loose = reg.loose_root, reg.loose
            nested, check = True, reg.check
        else:
            fetcher = choose_fetcher(src.kind)
            placements, record = fetcher.fetch(FetchJob(manifest, src, pinned, notes, force))
            nested = fetcher.nested
        root = build_tree(
            manifest.id,
            src.id,
            placements,
            nested=nested,
            loose_from=loose_root,
            loose=loose,
            check=check,
        )
        if loose_root is not None and loose:
            from facedata.fetch.manual import tree_entry

            record.files.append(tree_entry(src, loose_root, root, pinned, notes))
        put_source_lock(record)
    for note in notes:
        progress.say(f"{manifest.id} [{src.id}]: {note}")
    return FetchResult(manifest.id, src, root, record.files, cached=False, notes=notes)


def fetch_file_urls(job: FetchJob) -> Fetched:
    """Each of the source's files from its own URL (mirrors first), verified and pinned:
    the http kind's fetcher, and any kind whose files each carry a URL."""
    manifest, src, pinned, notes, force = job
    placements: list[Placement] = []
    entries: list[LockEntry] = []
    for spec in src.files:
        assert spec.url is not None  # the manifest schema requires it for http
        pin = pinned.entry(spec.name) if pinned else None
        checks = expected_for(spec, pin)
        sha = next((e.sha256 for e in checks if e.sha256), None)
        cands = [*mirror_candidates(manifest.id, spec.name, sha), Candidate(spec.url, spec.url)]
        try:
            got = obtain(
                spec.name, cands, partial_dir(manifest.id, src.id), checks, notes, force=force
            )
        except FetchError as exc:
            if spec.optional and "HTTP 404" in exc.message:
                notes.append(f"{spec.name}: optional and not found; skipped")
                continue
            raise
        origin = spec.url if got.origin == "cache" and pin is None else got.origin
        if got.origin == "cache" and pin is not None:
            origin = pin.origin
        pinned_at = pin.pinned_at if pin and pin.sha256 == got.sha256 else now()
        entries.append(LockEntry(spec.name, origin, got.size, got.sha256, src.official, pinned_at))
        placements.append(
            Placement(spec.name, got.blob, should_unpack(spec.name, got.blob, spec.unpack))
        )
    origin = src.address
    record = SourceLock(manifest.id, src.id, src.kind, src.official, origin, None, now(), entries)
    return placements, record


# -- verifying


def verify(manifest: Manifest | None = None) -> list[Verified]:
    """Re-hash every pinned file of `manifest` (or of the whole cache) against the lock."""
    from facedata.fetch.manual import walk

    out: list[Verified] = []
    for dataset, sources in sorted(read_lock().items()):
        if manifest is not None and dataset != manifest.id:
            continue
        for source, record in sorted(sources.items()):
            root = tree_dir(dataset, source)
            if not root.is_dir():
                out.append(Verified(dataset, source, "(tree)", False, f"{root} is missing"))
            start = len(out)
            for e in record.files:
                if e.kind == "tree":
                    if not root.is_dir():
                        continue
                    digest, _ = tree_digest(root, walk(root))
                    ok = digest == e.sha256
                    out.append(Verified(dataset, source, e.name, ok, "" if ok else "files changed"))
                    continue
                blob = blob_path(e.sha256)
                if not blob.is_file():
                    out.append(Verified(dataset, source, e.name, False, f"{blob} is missing"))
                    continue
                sha, size = file_sha256(blob)
                ok = sha == e.sha256 and size == e.size
                problem = "" if ok else f"sha256 {sha}, size {size:,}: the stored bytes changed"
                out.append(Verified(dataset, source, e.name, ok, problem))
                if ok and posixpath.basename(e.name) and not e.name.endswith("/"):
                    placed = root / e.name
                    if placed.is_file() and not placed.samefile(blob):
                        psha, _ = file_sha256(placed)
                        if psha != e.sha256:
                            out.append(
                                Verified(dataset, source, e.name, False, f"{placed} was modified")
                            )
            out.extend(_verify_unpacked(dataset, source, root, reported=out[start:]))
    return out


def _verify_unpacked(
    dataset: str, source: str, root: Path, reported: list[Verified]
) -> list[Verified]:
    """The unpacked files re-hashed against the tree's file list. Always run (a failure
    is recorded, so builds refuse the tree), shown only when it fails and nothing
    else of the source already did (one change is reported once)."""
    if not root.is_dir():
        return []
    judged = treelist.verify_tree(dataset, source, root)
    if judged is None or judged[0] or any(not v.ok for v in reported):
        return []
    problem = f"{judged[1]}; fetch it again with `facedata fetch {dataset} --force`"
    return [Verified(dataset, source, "(unpacked files)", False, problem)]


def _offline_first(
    last: FetchError, last_id: str, offline: list[NoNetworkError], failures: list[str]
) -> FetchError:
    """The error to show when every source failed.

    Without a connection the real cause is the network: a later source's complaint
    (say, no Kaggle credentials) would send the person after the wrong fix, so the
    network failure leads and the others are listed under it.
    """
    if not offline or isinstance(last, NoNetworkError):
        if failures:
            last.message += "\n\nother sources failed first:\n" + "\n".join(failures)
        return last
    lead = offline[0]
    others = [*failures, f"  {last_id}: {last.message}"]
    lead_line = next((f for f in failures if lead.message in f), None)
    others = [f for f in others if f is not lead_line]
    message = f"{lead.message}\n\nthe other sources failed too:\n" + "\n".join(others)
    return NoNetworkError(message, hint=lead.hint)


def _with_offline_ways(err: FetchError, dataset: str) -> FetchError:
    """Every way to download failed: the last hint also names the ways that need no
    network, whichever source failed last (a Kaggle token hint alone leaves an offline
    user stuck)."""
    ways = (
        f"without network, register a copy you have: `facedata fetch {dataset} --from PATH`, "
        "or serve files by sha256 with FACEDATA_MIRROR=URL"
    )
    if err.hint and "fetch ID --from" in err.hint:
        err.hint = err.hint.replace("fetch ID --from", f"fetch {dataset} --from")
    if "--from" not in (err.hint or ""):
        err.hint = f"{err.hint}; {ways}" if err.hint else ways
    return err
