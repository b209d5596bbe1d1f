"""The registry of built corpora: which corpora exist, so `forget` can reach all of them.

A withdrawal must reach every copy of a person's rows, including corpora nobody
named on the command line. Each build records its output (absolute path, purpose,
datasets, creation time and policy date) in `$FACEDATA_HOME/corpora.json`, written
atomically under a lock, with the corpus's stable id (corpus.json `id`, a uuid4 that
copies and moves keep). A corpus no longer where it was registered (moved or deleted)
stays listed, and `forget` reports it: `facedata corpora find DIR` looks for corpora
under a folder by id and re-registers a moved one at its new place; `facedata corpora
drop ID` removes an entry for a corpus that was deleted on purpose. A report page
written outside its corpus (`facedata report DIR --out FILE`) carries thumbnails of
the rows, so its path is recorded with the corpus for `forget` to rewrite.

A corpus on object storage is registered by its URL (never with credentials). Whether
it is still there is known only by asking the store, so it is never "missing": `forget`
without paths stages and erases it; an erasure that could not reach the store is kept
with its entry as `pending`, and applied by the next `forget` that reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from filelock import FileLock

import facedata.files.jsontext as jsontext
from facedata.corpus.record import existing_corpus
from facedata.corpus.shards import CORPUS_JSON
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.paths import home
from facedata.project import from_project, home_project, in_project

REGISTRY_NAME = "corpora.json"


def registry_path() -> Path:
    return home() / REGISTRY_NAME


@dataclass(frozen=True)
class Registered:
    path: Path
    purpose: str
    datasets: tuple[str, ...]
    created: str
    policy_date: str | None = None
    reports: tuple[str, ...] = ()  # report pages written outside the corpus folder
    id: str | None = None  # corpus.json `id`; None for corpora built before ids
    url: str | None = None  # a corpus on object storage: its URL (then `path` is unused)
    pending: tuple[dict, ...] = ()  # erasures that could not reach the store yet
    address: str | None = None  # a remote corpus: its URL with the `?endpoint=` to reach it

    @property
    def reach(self) -> str:
        """What to open to reach the corpus: its folder, or its URL with its endpoint."""
        return self.address or self.where

    @property
    def where(self) -> str:
        """How the corpus is named: its URL, or its folder."""
        return self.url or str(self.path)

    @property
    def exists(self) -> bool:
        """The corpus is where it was registered (the same one, when it has an id); a
        remote corpus counts as there (only its store can say otherwise)."""
        if self.url is not None:
            return True
        if not (self.path / CORPUS_JSON).is_file():
            return False
        return self.id is None or corpus_id(self.path) == self.id

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "path": self.reach,
            "purpose": self.purpose,
            "datasets": list(self.datasets),
            "created": self.created,
            "policy_date": self.policy_date,
            "reports": list(self.reports),
            **({"pending": list(self.pending)} if self.pending else {}),
        }


def _lock() -> FileLock:
    home().mkdir(parents=True, exist_ok=True)
    return FileLock(str(home() / f".{REGISTRY_NAME}.guard"), timeout=60)


def read_registry() -> list[Registered]:
    """Every registered corpus, deleted ones included (check `.exists`)."""
    path = registry_path()
    if not path.is_file():
        return []
    try:
        raw = jsontext.loads(path.read_text(encoding="utf-8"))
        root = home_project(home())
        return [
            Registered(
                Path(e["path"] if url else from_project(e["path"], e.get("in_project"), root)),
                str(e.get("purpose") or "research"),
                tuple(e.get("datasets") or ()),
                str(e.get("created") or ""),
                e.get("policy_date"),
                tuple(str(r) for r in e.get("reports") or ()),
                e.get("id"),
                url,
                tuple(p for p in e.get("pending") or () if isinstance(p, dict)),
                _address(e["path"]) if url else None,
            )
            for e in raw["corpora"]
            for url in [_url(e["path"])]
        ]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise FacedataError(
            f"the corpus registry {path} is unreadable: {exc}",
            hint="it lists the corpora `forget` must reach; restore it from a backup, or delete "
            "it and name each corpus on the command line (`facedata forget --subject ID DIR...`); "
            "the next build re-registers its corpus",
        ) from None


def _url(path: object) -> str | None:
    """The URL a registry row names (without credentials), or None for a folder."""
    from facedata.storage.location import is_remote, shown

    return shown(str(path)) if isinstance(path, str) and is_remote(path) else None


def _address(value: object) -> str | None:
    """The URL a remote corpus is reached at: with its `?endpoint=`, never a credential."""
    from facedata.storage.location import is_remote, parse

    if not isinstance(value, str) or not is_remote(value):
        return None
    loc = parse(value)
    return loc.address if loc else None


def register(out: Path, corpus: dict) -> Registered:
    """Record (or refresh) the corpus built at `out`."""
    entry = Registered(
        Path(out).resolve(),
        str(corpus.get("purpose") or "research"),
        tuple(d["id"] for d in corpus.get("datasets") or []),
        str(corpus.get("created") or ""),
        corpus.get("policy_date"),
        id=corpus.get("id"),
    )
    with _lock():
        old = read_registry()
        pages = [page for r in old if r.path == entry.path for page in r.reports]
        entry = replace(entry, reports=tuple(dict.fromkeys(pages)))  # a rebuild keeps them
        # a missing corpus stays listed (forget reports it) unless this one is it, moved
        kept = [
            r
            for r in old
            if r.path != entry.path and (r.exists or not (entry.id and r.id == entry.id))
        ]
        _write([*kept, entry])
    return entry


def corpus_id(path: Path) -> str | None:
    """The `id` in a corpus folder's corpus.json, or None (no record, none, unreadable)."""
    found = existing_corpus(Path(path))
    return found.id if found is not None else None


def missing_corpora() -> list[Registered]:
    """Registered corpora no longer where they were registered: moved or deleted."""
    return [r for r in read_registry() if not r.exists]


def remote_corpora() -> list[Registered]:
    """Registered corpora on object storage."""
    return [r for r in read_registry() if r.url is not None]


FIND_LIMIT = 10_000  # folders visited per search: a search of `/` ends


def find_corpora(folder: Path, wanted: str | None = None) -> list[tuple[str | None, Path]]:
    """(id, path) of every corpus under `folder` (optionally only id `wanted`).

    Links are not followed, and the walk stops after FIND_LIMIT folders."""
    import os

    found: list[tuple[str | None, Path]] = []
    for seen, (here, dirs, files) in enumerate(os.walk(folder, followlinks=False)):
        if seen >= FIND_LIMIT:
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if CORPUS_JSON in files:
            cid = corpus_id(Path(here))
            if wanted is None or cid == wanted:
                found.append((cid, Path(here).resolve()))
            dirs[:] = []  # a corpus holds no corpora
    return found


def relocate(found: list[tuple[str | None, Path]]) -> list[tuple[Registered, Path]]:
    """Point missing registry entries at the found corpus with the same id."""
    moved = []
    with _lock():
        entries = read_registry()
        by_id = {cid: path for cid, path in found if cid}
        out = []
        for r in entries:
            if not r.exists and r.id and r.id in by_id:
                moved.append((r, by_id[r.id]))
                r = replace(r, path=by_id[r.id])
            out.append(r)
        if moved:
            _write(out)
    return moved


def drop(corpus_id_: str) -> list[Registered]:
    """Remove the missing entries with this id or registered path (a corpus deleted on
    purpose; corpora built before ids are named by path), or the entry of a remote
    corpus named by its exact URL (its store cannot be asked whether it is gone)."""
    with _lock():
        entries = read_registry()
        gone = [
            r
            for r in entries
            if (r.url is None and not r.exists and corpus_id_ in (r.id, str(r.path)))
            or (r.url is not None and r.url == _url(corpus_id_))
        ]
        if gone:
            _write([r for r in entries if r not in gone])
    return gone


def _write(entries: list[Registered]) -> None:
    root = home_project(home())
    rows = [
        {**r.to_dict(), "in_project": r.url is None and in_project(r.path, root)} for r in entries
    ]
    body = {"corpora": rows}
    atomic_write_text(registry_path(), json.dumps(body, indent=2) + "\n")


def add_report(corpus_dir: Path, page: Path) -> None:
    """Remember a report page written outside a registered corpus, for `forget`."""
    if _url(str(corpus_dir)):
        add_remote_report(str(corpus_dir), page, None)
        return
    corpus_dir, page = Path(corpus_dir).resolve(), Path(page).resolve()
    if page.parent == corpus_dir:
        return  # inside the corpus: forget rewrites it with the corpus
    _add_page(lambda r: r.url is None and r.path == corpus_dir, page)


def published_to(folder: Path, url: str, address: str, *, published: bool) -> None:
    """The corpus just built in the private `folder` now lives at `url` (reached at
    `address`): its entry names the URL, keeps the pages earlier entries of that URL
    listed, and drops their pending erasures (the build left out every withdrawn
    subject). Not `published`: the folder is about to go, and so is its entry."""
    folder = Path(folder).resolve()
    with _lock():
        if not registry_path().is_file():
            return
        entries = read_registry()
        if not published:
            entries = [r for r in entries if not (r.url is None and r.path == folder)]
        pages = tuple(dict.fromkeys(p for r in entries if r.url == url for p in r.reports))
        moved = [
            replace(r, path=Path(url), url=url, address=address, reports=pages, pending=())
            if r.url is None and r.path == folder
            else r
            for r in entries
        ]
        last = max((i for i, r in enumerate(moved) if r.url == url), default=-1)
        _write([r for i, r in enumerate(moved) if r.url != url or i == last])


def register_remote(url: str, corpus: dict) -> None:
    """Register the remote corpus at `url` (its record: `corpus`) unless it is already:
    a corpus reached from this home is one `forget` without paths must reach (at the
    endpoint it was reached at)."""
    address = _address(url)
    url = _url(url) or url
    with _lock():
        entries = read_registry()
        if any(r.url == url for r in entries):
            if address and address != url:  # the store it is reached at now
                _write([replace(r, address=address) if r.url == url else r for r in entries])
            return
        sets = corpus.get("datasets") or []
        entry = Registered(
            Path(url),
            str(corpus.get("purpose") or "research"),
            tuple(str(d.get("id")) for d in sets if isinstance(d, dict)),
            str(corpus.get("created") or ""),
            corpus.get("policy_date"),
            id=corpus.get("id") if isinstance(corpus.get("id"), str) else None,
            url=url,
            address=address,
        )
        _write([*entries, entry])


def add_remote_report(url: str, page: Path, corpus: dict | None) -> None:
    """Remember a report page of the remote corpus at `url`, for `forget`; a corpus not
    registered here yet is registered with it (from `corpus`, its record), so `forget`
    without paths reaches the corpus and the page from this home too."""
    given, url, page = url, _url(url) or url, Path(page).resolve()
    if corpus is not None:
        register_remote(given, corpus)
    _add_page(lambda r: r.url == url, page)


def _add_page(names: Callable[[Registered], bool], page: Path) -> None:
    """List `page` with the entry `names` picks; an unknown corpus (one built under
    another home, whose own registry is out of reach) gets nothing."""
    with _lock():
        entries = read_registry()
        if not any(names(r) for r in entries):
            return
        _write(
            [
                replace(r, reports=tuple(dict.fromkeys([*r.reports, str(page)]))) if names(r) else r
                for r in entries
            ]
        )


def set_pending(url: str, pending: list[dict]) -> None:
    """Replace the erasures waiting for the remote corpus at `url` (registering it,
    from the first erasure's mark, when this home does not know it yet)."""
    address = _address(url)
    url = _url(url) or url
    with _lock():
        entries = read_registry()
        if not any(r.url == url for r in entries):
            if not pending:
                return
            entries.append(Registered(Path(url), "research", (), "", url=url, address=address))
        _write([replace(r, pending=tuple(pending)) if r.url == url else r for r in entries])


def pending_of(url: str) -> list[dict]:
    """Erasures recorded for the remote corpus at `url` that have not reached it yet."""
    url = _url(url) or url
    return [p for r in read_registry() if r.url == url for p in r.pending]


def reports_of(corpus_dir: Path | str) -> list[Path]:
    """Report pages written outside `corpus_dir` (a folder or a URL) that still exist."""
    url = _url(str(corpus_dir))
    corpus_dir = Path(corpus_dir).resolve() if url is None else Path(corpus_dir)
    return [
        Path(page)
        for r in read_registry()
        if (r.url == url if url else r.url is None and r.path == corpus_dir)
        for page in r.reports
        if Path(page).is_file()
    ]


def live_corpora() -> list[Registered]:
    """Registered local corpora that still exist on disk."""
    return [r for r in read_registry() if r.url is None and r.exists]
