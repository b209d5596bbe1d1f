"""Read the start of a staged delivery with its own reader before it is registered.

File names and hashes cannot tell a right delivery from a wrong one when the
manifest's hashes are unverified (a third-party size and sha256, kept as a note on a
mismatch): any archive renamed `genki4k.tar` would be registered, and the build would
then make a mislabelled corpus. So the reader that the build will use reads the first
samples of the staged tree, and the first label codes go through the manifest's label
map. A tree the reader cannot open, where it finds no image, or whose codes the label
map does not know, is refused before anything is published. So is a tree where some
codes are known and others are not (class folders 0-6 given to a map of 1-7): the
known ones would then be read under another numbering, every label wrong.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from facedata.errors import FetchError, ReaderError
from facedata.label.remap import remap
from facedata.manifest.schema import Manifest, Source
from facedata.read.sample import Drop, FileImage, Sample
from facedata.vocabulary import HEADS

PROBE_ITEMS = 200  # samples and drops read from the start of the tree


def probe_delivery(manifest: Manifest, src: Source, tree: Path, given: Path) -> None:
    """Refuse a staged tree whose first samples the build could not use, saying why."""
    from facedata.label.taxonomy import load_taxonomy
    from facedata.read import read_source
    from facedata.read.registry import _listing

    what = f"{manifest.id} [{src.id}]"
    samples = labelled = 0
    drops: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    taxonomy = load_taxonomy()
    try:
        for n, item in enumerate(read_source(manifest, src, tree)):
            if n >= PROBE_ITEMS or labelled >= 20:
                break
            if isinstance(item, Drop):
                drops[item.reason] += 1
            elif isinstance(item, Sample):
                samples += 1
                if isinstance(item.image, FileImage) and not Path(item.image.path).is_file():
                    drops["image file missing"] += 1
                    continue
                out = remap(item, manifest.labels_for(src), taxonomy)
                if isinstance(out, Drop):
                    unmapped[out.reason] += 1
                else:
                    labelled += 1
    except ReaderError as exc:
        shown = exc.message.replace(f"{tree}/", "").replace(str(tree), given.name)
        shown = shown.replace(f"{manifest.id}: ", "", 1)
        raise FetchError(
            f"{given} is not a copy {what} can read: {shown}; found at its top: {_listing(tree)}",
            hint=(exc.hint or "").replace(f"{tree}/", "").replace(str(tree), given.name)
            or "pass the archive or folder of this dataset as its publisher ships it",
        ) from None
    unknown = Counter({r: c for r, c in unmapped.items() if r.startswith("unmapped ")})
    # a code seen once among many known ones is a stray line (a typo, a damaged row: the
    # build counts it as a drop); a code seen twice or more is a class of its own that
    # this label map does not number, so the known codes would be read wrongly
    strays = sum(unknown.values())
    stray = all(n == 1 for n in unknown.values()) and strays * 10 < labelled + strays
    if labelled and (not unknown or stray):
        return
    if labelled:
        _refuse_mixed_codes(manifest, src, given, tree, what, labelled, unknown)
    found = [f"{c} x {r}" for r, c in (drops + unmapped).most_common(3)]
    detail = f"it read {samples} image(s) and no labelled sample"
    if found:
        detail += f" ({'; '.join(found)})"
    hint = (
        "is it the right file? Check that the archive or folder is this dataset "
        f"({manifest.name}); a different dataset renamed to its file name is refused"
    )
    if _bare_numbers(manifest, src, unmapped):
        hint = (
            "its labels are bare class numbers and nothing in the copy names the classes "
            "(no ClassLabel in the files or the card), while the label map is by name: "
            "guessing the order would risk every label, so write a manifest for this copy "
            "that names them (`facedata manifest new --hf OWNER/NAME --from FOLDER`, then "
            "format.options.names from the uploader's card or code) and pass it with "
            "--manifests"
        )
    raise FetchError(
        f"{given} does not hold what {what} expects: {detail}; found at its top: {_listing(tree)}",
        hint=hint,
    )


def _bare_numbers(manifest: Manifest, src: Source, unmapped: Counter[str]) -> bool:
    """A Parquet copy whose every unknown code is an integer while the map knows only
    names (a label column written without its ClassLabel)."""
    if manifest.format_for(src).reader != "hfparquet":
        return False
    codes = [r.rsplit(" ", 1)[-1].strip("'") for r in unmapped if r.startswith("unmapped ")]
    labels = manifest.labels_for(src)
    known = [c for h in HEADS if (m := getattr(labels, h)) for c in m.codes]
    return bool(codes) and all(c.isdigit() for c in codes) and not any(k.isdigit() for k in known)


def matching_sources(
    manifest: Manifest, src: Source, tree: Path, given: Path, limit: int = 4
) -> list[tuple[Manifest, Source]]:
    """Other sources whose reader reads `tree`: this manifest's, else the catalog's.

    A refused delivery is often the right data in another copy's shape (a Hugging Face
    Parquet snapshot passed to the official source): naming the sources whose reader
    does read it sends the person the right way, instead of to format options. The
    manifest's own sources are tried first; only when none reads it are the other
    manifests tried, and every one that reads it is named (several mirrors read by name
    may read the same shape: the person picks the one the copy is).
    """
    from facedata.manifest.catalog import Catalog

    own = _readers_of(tree, given, [(manifest, s) for s in manifest.sources if s.id != src.id])
    if own:
        return own[:1]
    try:
        others = [m for m in Catalog.load() if m.id != manifest.id]
    except Exception:  # a broken manifest elsewhere must not hide the first error
        return []
    return _readers_of(tree, given, [(m, s) for m in others for s in m.sources])[:limit]


def _readers_of(
    tree: Path, given: Path, candidates: list[tuple[Manifest, Source]]
) -> list[tuple[Manifest, Source]]:
    from facedata.fetch.manual import check_delivery

    found = []
    for m, s in candidates:
        if s.is_own_data:
            continue
        try:
            check_delivery(m, s, tree, given, set(), [], None)
        except Exception:  # another reader on a stranger's tree: any failure is "no"
            continue
        found.append((m, s))
    return found


def _refuse_mixed_codes(
    manifest: Manifest,
    src: Source,
    given: Path,
    tree: Path,
    what: str,
    labelled: int,
    unmapped: Counter[str],
) -> None:
    """Refuse a tree whose first codes the label map only partly knows.

    Every seed manifest maps (or drops by name) each code its dataset uses, so an
    unknown code beside known ones is another copy's numbering or class order, not
    noise: read anyway, its known codes would carry the wrong labels.
    """
    from facedata.read.registry import _listing

    labels = manifest.labels_for(src)
    known = sorted({c for head in HEADS if (m := getattr(labels, head)) for c in m.codes})
    found = "; ".join(f"{c} x {r}" for r, c in unmapped.most_common(4))
    raise FetchError(
        f"{given} does not hold what {what} expects: of the first samples, {labelled} have "
        f"codes the label map knows and others do not ({found}); the map's codes are "
        f"{', '.join(known)}; found at its top: {_listing(tree)}",
        hint="this copy numbers or names its classes another way, so the known codes would "
        "be read with the wrong labels: check which copy it is (`--source`), or describe it "
        "in a manifest of its own (`facedata manifest new --folder DIR`, then "
        "`facedata manifest validate FILE`)",
    )
