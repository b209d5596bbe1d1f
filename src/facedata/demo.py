"""`facedata demo`: the whole main job, offline, on a small sample in GENKI-4K's layout.

A new user should see a real corpus and its report before finding, requesting and
downloading a dataset. The sample is written in GENKI-4K's native layout
(`GENKI4K/files/fileNNNN.jpg` + `labels.txt` with `smile yaw pitch roll` lines,
smiles first) from real face photos that ship inside installed wheels, packed as a
tar like the real download, described by its own manifest, registered with the same
code as `fetch --from`, built and reported with the same code as `build` and `report`.

Beside it, the demo writes an own-data project in miniature (`own-data/`): four
pseudonymous participants, both label heads, and a consent register in which one
participant consented to research only, one will withdraw, and one gave no
publication consent. The research corpus holds both sources; a commercial build of
the same list refuses the public sample and every participant without commercial
consent, so `forget`, `build --commercial` and `report` have something to show.

Everything lives under one folder: the "download", the manifests, a private cache
(FACEDATA_HOME for the demo only, so the user's cache is never touched; commands run
inside the folder find it through its `facedata.toml`) and the corpora. Deleting that
folder undoes the demo.

The smile labels are illustrative: the faces of scikit-image's `lfw_subset` carry no
expression labels, so each was judged by eye (see SMILE_RULE) and the judgements are
fixed in LFW_SMILES below. Head pose is unknown for these photos and is written as
`nan`, which the GENKI reader reads as a float like any other.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facedata.errors import FacedataError
from facedata.files.atomic import ordinary_mode

DATASET_ID = "facedata-demo"
OWN_ID = "own-data"
TAR_NAME = "genki4k-sample.tar"
MARKER = "demo.json"
SMILE_RULE = (
    "1 when a smile is clearly visible (mouth corners raised, lips closed or teeth "
    "showing); 0 otherwise, including every unclear case"
)
# One character per face of skimage.data.lfw_subset()[:100], in order, judged by eye
# at 200x200 with SMILE_RULE: 32 smiles, 68 non-smiles.
LFW_SMILES = (
    "0100000000"
    "1100000011"
    "0111000100"
    "0100001110"
    "0000010100"
    "1011000000"
    "0101000001"
    "0000110001"
    "0110010001"
    "0101101000"
)
# The two large portraits: Grace Hopper's closed-lip expression is not clearly a
# smile (0); astronaut Eileen Collins smiles with teeth showing (1).
PORTRAIT_SMILES = {"grace_hopper": "0", "astronaut": "1"}

Say = Callable[[str], None]


class DemoError(FacedataError):
    """The demo cannot run where it was asked to."""


@dataclass(frozen=True)
class Photo:
    name: str  # where it came from, recorded in the sample's README
    smile: str
    image: Image.Image


@dataclass(frozen=True)
class Participant:
    """One pseudonymous participant of the demo's own-data project."""

    subject_id: str
    scopes: str  # the consent register's `scopes` cell
    story: str  # what the demo shows with them
    faces: tuple[int, ...]  # indices into lfw_subset() (mirrored: not the sample's copies)


# The four participants; the faces are LFW photos mirrored, so they are new images to
# the deduplicator and stand for "frames of one person" only for illustration.
PARTICIPANTS = (
    Participant("P01", "research;commercial;publication", "consents to everything", (1, 10, 11)),
    Participant("P02", "research", "research only: a commercial build leaves them out", (3, 4, 5)),
    Participant(
        "P03",
        "research;commercial;publication",
        "consents, then withdraws: `facedata forget --subject P03`",
        (8, 9, 12),
    ),
    Participant(
        "P04",
        "research;commercial",
        "no publication consent: keep their faces out of anything published",
        (21, 22, 26),
    ),
)
# The expression head is judged on its own, by eye, never derived from the smile column:
# a smile is a visible expression, "happy" an emotion label (face 12 smiles politely and
# is labelled neutral).
OWN_EXPRESSIONS = {
    1: "happy", 10: "happy", 11: "happy",
    3: "neutral", 4: "neutral", 5: "neutral",
    8: "neutral", 9: "neutral", 12: "neutral",
    21: "happy", 22: "happy", 26: "neutral",
}  # fmt: skip
CONSENT_SIGNED = "2025-01-10"
# Illustrative only: a commercial build also needs the face detector's weights cleared
# (RetinaFace learnt from WIDER FACE, research terms); a real clearance names who
# reviewed what evidence.
DEMO_CLEARANCE = """\
# Illustrative, written by `facedata demo`: NOT a legal review. A commercial build
# needs every source and the face detector's weights cleared for commercial use;
# your own participants are admitted one by one by their consent register.
clearances:
  - detector: retinaface-mnet025
    cleared_by: facedata demo (illustration only)
    evidence: none - this file only shows where a real clearance goes
    expires: {expires}
"""


@dataclass
class DemoResult:
    root: Path
    tar: Path
    manifests: Path
    home: Path
    corpus: Path
    report: Path
    record: dict
    images: int
    smiles: int
    own: Path | None = None
    commercial: Path | None = None
    commercial_record: dict | None = None
    clearances: Path | None = None


# -- the sample


def photos() -> list[Photo]:
    """The 102 real faces, each with its illustrative smile label."""
    from matplotlib import cbook
    from skimage import data

    faces = data.lfw_subset()[:100]  # the first 100 are faces, the rest background
    out = []
    for i, (face, smile) in enumerate(zip(faces, LFW_SMILES, strict=True)):
        arr = np.asarray(face)
        if arr.dtype != np.uint8:  # older scikit-image returns floats in [0, 1]
            arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
        # GENKI's images vary in size; the 25x25 crops are enlarged to 96..143 px
        side = 96 + (i * 13) % 48
        img = Image.fromarray(arr, "L").resize((side, side), Image.Resampling.LANCZOS)
        out.append(Photo(f"skimage.data.lfw_subset()[{i}]", smile, img))
    hopper = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with Image.open(hopper) as im:
        grace = im.convert("RGB")
    out.append(Photo("matplotlib grace_hopper.jpg", PORTRAIT_SMILES["grace_hopper"], grace))
    astronaut = Image.fromarray(data.astronaut(), "RGB")
    out.append(Photo("skimage.data.astronaut()", PORTRAIT_SMILES["astronaut"], astronaut))
    return out


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 1238544000  # 2009-04-01, GENKI-R2009a; fixed so the tar is reproducible
    tf.addfile(info, io.BytesIO(data))


def write_sample(tar_path: Path, sample: list[Photo]) -> None:
    """The sample as GENKI-4K ships: one tar, `GENKI4K/` inside, labels sorted smiles first."""
    ordered = [p for p in sample if p.smile == "1"] + [p for p in sample if p.smile != "1"]
    lines, sources = [], []
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tf:
        for n, photo in enumerate(ordered, 1):
            _add(tf, f"GENKI4K/files/file{n:04d}.jpg", _jpeg(photo.image))
            lines.append(f"{photo.smile} nan nan nan\n")
            sources.append(f"file{n:04d}.jpg  {photo.name}\n")
        _add(tf, "GENKI4K/labels.txt", "".join(lines).encode())
        _add(tf, "GENKI4K/README.txt", (_readme() + "".join(sources)).encode())


def _readme() -> str:
    return (
        "facedata demo sample in the layout of the MPLab GENKI-4K dataset.\n"
        "NOT GENKI-4K: real faces shipped in scikit-image (lfw_subset, astronaut) and\n"
        "matplotlib (grace_hopper.jpg). Line N of labels.txt labels files/fileNNNN.jpg\n"
        "as `smile yaw pitch roll`. Smile labels are illustrative, judged by eye:\n"
        f"{SMILE_RULE}. Head pose is unknown for these photos: nan.\n\nfile  origin\n"
    )


# -- the own-data project


def write_own_data(folder: Path, manifests: Path) -> Path:
    """Four participants' photos, annotations.csv, consent.csv and their manifest."""
    from skimage import data

    from facedata.consent.owndata import new_local_manifest

    faces = data.lfw_subset()
    images = folder / "images"
    images.mkdir(parents=True)
    lines = ["file,subject_id,start,end,smile,expression"]
    for p in PARTICIPANTS:
        for n, i in enumerate(p.faces, 1):
            arr = np.asarray(faces[i])
            if arr.dtype != np.uint8:
                arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
            side = 112 + 9 * n
            img = Image.fromarray(arr[:, ::-1].copy(), "L").resize(
                (side, side), Image.Resampling.LANCZOS
            )
            name = f"images/{p.subject_id}_{n:02d}.jpg"
            (folder / name).write_bytes(_jpeg(img))
            smile = LFW_SMILES[i]
            lines.append(f"{name},{p.subject_id},,,{smile},{OWN_EXPRESSIONS[i]}")
    (folder / "annotations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = [["subject_id", "scopes", "signed", "withdrawn", "notes"]]
    rows += [[p.subject_id, p.scopes, CONSENT_SIGNED, "", p.story] for p in PARTICIPANTS]
    _write_csv(folder / "consent.csv", rows)
    (folder / "README.txt").write_text(_own_readme(), encoding="utf-8")
    path = new_local_manifest(
        folder, OWN_ID, name="facedata demo participants", out=manifests / f"{OWN_ID}.yaml"
    )
    text = path.read_text(encoding="utf-8")
    # LFW crops are tight, like the sample's: pad and upscale before detecting
    path.write_text(
        text.replace("  align: detect\n", "  align: detect\n  precropped: true\n"), encoding="utf-8"
    )
    return path


def _own_readme() -> str:
    who = "".join(f"  {p.subject_id}  {p.scopes:<32} {p.story}\n" for p in PARTICIPANTS)
    return (
        "An own-data project in miniature, written by `facedata demo`.\n"
        "images/           the participants' photos (mirrored LFW faces, for illustration)\n"
        "annotations.csv   file,subject_id,start,end,smile,expression (start/end: seconds,\n"
        "                  for videos; empty for images)\n"
        "consent.csv       subject_id,scopes,signed,withdrawn[,notes]: pseudonymous ids only\n"
        "\nparticipants (smile judged by eye; expression follows it, for illustration):\n" + who
    )


# -- the manifest


def manifest_yaml(tar_size: int, tar_sha256: str) -> str:
    """The sample's own manifest: what it is, its terms, and the tar it was written as."""
    return f"""\
# Written by `facedata demo`. A sample of research data for trying facedata; it is
# not GENKI-4K and its smile labels are illustrative.
id: {DATASET_ID}
name: facedata demo sample (GENKI-4K layout)
version: "1"
homepage: https://vis-www.cs.umass.edu/lfw/
description: >
  102 real face photos laid out like GENKI-4K (files/fileNNNN.jpg + labels.txt,
  `smile yaw pitch roll`, smiles first): the 100 faces of scikit-image's lfw_subset
  (25x25 grey crops from Labeled Faces in the Wild, enlarged to 96-143 px), matplotlib's
  grace_hopper.jpg and scikit-image's astronaut. The smile labels are illustrative:
  the photos carry no expression labels, so each was judged by eye by the facedata
  maintainers ({SMILE_RULE}). Head pose is unknown (nan). Use it to see facedata work,
  never to train or evaluate a model.
tasks: [smile]
images: 102
license:
  id: LicenseRef-facedata-demo-sample
  tier: unknown
  derivatives: unknown
  redistribution: unknown
  terms_url: https://vis-www.cs.umass.edu/lfw/
  notes: >
    A sample of research data, under the terms of its parts. The LFW faces (via
    scikit-image's lfw_subset) have no formal license: LFW is published for research
    on face recognition, and nothing covers the rights of the people pictured. The
    Grace Hopper portrait (U.S. Navy photo, shipped with matplotlib) and the astronaut
    Eileen Collins (NASA photo, shipped with scikit-image) are public domain works.
    Commercial use unknown: a commercial build refuses it. The smile labels are
    illustrative, not annotations by the datasets' authors.
  text: "LFW: no formal license; research benchmark"
attribution: >
  Faces from Labeled Faces in the Wild (University of Massachusetts, Amherst) as
  subsampled in scikit-image's lfw_subset; Grace Hopper portrait, U.S. Navy, via
  matplotlib; astronaut Eileen Collins, NASA, via scikit-image. Smile labels by the
  facedata maintainers, for illustration only.
citation: |
  @techreport{{huang2007lfw,
    author      = {{Huang, Gary B. and Ramesh, Manu and Berg, Tamara and Learned-Miller, Erik}},
    title       = {{Labeled Faces in the Wild: A Database for Studying Face Recognition
                   in Unconstrained Environments}},
    institution = {{University of Massachusetts, Amherst}},
    number      = {{07-49}},
    year        = {{2007}}
  }}
  @inproceedings{{huang2012learning,
    author    = {{Huang, Gary B. and Mattar, Marwan and Lee, Honglak and Learned-Miller, Erik}},
    title     = {{Learning to Align from Scratch}},
    booktitle = {{Advances in Neural Information Processing Systems}},
    pages     = {{764--772}},
    year      = {{2012}}
  }}
sources:
  - id: demo
    kind: manual
    official: true
    access:
      level: open
      instructions: >
        Written offline by `facedata demo` from photos inside the scikit-image and
        matplotlib wheels; register it with
        `facedata fetch {DATASET_ID} --from {TAR_NAME}`.
    files:
      - name: {TAR_NAME}
        size: {tar_size}
        sha256: {tar_sha256}
format:
  reader: genki
  root: "*"
labels:
  smile:
    codes: {{"1": 1, "0": 0}}
faces:
  align: detect
  precropped: true   # the LFW crops are tight: pad and upscale before detecting
"""


# -- running it


@contextlib.contextmanager
def private_home(path: Path) -> Iterator[None]:
    """FACEDATA_HOME points at `path` for the demo only; the user's cache is untouched."""
    old = os.environ.get("FACEDATA_HOME")
    os.environ["FACEDATA_HOME"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("FACEDATA_HOME", None)
        else:
            os.environ["FACEDATA_HOME"] = old


def _rmtree(path: Path) -> None:
    """Remove a tree the demo wrote, read-only cache blobs included."""

    def writable(func, p, _exc):  # noqa: ANN001 - shutil's callback signature
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=writable)
    else:
        shutil.rmtree(path, onerror=writable)


def check_out(out: Path, overwrite: bool) -> None:
    """The demo writes into a fresh folder: a missing or empty one, or its own with --overwrite."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DemoError(f"--out {out} is a file", hint="pick a new folder for the demo")
    if not any(out.iterdir()):
        return
    if (out / MARKER).is_file():
        if overwrite:
            return
        raise DemoError(
            f"{out} holds an earlier demo",
            hint="pass --overwrite to replace it, or pick a new folder with --out",
        )
    raise DemoError(
        f"--out {out} is not empty, and the demo writes a fresh folder",
        hint="pick a new folder with --out (e.g. --out facedata-demo-2)",
    )


def run_demo(
    out: Path,
    *,
    overwrite: bool = False,
    say: Say = lambda _m: None,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> DemoResult:
    """Write, register, build and report the sample under `out`; on any failure or
    Ctrl-C remove what this run wrote, so `out` is either complete or as it was."""
    out = Path(out).expanduser().absolute()
    check_out(out, overwrite)
    existed = out.exists()
    if existed and overwrite and (out / MARKER).is_file():
        _rmtree(out)
        existed = False
    # Written in place, not in a temp folder renamed at the end: the recipe and the
    # lock record absolute paths, which a rename would break.
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _run(out, say, progress)
    except BaseException:
        if existed:
            for child in list(out.iterdir()):
                _rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        else:
            _rmtree(out)
        raise


def _run(out: Path, say: Say, progress: Callable[[dict[str, int]], None] | None) -> DemoResult:
    import datetime as dt

    from facedata.assemble.pipeline import build
    from facedata.assemble.recipe import Recipe
    from facedata.fetch import fetch_dataset
    from facedata.fetch.store import file_sha256
    from facedata.manifest.catalog import Catalog
    from facedata.project import MARKER as PROJECT_MARKER
    from facedata.project import marker_text
    from facedata.report import write_report

    tar = out / TAR_NAME
    manifests = out / "manifests"
    home = out / "cache"
    corpus = out / "corpus"
    own = out / OWN_ID
    commercial = out / "commercial"
    clearances = out / "clearances.yaml"
    say("writing the sample: 102 real faces in GENKI-4K's layout")
    sample = photos()
    fd, tmp = tempfile.mkstemp(prefix=f".{TAR_NAME}.", suffix=".tmp", dir=out)
    os.close(fd)
    os.chmod(tmp, ordinary_mode())
    write_sample(Path(tmp), sample)
    os.replace(tmp, tar)
    sha, size = file_sha256(tar)
    manifests.mkdir()
    (manifests / f"{DATASET_ID}.yaml").write_text(manifest_yaml(size, sha), encoding="utf-8")
    say(f"writing an own-data project: {len(PARTICIPANTS)} participants, consent register")
    write_own_data(own, manifests)
    expires = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)
    clearances.write_text(DEMO_CLEARANCE.format(expires=expires.isoformat()), encoding="utf-8")
    (out / PROJECT_MARKER).write_text(marker_text("cache", ("manifests",)), encoding="utf-8")
    argv = ["facedata", "demo", "--out", str(out)]
    with private_home(home):
        say(f"registering the sample as `{DATASET_ID}` (fetch --from, cache {home})")
        catalog = Catalog.load([manifests])
        fetch_dataset(catalog.get(DATASET_ID), from_path=tar)
        say("building the research corpus (detect, align, dedup, split, write, bundle)")
        recipe = Recipe(datasets=[DATASET_ID, OWN_ID], out=corpus, manifests=[manifests], workers=1)
        record = build(recipe, argv=argv, progress=progress)
        say("building the commercial corpus: only who may be admitted")
        recipe = Recipe(
            datasets=[DATASET_ID, OWN_ID],
            purpose="commercial",
            out=commercial,
            manifests=[manifests],
            clearances=clearances,
            workers=1,
        )
        commercial_record = build(recipe, argv=argv)
        say("writing the reports")
        report = write_report(corpus)
        write_report(commercial)
    marker = {"dataset": DATASET_ID, "tar_sha256": sha, "corpus": "corpus", "cache": "cache"}
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return DemoResult(
        out,
        tar,
        manifests,
        home,
        corpus,
        report,
        record,
        len(sample),
        sum(p.smile == "1" for p in sample),
        own,
        commercial,
        commercial_record,
        clearances,
    )


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    """A CSV a spreadsheet and the register reader agree on: commas in notes are quoted."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
