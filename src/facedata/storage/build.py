"""`facedata build --out URL`: build in a local folder exactly as usual, then publish.

The build never learns it is remote: it runs into a private folder holding the
published record (in local form), so it keeps the corpus id and the erasure marks,
answers "up to date" for the same build and refuses a different one without
--overwrite, just as over a local corpus. Only a build that wrote something is
published; the registry then lists the URL (without credentials), not the folder.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from facedata.corpus.record import existing_corpus, place_record, read_stored, record_bytes
from facedata.corpus.registry import published_to
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.storage.layout import local_record
from facedata.storage.location import Location, is_remote, parse, redact
from facedata.storage.publishing import publish
from facedata.storage.remote import connect
from facedata.storage.stage import cache_root, forget_stale

RECIPE = "recipe.yaml"


def _seed(loc: Location, out: Path) -> bytes | None:
    """Write the published record (local form) into `out`; return what was written."""
    stored = read_stored(connect(loc), loc.url)
    if stored is None:
        return None
    local, _version, _files = local_record(stored[1], loc.url)
    return place_record(out, local)


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
        seeded = _seed(loc, out)
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
                publish(out, loc)
            except BaseException:
                # the folder is about to go, and its registry entry with it
                published_to(out, loc.url, loc.address, published=False)
                raise
            published_to(out, loc.url, loc.address, published=True)
            forget_stale(corpus_id, loc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
