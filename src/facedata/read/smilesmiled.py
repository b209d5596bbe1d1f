"""hromi/SMILEsmileD: SMILEs/positives/positives7/*.jpg and SMILEs/negatives/negatives7/*.jpg.

The code of a sample is its class folder name (`positives7` / `negatives7`).
The same picture appears in both classes (7 names, 5 byte-identical): a training
set with one image labelled both ways teaches nothing but noise, so every copy of
an image whose bytes occur in both classes is dropped as a conflicting duplicate.
Same name with different bytes is two different pictures and both are kept. This
needs one hashing pass over ~13k small files before yielding, which is cheap.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import SmilesmiledOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import is_image, rel
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample


def _sha256(path: Path) -> str:
    from facedata.storage.cacheview import listed_sha256  # a view's images: from the listing

    return listed_sha256(path) or hashlib.sha256(path.read_bytes()).hexdigest()


@register(SmilesmiledOptions)
def read_smilesmiled(
    manifest: Manifest, source: Source, root: Path, options: SmilesmiledOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    class_dirs = options.classes
    files: list[tuple[str, Path]] = []
    for sub in class_dirs:
        folder = root / sub
        if not folder.is_dir():
            raise ReaderError(
                f"{ds}: class folder {folder} not found",
                hint="format.root should point at SMILEs/ (with positives/ and negatives/)",
            )
        code = Path(sub).name
        files += [(code, p) for p in sorted(folder.iterdir()) if is_image(p)]
    classes_of: dict[str, set[str]] = defaultdict(set)
    digests: dict[Path, str] = {}
    for code, path in files:
        digests[path] = _sha256(path)
        classes_of[digests[path]].add(code)
    for code, path in files:
        key = rel(path, root)
        seen_in = classes_of[digests[path]]
        if len(seen_in) > 1:
            yield Drop(
                ds,
                "conflicting duplicate",
                key,
                f"byte-identical image labelled {' and '.join(sorted(seen_in))}",
            )
            continue
        yield Sample(ds, key, FileImage(path), {"smile": code}, where=key)
