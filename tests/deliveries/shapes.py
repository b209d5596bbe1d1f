"""Datasets packed the way people actually receive them, for `fetch --from`.

The unpacked trees come from tests/fixtures/layouts.py (each dataset's native
layout); these generators only package them as real deliveries are packaged. Every
shape is taken from public evidence, cited per generator. Each returns a Delivery:
the path a person passes to `--from` and what the corpus must then hold.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures import hf, layouts
from tests.fixtures.layouts import Expected, ExpectedSample


@dataclass
class Delivery:
    dataset: str
    source: str | None  # --source; None: the manifest's default for --from
    path: Path  # what --from gets
    expected: Expected
    file_set: str | None = None  # what corpus.json must record as read
    notes: tuple[str, ...] = ()  # substrings of the notes the build must say once
    align: str | None = None  # the align_status every row must have, when known


def zip_tree(root: Path, out: Path, prefix: str = "", names: list[str] | None = None) -> Path:
    """Zip `names` (default: every file) below root, each under `prefix`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root).as_posix()
            if p.is_file() and (names is None or rel in names):
                zf.write(p, prefix + rel)
    return out


def tar_tree(root: Path, out: Path, names: list[str], gz: bool = True) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz" if gz else "w") as tf:
        for rel in sorted(names):
            tf.add(root / rel, arcname=rel, recursive=False)
    return out


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ------------------------------------------------------------------------ FER2013

COMPETITION = "challenges-in-representation-learning-facial-expression-recognition-challenge"


def _fer_parts(tmp: Path) -> tuple[Path, Expected]:
    """The competition's files, unpacked: fer2013/ (the tar's content) plus the CSVs."""
    exp = layouts.make_fer2013(tmp / "parts")
    return tmp / "parts", exp


def _fer_competition_folder(tmp: Path, extracted: bool) -> Path:
    """The competition zip's content: example_submission.csv, fer2013.tar.gz (fer2013/
    {fer2013.csv, README, fer2013.bib}), icml_face_data.csv, train.csv, test.csv, as
    `kaggle competitions download -c ...` then `unzip` gives it (e.g. the README of
    github.com/jamesHargreaves12/l44: unzip the competition zip, then tar -zxvf
    fer2013.tar.gz; torchvision's datasets/fer2013.py reads fer2013.csv,
    icml_face_data.csv or train.csv + test.csv from the same folder)."""
    parts, _ = _fer_parts(tmp)
    folder = tmp / COMPETITION
    folder.mkdir(parents=True)
    for name in ("example_submission.csv", "icml_face_data.csv", "train.csv", "test.csv"):
        shutil.copy(parts / name, folder / name)
    tar_tree(parts, folder / "fer2013.tar.gz", ["fer2013", *_members(parts, "fer2013")])
    if extracted:
        shutil.copytree(parts / "fer2013", folder / "fer2013")
    return folder


def _members(root: Path, top: str) -> list[str]:
    return [p.relative_to(root).as_posix() for p in sorted((root / top).rglob("*"))]


def _fer_expected(tmp: Path, file: str) -> Expected:
    return layouts.make_fer2013(tmp / f"expected-{Path(file).name}", file=file)


def fer_zip(tmp: Path) -> Delivery:
    """The competition download as it arrives: one zip named after the competition."""
    folder = _fer_competition_folder(tmp, extracted=False)
    path = zip_tree(folder, tmp / f"{COMPETITION}.zip")
    return Delivery(
        "fer2013", None, path, _fer_expected(tmp, "fer2013/fer2013.csv"), "fer2013/fer2013.csv"
    )


def fer_folder(tmp: Path) -> Delivery:
    """The zip unpacked by hand, the tar inside left as it is."""
    folder = _fer_competition_folder(tmp, extracted=False)
    return Delivery(
        "fer2013", None, folder, _fer_expected(tmp, "fer2013/fer2013.csv"), "fer2013/fer2013.csv"
    )


def fer_folder_extracted(tmp: Path) -> Delivery:
    """The zip unpacked and fer2013.tar.gz extracted beside itself (both kept)."""
    folder = _fer_competition_folder(tmp, extracted=True)
    return Delivery(
        "fer2013", None, folder, _fer_expected(tmp, "fer2013/fer2013.csv"), "fer2013/fer2013.csv"
    )


def fer_icml(tmp: Path) -> Delivery:
    """icml_face_data.csv alone (header `emotion, Usage, pixels`, spaces included)."""
    parts, _ = _fer_parts(tmp)
    return Delivery(
        "fer2013",
        None,
        parts / "icml_face_data.csv",
        _fer_expected(tmp, "icml_face_data.csv"),
        "icml_face_data.csv",
    )


def fer_train_test(tmp: Path) -> Delivery:
    """train.csv + test.csv only, the pair torchvision's FER2013 reads: train rows are
    the train split; test.csv has no labels, so its rows are counted, not kept."""
    parts, _ = _fer_parts(tmp)
    folder = tmp / "fer-train-test"
    folder.mkdir()
    for name in ("train.csv", "test.csv"):
        shutil.copy(parts / name, folder / name)
    train = _fer_expected(tmp, "train.csv")
    test = _fer_expected(tmp, "test.csv")
    train.reader_drops.update(test.reader_drops)
    return Delivery("fer2013", None, folder, train, "train.csv+test.csv")


def fer_wrapper(tmp: Path) -> Delivery:
    """An outer zip holding the competition zip (a shared-drive copy of the download)."""
    inner = fer_zip(tmp)
    path = zip_tree(
        inner.path.parent,
        tmp / "wrapper" / "fer2013-download.zip",
        names=[inner.path.name],
        prefix="downloads/",
    )
    return Delivery("fer2013", None, path, inner.expected, inner.file_set)


# --------------------------------------------------------------------------- CK+


def _ck_tree(tmp: Path) -> tuple[Path, Expected]:
    exp = layouts.make_ckplus(tmp / "ck")
    return tmp / "ck", exp


def _ck_zip(tree: Path, top: str, out: Path) -> Path:
    return zip_tree(tree, out, names=[f for f in _members(tree, top)])


def _no_landmarks(exp: Expected) -> Expected:
    for key, s in list(exp.samples.items()):
        exp.samples[key] = ExpectedSample(
            s.key, s.codes, s.split, s.subject_id, s.smile, s.expression, None
        )
    return exp


def ck_zips_without_landmarks(tmp: Path) -> Delivery:
    """A folder holding cohn-kanade-images.zip and Emotion_labels.zip only: the copies
    people pass on often lack Landmarks.zip and FACS_labels.zip (the CK+ README lists
    the four archives; the reader needs only images and emotions)."""
    tree, exp = _ck_tree(tmp)
    folder = tmp / "CK+"
    _ck_zip(tree, "cohn-kanade-images", folder / "cohn-kanade-images.zip")
    _ck_zip(tree, "Emotion", folder / "Emotion_labels.zip")
    return Delivery(
        "ckplus",
        None,
        folder,
        _no_landmarks(exp),
        "cohn-kanade-images",
        ("no Landmarks/",),
        align="detected",
    )


def ck_extracted(tmp: Path) -> Delivery:
    """The four archives already extracted into one folder (images, Emotion,
    Landmarks, FACS), under the `extended-` image folder name some copies use."""
    tree, exp = _ck_tree(tmp)
    folder = tmp / "CK+ extracted"
    shutil.copytree(tree, folder)
    (folder / "cohn-kanade-images").rename(folder / "extended-cohn-kanade-images")
    return Delivery(
        "ckplus", None, folder, exp, "extended-cohn-kanade-images", align="dataset_landmarks"
    )


def ck_wrapper(tmp: Path) -> Delivery:
    """One zip holding the downloaded zips (images, emotions, landmarks): a wrapper."""
    tree, exp = _ck_tree(tmp)
    inner = tmp / "inner"
    _ck_zip(tree, "cohn-kanade-images", inner / "cohn-kanade-images.zip")
    _ck_zip(tree, "Emotion", inner / "Emotion_labels.zip")
    _ck_zip(tree, "Landmarks", inner / "Landmarks.zip")
    path = zip_tree(inner, tmp / "CK+.zip", prefix="CK+/")
    return Delivery("ckplus", None, path, exp, "cohn-kanade-images", align="dataset_landmarks")


# ------------------------------------------------------------------------ CelebA


def celeba_without_identities(tmp: Path) -> Delivery:
    """The Drive folder as downloaded (Img/img_align_celeba.zip, Anno/*.txt,
    Eval/list_eval_partition.txt) without Anno/identity_CelebA.txt, which the official
    page offers on request only (torchvision's CelebA file list names it separately)."""
    exp = layouts.make_celeba(tmp / "celeba-tree")
    tree = tmp / "celeba-tree"
    folder = tmp / "CelebA"
    zip_tree(
        tree / "Img",
        folder / "Img" / "img_align_celeba.zip",
        names=[f for f in _members(tree / "Img", "img_align_celeba")],
    )
    for rel in (
        "Anno/list_attr_celeba.txt",
        "Anno/list_landmarks_align_celeba.txt",
        "Anno/list_bbox_celeba.txt",
        "Eval/list_eval_partition.txt",
    ):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tree / rel, folder / rel)
    for key, s in list(exp.samples.items()):
        exp.samples[key] = ExpectedSample(
            s.key, s.codes, s.split, None, s.smile, s.expression, s.landmarks
        )
    return Delivery(
        "celeba",
        "official",
        folder,
        exp,
        None,
        ("subject-disjoint splits are not possible",),
        align="dataset_landmarks",
    )


def celeba_torchvision_root(tmp: Path) -> Delivery:
    """torchvision's CelebA root after `CelebA(root, download=True)` (pytorch/vision
    torchvision/datasets/celeba.py: base_folder "celeba", every file flat in it, and
    img_align_celeba.zip extracted beside itself, the zip kept)."""
    exp = layouts.make_celeba(tmp / "celeba-tree")
    tree = tmp / "celeba-tree"
    folder = tmp / "root" / "celeba"
    zip_tree(
        tree / "Img",
        folder / "img_align_celeba.zip",
        names=[f for f in _members(tree / "Img", "img_align_celeba")],
    )
    shutil.copytree(tree / "Img" / "img_align_celeba", folder / "img_align_celeba")
    for rel in (
        "Anno/list_attr_celeba.txt",
        "Anno/identity_CelebA.txt",
        "Anno/list_landmarks_align_celeba.txt",
        "Anno/list_bbox_celeba.txt",
        "Eval/list_eval_partition.txt",
    ):
        shutil.copy(tree / rel, folder / Path(rel).name)
    return Delivery("celeba", "official", tmp / "root", exp, align="dataset_landmarks")


# ---------------------------------------------------------------- CK+ on Kaggle


def ckextended_zip(tmp: Path) -> Delivery:
    """davilsena/ckdataset as Kaggle serves it: a zip holding ckextended.csv
    (kagglehub caches it as .../versions/2/ckextended.csv)."""
    exp = layouts.make_ckplus_kaggle(tmp / "ckext")
    path = zip_tree(tmp / "ckext", tmp / "ckdataset.zip")
    return Delivery("ckplus-kaggle", None, path, exp)


# ------------------------------------------------------------- AffectNet mirror


def affectnet_kaggle(tmp: Path) -> Delivery:
    """mstjebashazida/affectnet saved by a browser: `archive (3).zip` whose members sit
    under a top folder `archive (3)/` above Train/ and Test/ (96x96 crops)."""
    exp = layouts.make_affectnet_mirror(tmp / "an")
    path = zip_tree(tmp / "an", tmp / "archive (3).zip", prefix="archive (3)/")
    return Delivery("affectnet", "kaggle", path, exp, align="detected")


# ------------------------------------------------------------------------ RAF-DB


def rafdb_parent(tmp: Path) -> Delivery:
    """The folder holding basic/ (the README's layout: basic/Image, basic/EmoLabel,
    basic/Annotation)."""
    exp = layouts.make_rafdb(tmp / "RAF-DB")
    return Delivery("rafdb", None, tmp / "RAF-DB", exp, align="dataset_landmarks")


def rafdb_zip_with_top_folder(tmp: Path) -> Delivery:
    """A zip of the whole release folder: RAF-DB/basic/... (a top folder of any name)."""
    exp = layouts.make_rafdb(tmp / "RAF-DB")
    path = zip_tree(tmp / "RAF-DB", tmp / "RAF-DB.zip", prefix="RAF-DB/")
    return Delivery("rafdb", None, path, exp, align="dataset_landmarks")


# ----------------------------------------------------------------------- GENKI-4K


def genki_tar(tmp: Path) -> Delivery:
    """The official genki4k.tar (GENKI4K/labels.txt + GENKI4K/files/), via --from."""
    exp = layouts.make_genki4k(tmp / "g")
    path = tar_tree(
        tmp / "g",
        tmp / "genki4k.tar",
        [p for p in _members(tmp / "g", "GENKI4K")] + ["GENKI4K"],
        gz=False,
    )
    return Delivery("genki4k", None, path, exp)


def genki_kaggle_folders(tmp: Path) -> Delivery:
    """A Kaggle mirror sorted into files/smile/ and files/nonsmile/, no labels.txt."""
    src = layouts.make_genki4k(tmp / "g")
    exp = Expected("genki4k", tmp / "g", {"reader": "genki", "root": "."}, src.labels)
    folder = tmp / "kaggle"
    for s in src.samples.values():
        cls = "smile" if s.smile == 1 else "nonsmile"
        name = Path(s.key).name
        target = folder / "files" / cls / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "g" / "GENKI4K" / s.key, target)
        exp.add(ExpectedSample(f"{cls}/{name}", {"smile": s.codes["smile"]}, smile=s.smile))
    path = zip_tree(folder, tmp / "genki4k.zip")
    return Delivery(
        "genki4k", "kaggle", path, exp, "class folders (smile/, nonsmile/)", ("no labels.txt",)
    )


ALL: dict[str, Callable[[Path], Delivery]] = {
    "fer2013 competition zip": fer_zip,
    "fer2013 unzipped folder": fer_folder,
    "fer2013 folder with tar extracted": fer_folder_extracted,
    "fer2013 icml_face_data.csv alone": fer_icml,
    "fer2013 train.csv + test.csv": fer_train_test,
    "fer2013 wrapper zip": fer_wrapper,
    "ckplus zips without landmarks": ck_zips_without_landmarks,
    "ckplus extracted": ck_extracted,
    "ckplus wrapper zip": ck_wrapper,
    "celeba without identities": celeba_without_identities,
    "ckplus-kaggle zip": ckextended_zip,
    "affectnet kaggle archive (3)": affectnet_kaggle,
    "rafdb parent folder": rafdb_parent,
    "rafdb zip with top folder": rafdb_zip_with_top_folder,
    "genki4k tar": genki_tar,
    "genki4k kaggle class folders": genki_kaggle_folders,
}


def genki_extracted(tmp: Path) -> Delivery:
    """genki4k.tar already extracted: the GENKI4K/ folder (labels.txt, files/)."""
    exp = layouts.make_genki4k(tmp / "g")
    return Delivery("genki4k", None, tmp / "g" / "GENKI4K", exp)


def smilesmiled_extracted(tmp: Path) -> Delivery:
    """The GitHub branch archive extracted: SMILEsmileD-master/SMILEs/..."""
    exp = layouts.make_smilesmiled(tmp / "s")
    return Delivery("smilesmiled", None, tmp / "s" / "SMILEsmileD-master", exp)


def ferplus_data_folder(tmp: Path) -> Delivery:
    """microsoft/FERPlus data/ after src/generate_training_data.py -d data: the
    FER2013Train|Valid|Test/ folders with their label.csv, as src/ferplus.py reads them."""
    exp = layouts.make_ferplus(tmp / "FERPlus" / "data")
    return Delivery(
        "ferplus", None, tmp / "FERPlus" / "data", exp, file_set="FER2013Train|Valid|Test"
    )


def ferplus_repo_zip(tmp: Path) -> Delivery:
    """The same folder zipped with the repository around it (FERPlus-master/data/...)."""
    exp = layouts.make_ferplus(tmp / "data")
    path = zip_tree(tmp / "data", tmp / "FERPlus-master.zip", prefix="FERPlus-master/data/")
    return Delivery("ferplus", None, path, exp, file_set="FER2013Train|Valid|Test")


def ferplus_votes_beside_fer2013(tmp: Path) -> Delivery:
    """A clone of microsoft/FERPlus (fer2013new.csv at its top, as the repository ships
    it) with FER2013's fer2013.csv copied beside it, the script never run: the inputs
    its README names for src/generate_training_data.py (-fer fer2013.csv -ferplus
    fer2013new.csv), zipped as the clone's folder."""
    exp = layouts.make_ferplus_csv(tmp / "FERPlus-master")
    path = zip_tree(tmp / "FERPlus-master", tmp / "FERPlus.zip", prefix="FERPlus-master/")
    return Delivery("ferplus", None, path, exp, file_set="fer2013new.csv+fer2013.csv")


def affectnet_yolo_zip(tmp: Path) -> Delivery:
    """Kaggle's fatihkgg/affectnet-yolo-format download: `archive.zip` holding
    YOLO_format/ (data.yaml, {train,valid,test}/{images,labels}/), the layout
    Ultralytics trains from (ultralytics/data/utils.py img2label_paths: images/ ->
    labels/, same stem, .txt)."""
    exp = layouts.make_affectnet_yolo(tmp / "YOLO_format")
    path = zip_tree(tmp / "YOLO_format", tmp / "archive.zip", prefix="YOLO_format/")
    return Delivery("affectnet", "kaggle-yolo", path, exp)


def fer2013_hf_snapshot(tmp: Path) -> Delivery:
    """`hf download AutumnQiu/fer2013 --repo-type dataset --local-dir fer2013`: README.md
    and data/{train,test}-0000N-of-00002.parquet (huggingface/datasets push_to_hub names)."""
    exp = hf.make_fer2013_hf(tmp / "fer2013")
    return Delivery("fer2013", "hf-autumnqiu", tmp / "fer2013", exp)


def fer2013_hf_cache(tmp: Path) -> Delivery:
    """The Hub cache after `snapshot_download` (huggingface_hub file_download.py):
    datasets--AutumnQiu--fer2013/snapshots/<commit>/..., each file a link into blobs/."""
    repo = tmp / "hub" / "datasets--AutumnQiu--fer2013"
    snap = repo / "snapshots" / ("a1" * 20)
    exp = hf.make_fer2013_hf(tmp / "plain")
    (repo / "blobs").mkdir(parents=True)
    for rel in exp.files:
        blob = repo / "blobs" / f"{abs(hash(rel)):x}"
        shutil.copyfile(tmp / "plain" / rel, blob)
        (snap / rel).parent.mkdir(parents=True, exist_ok=True)
        (snap / rel).symlink_to(Path("../" * rel.count("/") + "../../blobs") / blob.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a1" * 20)
    exp = Expected(exp.dataset, snap, exp.format, exp.labels, exp.samples, files=exp.files)
    return Delivery("fer2013", "hf-autumnqiu", snap, exp)


def celeba_hf_snapshot(tmp: Path) -> Delivery:
    """flwrlabs/celeba downloaded: boolean attribute columns, celeb_id, train/valid/test."""
    exp = hf.make_celeba_hf(tmp / "celeba")
    return Delivery("celeba", "hf-flwrlabs", tmp / "celeba", exp)


def ck48_zip(tmp: Path) -> Delivery:
    """Kaggle's CK+48 zip: CK+48/<class>/S010_004_00000017.png (the folder the loaders in
    public notebooks open, e.g. `os.listdir("CK+48")`, one class per folder)."""
    exp = layouts.make_ck48_folders(tmp / "ck")
    path = zip_tree(tmp / "ck", tmp / "archive.zip")
    return Delivery("ckplus-kaggle", "ck48-folders", path, exp)


def fer_oheix_zip(tmp: Path) -> Delivery:
    """jonathanoheix/face-expression-recognition-dataset: the zip holds images/train/
    and images/validation/ class folders."""
    exp = layouts.make_fer_oheix(tmp / "fer")
    path = zip_tree(tmp / "fer", tmp / "face-expression-recognition-dataset.zip")
    return Delivery("fer2013-folders", "kaggle-oheix", path, exp)


def genki_release(tmp: Path) -> Delivery:
    """The GENKI-R2009a release folder (files/ + Subsets/GENKI-4K/ lists), as given."""
    exp = layouts.make_genki_release(tmp / "r")
    return Delivery(
        "genki4k",
        None,
        tmp / "r" / "GENKI-R2009a",
        exp,
        "GENKI-R2009a release (Subsets/GENKI-4K lists)",
    )


def raf_basic_aligned(tmp: Path) -> Delivery:
    """The folder holding raf-basic/ (EmoLabel/ + Image/aligned/ only), as research
    code keeps it; read aligned, with the missing original/ said once."""
    exp = layouts.make_raf_basic_aligned(tmp / "data")
    return Delivery("rafdb", None, tmp / "data", exp, notes=("no Image/original/",))


ALL["genki4k extracted folder"] = genki_extracted
ALL["celeba torchvision root"] = celeba_torchvision_root
ALL["rafdb raf-basic aligned only"] = raf_basic_aligned
ALL["genki4k GENKI-R2009a release folder"] = genki_release
ALL["ckplus-kaggle CK+48 class folders zip"] = ck48_zip
ALL["fer2013-folders train/validation zip"] = fer_oheix_zip
ALL["fer2013 hf snapshot folder"] = fer2013_hf_snapshot
ALL["fer2013 hf hub cache snapshot"] = fer2013_hf_cache
ALL["celeba hf snapshot folder"] = celeba_hf_snapshot
ALL["ferplus data folder"] = ferplus_data_folder
ALL["ferplus repository zip"] = ferplus_repo_zip
ALL["ferplus fer2013new.csv beside fer2013.csv"] = ferplus_votes_beside_fer2013
ALL["affectnet kaggle YOLO export zip"] = affectnet_yolo_zip
ALL["smilesmiled extracted folder"] = smilesmiled_extracted
