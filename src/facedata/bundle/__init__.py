"""The citation bundle: how to cite, credit and license a corpus, next to its data.

`write_bundle` renders every file in memory first and only then writes them, each
atomically, so a failure leaves the previous bundle whole rather than half new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facedata.bundle import attribution, card, cff, croissant, licenses, references
from facedata.bundle.obligations import terms_and_obligations
from facedata.bundle.record import CorpusView, corpus_from_manifests, load_corpus, view
from facedata.files.atomic import atomic_write_text
from facedata.manifest.schema import Manifest

__all__ = [
    "CorpusView",
    "corpus_from_manifests",
    "load_corpus",
    "render_bundle",
    "terms_and_obligations",
    "write_bundle",
]


def render_bundle(
    out_dir: Path,
    corpus: dict[str, Any],
    manifests: dict[str, Manifest] | None = None,
    *,
    withhold_unsafe: bool = False,
) -> dict[str, str]:
    """Relative path -> text of every bundle file, without touching the disk."""
    v: CorpusView = view(corpus, out_dir, manifests, withhold_unsafe=withhold_unsafe)
    files = {
        "references.bib": references.render(v),
        "CITATION.cff": cff.render(v),
        "ATTRIBUTION.md": attribution.render(v),
        "croissant.json": croissant.render(v),
        "README.md": card.render(v),
    }
    files.update(licenses.render(v))
    return files


def _stale_licenses(out_dir: Path, keep: set[str]) -> list[Path]:
    """Per-dataset terms an earlier bundle wrote for datasets no longer in the corpus."""
    folder = out_dir / licenses.LICENSES_DIR
    stale = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        rel = f"{licenses.LICENSES_DIR}/{path.name}"
        if rel in keep:
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            if fh.readline().strip() == licenses.MARKER:
                stale.append(path)
    return stale


def write_bundle(
    out_dir: Path,
    corpus: dict[str, Any],
    manifests: dict[str, Manifest] | None = None,
    *,
    withhold_unsafe: bool = False,
) -> list[Path]:
    """Write the bundle for `corpus` into `out_dir`; return the paths written.

    `manifests` (id -> Manifest) only fill what the record lacks: the record says
    what a build actually used, so it wins. A citation that fails the BibTeX policy
    stops the write (facedata.files.sanitize.UnsafeTextError), unless `withhold_unsafe`:
    then it is left out and ATTRIBUTION.md says why (for `forget`, which must not be
    blocked by a damaged record).
    """
    out_dir = Path(out_dir)
    files = render_bundle(out_dir, corpus, manifests, withhold_unsafe=withhold_unsafe)
    written = []
    for rel, text in files.items():
        path = out_dir / rel
        atomic_write_text(path, text)
        written.append(path)
    for path in _stale_licenses(out_dir, set(files)):
        path.unlink()
    return written
