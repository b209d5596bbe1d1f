"""Use a corpus on object storage as a local folder: staged in, and published back.

`facedata report`, `cite`, `forget` and `train` work on folders. A remote corpus is
copied (record first, then exactly the files it names, each checked against the size
and hash the record gives) into `$FACEDATA_HOME/remote/ID-HASH`, keyed by the corpus
id and the record's own hash, so a second read of the same version downloads nothing
and a new version never reads a stale copy. A command that changes the corpus
(`forget`, `cite`) works on a private copy that is published back as a new version,
and the staged copies of older versions are deleted then: they hold rows that were
just erased.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import facedata.files.confine as confine
from facedata.corpus.record import (
    CorpusError,
    existing_corpus,
    parse_record,
    place_record,
    read_stored,
)
from facedata.corpus.shards import CORPUS_JSON
from facedata.errors import FacedataError
from facedata.paths import home
from facedata.storage.layout import local_record, root_of
from facedata.storage.location import Location, StorageError, is_remote, parse, shown
from facedata.storage.publishing import publish
from facedata.storage.remote import Store, connect, digest

MAX_FILE = 256 * 1024 * 1024  # a non-shard file (README, report page, licenses)
ATTEMPTS = 2  # a record replaced while its files were read is read again, once
READY = ".staged"


def cache_root() -> Path:
    return home() / "remote"


def _fetch_record(store: Store) -> tuple[bytes, dict[str, Any]]:
    stored = read_stored(store, store.loc.url)
    if stored is None:
        raise CorpusError(
            f"{store.loc.url} is not a facedata corpus (no {CORPUS_JSON})",
            hint="pass the URL `facedata build --out` published to",
        )
    return stored


def _fetch_file(store: Store, key: str, dest: Path, size: int | None, sha256: str | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    limit = size if size is not None else MAX_FILE
    h = hashlib.sha256()

    class _Hashing:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, block: bytes) -> None:
            h.update(block)
            self.fh.write(block)

    with open(dest, "xb") as fh:
        try:
            got = store.download(key, _Hashing(fh), limit)  # type: ignore[arg-type]
        except StorageError as exc:  # gone: a publish replaced this version meanwhile
            raise _Changed(exc.message) from None
    if (size is not None and got != size) or (sha256 and h.hexdigest() != sha256):
        raise _Changed(f"{store.loc.url}/{key} does not match the record")


class _Changed(Exception):
    """A file differs from what the record says: replaced meanwhile, or damaged."""


def _check_room(record: Any, files: list[dict], where: str) -> None:
    """Refuse, before downloading, a corpus that would not fit: the sizes come from a
    record anyone with write access to the bucket may have written."""
    need = sum(int(s.bytes or 0) for s in record.shards) + sum(int(f["bytes"]) for f in files)
    free = shutil.disk_usage(cache_root()).free
    if need > free:
        raise StorageError(
            f"{where} is {need:,} bytes, more than the {free:,} free under {cache_root()}",
            hint="free some space, or point FACEDATA_HOME at a larger disk",
        )


def _stage_once(store: Store) -> Path:
    raw, remote = _fetch_record(store)
    where = store.loc.url
    data, version, files = local_record(remote, where)
    record = parse_record(data, where)  # the same checks as a local corpus
    name = f"{_family(record.id, store.loc)}-{digest(raw)}"
    confine.check_name(name, "corpus id")
    target = cache_root() / name
    if (target / READY).is_file():
        return target
    cache_root().mkdir(parents=True, exist_ok=True)
    _check_room(record, files, where)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache_root()))
    try:
        root = root_of(version)
        for shard in record.shards:
            dest = confine.inside(tmp, tmp / shard.path, f"shard {shard.path}")
            _fetch_file(store, f"{root}/{shard.path}", dest, shard.bytes, shard.sha256)
        for item in files:
            dest = confine.inside(tmp, tmp / item["path"], f"file {item['path']}")
            size = min(int(item["bytes"]), MAX_FILE)
            _fetch_file(store, f"{root}/{item['path']}", dest, size, item.get("sha256"))
        place_record(tmp, data)
        (tmp / READY).write_text(where + "\n", encoding="utf-8")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / READY).is_file():  # not another reader staging the same
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def stage(loc: Location) -> Path:
    """A local, complete, checked copy of the corpus at `loc` (shared: read only)."""
    store = connect(loc)
    for attempt in range(ATTEMPTS):
        try:
            return _stage_once(store)
        except _Changed as exc:
            if attempt + 1 == ATTEMPTS:
                raise CorpusError(
                    f"{loc.url} changed or is damaged: {exc}",
                    hint="if a publish was running, run the command again; else publish the "
                    "corpus again",
                ) from None
    raise AssertionError("unreachable")


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    from facedata.corpus.shards import file_sha256

    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, file_sha256(p))
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    }


def _family(corpus_id: str | None, loc: Location) -> str:
    """The first part of a staged copy's name: the corpus id, or (a corpus from before
    ids) a hash of where it lives; every version of one corpus shares it."""
    if corpus_id and re.fullmatch(r"[A-Za-z0-9-]{1,64}", corpus_id):
        return corpus_id
    return "url-" + hashlib.sha256(loc.url.encode()).hexdigest()[:16]


def forget_stale(corpus_id: str | None, loc: Location) -> None:
    """Delete every staged copy of a corpus (after it was rewritten: they may hold rows
    that were just erased)."""
    if not cache_root().is_dir():
        return
    for folder in cache_root().glob(f"{_family(corpus_id, loc)}-*"):
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def local_corpus(
    value: str | Path | None,
    *,
    writeback: bool = False,
    purge: bool = False,
    left: list[str] | None = None,
) -> Iterator[Any]:
    """`value` itself when it is local (or None); else a staged copy of the remote corpus.

    With `writeback`, the copy is private and, if the body changed it, published back
    as a new version when the body returns without an error (`purge` and `left`: as
    for `publish`)."""
    loc = parse(value) if is_remote(value) else None
    if loc is None:
        yield value
        return
    shared = stage(loc)
    if not writeback:
        with _named_as(shared, loc):
            yield shared
        return
    work = Path(tempfile.mkdtemp(prefix=".work.", dir=cache_root()))
    try:
        copy = work / "corpus"
        shutil.copytree(shared, copy, ignore=shutil.ignore_patterns(READY))
        before = _snapshot(copy)
        with _named_as(copy, loc):
            yield copy
        if copy.is_dir() and _snapshot(copy) != before:
            # only over the version it was made from (else Conflict: a newer one is kept)
            publish(copy, loc, base=shared.name.rsplit("-", 1)[-1], purge=purge, left=left)
            existing = existing_corpus(copy)
            forget_stale(existing.id if existing else None, loc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _named_as(folder: Path, loc: Location) -> Iterator[None]:
    """An error raised about the staged `folder` names the URL instead: the user acts
    on the corpus they named (`facedata forget ... s3://...`), not on a private copy."""
    try:
        yield
    except FacedataError as exc:
        exc.message = exc.message.replace(str(folder), loc.url)
        exc.hint = exc.hint and exc.hint.replace(str(folder), loc.url)
        raise


def as_named(files: list[Path], staged: Path, given: str | Path) -> list[Any]:
    """`files` written in a staged copy, named where they are now on the store: under
    the version the corpus's record names (read after the copy was published back);
    unchanged for a local corpus."""
    if not is_remote(given):
        return files
    from facedata.storage.publishing import current_version

    loc = parse(given)
    assert loc is not None
    version = current_version(connect(loc))
    base = f"{loc.url}/{root_of(version)}" if version else loc.url
    named = []
    for f in files:
        rel = Path(f).relative_to(staged).as_posix()
        named.append(f"{loc.url}/{rel}" if rel == CORPUS_JSON else f"{base}/{rel}")
    return named


class Staged(list):
    """The local folders of a list of corpora, remembering which stand for a URL."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        super().__init__(local for _, local in pairs)
        self.urls = {str(local): shown(given) for given, local in pairs if is_remote(given)}

    def named(self, text: str) -> str:
        """`text` (a staged folder's path) as the user named it: the URL, if remote."""
        return self.urls.get(str(text), str(text))


@contextmanager
def local_corpora(values: list[Path] | None, *, writeback: bool = True) -> Iterator[Staged]:
    """`local_corpus` for a list: every remote one staged, all published back at the end."""
    with ExitStack() as stack:
        yield Staged(
            [(v, stack.enter_context(local_corpus(v, writeback=writeback))) for v in values or []]
        )
