"""`facedata build --out URL`: build in a local folder exactly as usual, then publish.

The build never learns it is remote: it runs into a private folder holding the
published record (in local form), so it keeps the corpus id and the erasure marks,
answers "up to date" for the same build and refuses a different one without
--overwrite, just as over a local corpus. Only a build that wrote something is
published; the registry then lists the URL (without credentials), not the folder.

Publishing commits only over the record the build started from (or, for a new corpus,
only where there is still none): an erasure made meanwhile from another machine
(`forget` on the URL) is never overwritten by a build that read the corpus before it.
On such a conflict the build takes every erasure the newer record carries, applies it
to what it built, and publishes again over that record.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facedata.corpus.record import (
    NEW,
    existing_corpus,
    place_record,
    read_stored,
    record_bytes,
)
from facedata.corpus.registry import published_to
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.storage.layout import local_record
from facedata.storage.location import Location, is_remote, parse, redact
from facedata.storage.publishing import publish
from facedata.storage.remote import Conflict, connect, digest
from facedata.storage.stage import cache_root, forget_stale

RECIPE = "recipe.yaml"
ATTEMPTS = 5  # publishes raced by another writer before the build gives up


def _seed(loc: Location, out: Path) -> tuple[bytes | None, str]:
    """Write the published record (local form) into `out`; return what was written,
    and the base a publish must commit over (`NEW` where the store holds none)."""
    stored = read_stored(connect(loc), loc.url)
    if stored is None:
        return None, NEW
    local, _version, _files = local_record(stored[1], loc.url)
    return place_record(out, local), digest(stored[0])


def _mark_key(mark: dict[str, Any]) -> str:
    """An erasure mark as it is recognised again (its row count differs per corpus)."""
    import json

    return json.dumps({k: v for k, v in mark.items() if k != "rows_removed"}, sort_keys=True)


def _catch_up(out: Path, loc: Location) -> str:
    """Apply to the built corpus `out` every erasure the store's record now carries
    that `out` lacks; return the base to publish over next."""
    from facedata.consent.forget import erase_mark

    stored = read_stored(connect(loc), loc.url)
    if stored is None:
        return NEW
    mine = existing_corpus(out)
    have = {_mark_key(m) for m in (mine.marks if mine else [])}
    theirs = stored[1].get("forgotten")
    for mark in theirs if isinstance(theirs, list) else []:
        if isinstance(mark, dict) and _mark_key(mark) not in have:
            erase_mark(out, mark)
            have.add(_mark_key(mark))
    return digest(stored[0])


def publish_built(out: Path, loc: Location, base: str) -> None:
    """Publish the built corpus `out` over the record `base` names; a record written
    meanwhile (an erasure, another build) is caught up with, then published over."""
    for attempt in range(ATTEMPTS):
        try:
            publish(out, loc, base=base)
            return
        except Conflict:
            if attempt + 1 == ATTEMPTS:
                raise
            base = _catch_up(out, loc)


def named(recipe: Any) -> Any:
    """`recipe` with a remote --out written as its URL (a path option made `s3://b/k`
    into `s3:/b/k`), keeping the `?endpoint=` it is reached at; a URL carrying
    credentials is refused here, before anything is built or written."""
    if not is_remote(recipe.out):
        return recipe
    loc = parse(recipe.out)
    assert loc is not None
    return recipe.model_copy(update={"out": loc.address})


@contextmanager
def build_target(recipe: Any) -> Iterator[Any]:
    """`recipe` itself for a local --out; for a URL, a copy building into a private
    folder, published to the URL when the build returns having written a corpus."""
    loc = parse(recipe.out) if is_remote(recipe.out) else None
    if loc is None:
        yield recipe
        return
    cache_root().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build.", dir=cache_root()))
    out = work / "corpus"
    try:
        seeded, base = _seed(loc, out)
        try:
            yield recipe.model_copy(update={"out": out})
        except FacedataError as exc:  # name the URL, not the private folder
            exc.message = redact(exc.message.replace(str(out), loc.url))
            exc.hint = exc.hint and redact(exc.hint.replace(str(out), loc.url))
            raise
        written = record_bytes(out)
        if written is not None and written != seeded:
            if (out / RECIPE).is_file() and hasattr(recipe, "to_yaml"):
                # the recipe that rebuilds it names the URL, not the private folder
                atomic_write_text(out / RECIPE, named(recipe).to_yaml())
            existing = existing_corpus(out)
            corpus_id = existing.id if existing else None
            try:
                publish_built(out, loc, base)
            except BaseException:
                # the folder is about to go, and its registry entry with it
                published_to(out, loc.url, loc.address, published=False)
                raise
            published_to(out, loc.url, loc.address, published=True)
            forget_stale(corpus_id, loc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
