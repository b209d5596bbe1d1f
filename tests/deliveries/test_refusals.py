"""Deliveries that cannot be read are refused at fetch time, saying what to pass."""

from __future__ import annotations

import json
import shutil

from facedata.fetch import fetched
from facedata.manifest.catalog import Catalog
from tests.deliveries import shapes
from tests.fixtures import layouts
from tests.helpers import photos
from tests.helpers.cli import run_cli


def test_rafdb_basic_folder_itself_is_refused_naming_its_parent(tmp_path, capsys):
    layouts.make_rafdb(tmp_path / "RAF-DB")
    basic = tmp_path / "RAF-DB" / "basic"
    res = run_cli(capsys, "fetch", "rafdb", "--from", str(basic))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "is the basic/ folder itself" in text
    assert f"--from {basic.parent}" in text
    assert fetched(Catalog.load().get("rafdb")) is None  # nothing half-registered
    assert "Traceback" not in res.err


def test_fer2013_folder_without_any_readable_csv_names_the_alternatives(tmp_path, capsys):
    folder = tmp_path / "fer"
    layouts.make_fer2013(tmp_path / "made")
    folder.mkdir()
    shutil.copy(tmp_path / "made/example_submission.csv", folder)
    shutil.copy(tmp_path / "made/test.csv", folder)
    res = run_cli(capsys, "fetch", "fer2013", "--from", str(folder))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "no complete set" in text
    assert "fer2013/fer2013.csv; or icml_face_data.csv; or train.csv + test.csv" in text


def test_ckplus_without_emotion_labels_is_refused(tmp_path, capsys):
    layouts.make_ckplus(tmp_path / "ck")
    shutil.rmtree(tmp_path / "ck" / "Emotion")
    res = run_cli(capsys, "fetch", "ckplus", "--from", str(tmp_path / "ck"))
    assert res.code == 1 and "lacks Emotion_labels.zip" in " ".join(res.err.split())


def test_a_face_the_detector_misses_is_counted_under_its_dataset(tmp_path, capsys):
    d = shapes.genki_tar(tmp_path / "made")
    tree = tmp_path / "made" / "g" / "GENKI4K" / "files" / "file0003.jpg"
    photos.cat().resize((240, 240)).save(tree)  # no face in it
    d = shapes.Delivery(
        d.dataset,
        None,
        shapes.tar_tree(
            tmp_path / "made" / "g",
            tmp_path / "genki-cat.tar",
            ["GENKI4K", *shapes._members(tmp_path / "made" / "g", "GENKI4K")],
            gz=False,
        ),
        d.expected,
    )
    assert run_cli(capsys, "fetch", "genki4k", "--from", str(d.path)).code == 0
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", "--datasets", "genki4k", "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    drops = json.loads((out / "corpus.json").read_text())["drops"]
    assert drops["genki4k: face: no_face"]["count"] == 1, drops
    assert not any(k.startswith("image") for k in drops)


def test_affectnet_mirror_without_its_split_folders_points_at_format_root(tmp_path, capsys):
    """A copy whose split folders are not Train/ and Test/ anywhere: the message names
    what is missing and says where the fix goes, at fetch time, before any build."""
    layouts.make_affectnet_mirror(tmp_path / "an")
    (tmp_path / "an" / "Train").rename(tmp_path / "an" / "training")
    path = shapes.zip_tree(tmp_path / "an", tmp_path / "archive.zip", prefix="archive (3)/")
    res = run_cli(capsys, "fetch", "affectnet", "--source", "kaggle", "--from", str(path))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "Train not found" in text and "format.root" in text
    assert fetched(Catalog.load().get("affectnet"), "kaggle") is None


def test_info_tells_required_optional_and_alternative_files(capsys):
    res = run_cli(capsys, "info", "fer2013")
    text = " ".join(res.out.replace("│", " ").split())
    assert "any one complete file set: fer2013/fer2013.csv; or icml_face_data.csv; or" in text
    res = run_cli(capsys, "info", "ckplus")
    text = " ".join(res.out.replace("│", " ").split())
    assert "Landmarks.zip ? B hash pinned on first fetch [optional]" in text


def test_a_different_archive_renamed_genki4k_tar_is_refused_despite_unverified_hashes(
    tmp_path, capsys
):
    """GENKI-4K's size and sha256 are unverified, so a mismatch alone is only a note:
    what the archive holds decides. A SMILEsmileD tree renamed genki4k.tar is refused,
    saying what was expected and what was found, and nothing is registered."""
    layouts.make_smilesmiled(tmp_path / "s")
    wrong = shapes.tar_tree(
        tmp_path / "s",
        tmp_path / "genki4k.tar",
        [p.relative_to(tmp_path / "s").as_posix() for p in (tmp_path / "s").rglob("*")],
        gz=False,
    )
    res = run_cli(capsys, "fetch", "genki4k", "--from", str(wrong))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "labels.txt not found" in text and "found at its top: SMILEsmileD-master/" in text
    assert fetched(Catalog.load().get("genki4k")) is None
    assert "Traceback" not in res.err


def test_an_archive_whose_codes_the_label_map_does_not_know_is_refused(tmp_path, capsys):
    """Right file names, wrong content: a labels.txt of another dataset's codes."""
    layouts.make_genki4k(tmp_path / "g")
    labels = tmp_path / "g" / "GENKI4K" / "labels.txt"
    labels.write_text("".join("7 0 0 0\n" for _ in labels.read_text().splitlines()))
    wrong = shapes.tar_tree(
        tmp_path / "g",
        tmp_path / "genki4k.tar",
        ["GENKI4K", *shapes._members(tmp_path / "g", "GENKI4K")],
        gz=False,
    )
    res = run_cli(capsys, "fetch", "genki4k", "--from", str(wrong))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "no labelled sample" in text and "unmapped smile code '7'" in text, text
    assert fetched(Catalog.load().get("genki4k")) is None


def test_a_parquet_snapshot_given_to_the_official_source_names_the_mirror_source(tmp_path, capsys):
    """The official AffectNet source used to say "set format.options"; a Hub snapshot
    is another source's shape, and the error names it with the command to run."""
    d = shapes.fer2013_hf_snapshot(tmp_path / "made")
    res = run_cli(capsys, "fetch", "fer2013", "--from", str(d.path))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert f"facedata fetch fer2013 --source hf-autumnqiu --from {d.path}" in text, text
    assert fetched(Catalog.load().get("fer2013")) is None
    res = run_cli(capsys, "fetch", "affectnet", "--from", str(d.path))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "format.options" not in text and "--source hf-" in text, text


def test_class_folders_numbered_another_way_are_refused(tmp_path, capsys):
    """RAF-DB class folders 0-6 (the 0-based numbering many training scripts write,
    e.g. a torchvision ImageFolder export) given to the Kaggle source, whose folders
    use the official 1-7 codes: read anyway, folder 1 would be labelled surprise
    though it holds fear. Some codes known and others not refuses the copy."""
    root = tmp_path / "raf" / "DATASET"
    i = 0
    for split in ("train", "test"):
        for c in range(7):
            (root / split / str(c)).mkdir(parents=True)
            i += 1
            img = root / split / str(c) / f"{split}_{i:05d}_aligned.jpg"
            photos.lfw_face(i, (100, 100), "RGB").save(img)
    res = run_cli(capsys, "fetch", "rafdb", "--source", "kaggle", "--from", str(tmp_path / "raf"))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "unmapped expression code '0'" in text and "1, 2, 3, 4, 5, 6, 7" in text, text
    assert "hint:" in res.err and "Traceback" not in res.err
    assert fetched(Catalog.load().get("rafdb")) is None
    # the official numbering in the same shape is read
    for split in ("train", "test"):
        (root / split / "0").rename(root / split / "7")
    res = run_cli(capsys, "fetch", "rafdb", "--source", "kaggle", "--from", str(tmp_path / "raf"))
    assert res.code == 0, res.err


def test_a_celeba_copy_without_its_partition_file_is_refused(tmp_path, capsys):
    """jessicali9530/celeba-dataset ships list_eval_partition.csv beside
    list_attr_celeba.csv (torchvision's celeba.py reads the .txt twin as the split).
    A copy without it used to register, every row without a split, while the build's
    note claimed the official partition was used."""
    layouts.make_celeba_kaggle(tmp_path / "ck")
    next((tmp_path / "ck").rglob("list_eval_partition.csv")).unlink()
    res = run_cli(
        capsys, "fetch", "celeba", "--source", "kaggle-csv", "--from", str(tmp_path / "ck")
    )
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "list_eval_partition.csv not found" in text and "official train/valid/test" in text
    assert "hint:" in res.err and "Traceback" not in res.err
    assert fetched(Catalog.load().get("celeba")) is None


def test_a_parquet_copy_of_bare_class_numbers_says_how_to_name_them(tmp_path, capsys):
    """A FER2013 upload whose `label` is a plain int64 (a pandas `to_parquet` export: no
    ClassLabel in the schema, no card) cannot be labelled by name. It is refused with
    how to name the classes, not with "is it the right file?"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.fixtures import hf

    root = tmp_path / "fer"
    (root / "data").mkdir(parents=True)
    images = [{"bytes": hf._png(i, (48, 48), "L"), "path": None} for i in range(4)]
    table = pa.table({"image": pa.array(images), "label": pa.array([0, 3, 6, 4], pa.int64())})
    pq.write_table(table, root / "data" / "train-00000-of-00001.parquet")
    res = run_cli(capsys, "fetch", "fer2013", "--source", "hf-autumnqiu", "--from", str(root))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "bare class numbers" in text and "manifest new --hf" in text, text
    assert "is it the right file" not in text
    assert fetched(Catalog.load().get("fer2013")) is None


def test_a_verified_file_inside_a_zip_is_held_to_its_hash(tmp_path, capsys):
    """Kaggle dataset copies of FER2013 (e.g. deadskull7/fer2013: a zip holding
    fer2013.csv) carry the file torchvision checks by md5. Given as itself it is
    hashed; inside a zip it used to be taken on its name, so a copy without its test
    rows registered. The right bytes in a zip are still accepted."""
    import hashlib

    import yaml

    layouts.make_fer2013(tmp_path / "parts")
    csv = tmp_path / "parts" / "fer2013" / "fer2013.csv"
    manifest = tmp_path / "manifests" / "fer2013.yaml"
    data = yaml.safe_load(manifest.read_text())
    (kaggle,) = [s for s in data["sources"] if s["id"] == "kaggle"]
    (spec,) = [f for f in kaggle["files"] if f["name"] == "fer2013/fer2013.csv"]
    spec["md5"] = hashlib.md5(csv.read_bytes()).hexdigest()
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))

    lines = csv.read_text().splitlines(keepends=True)
    train_only = "".join(lines[:1] + [x for x in lines[1:] if x.rstrip().endswith("Training")])
    bad = tmp_path / "bad" / "fer2013.zip"
    bad.parent.mkdir()
    bad.write_bytes(shapes.zip_bytes({"fer2013.csv": train_only.encode()}))
    res = run_cli(capsys, "fetch", "fer2013", "--from", str(bad))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "holds fer2013.csv, which is not the fer2013/fer2013.csv" in text, text
    assert "md5 is" in text and "hint:" in res.err and "Traceback" not in res.err
    assert fetched(Catalog.load().get("fer2013")) is None

    good = tmp_path / "good" / "fer2013.zip"
    good.parent.mkdir()
    good.write_bytes(shapes.zip_bytes({"fer2013.csv": csv.read_bytes()}))
    res = run_cli(capsys, "fetch", "fer2013", "--from", str(good))
    assert res.code == 0, res.err


def test_rafdb_basic_saved_under_another_name_says_which_folder_to_rename(tmp_path, capsys):
    """basic/'s content kept under a download's own name (RAF-DB-basic-emotion/): the
    refusal used to say only that '*basic' matched nothing."""
    layouts.make_rafdb(tmp_path / "RAF-DB")
    shutil.copytree(tmp_path / "RAF-DB" / "basic", tmp_path / "given" / "RAF-DB-basic-emotion")
    res = run_cli(capsys, "fetch", "rafdb", "--from", str(tmp_path / "given"))
    assert res.code == 1
    text = " ".join(res.err.split())
    assert "RAF-DB-basic-emotion/ holds what it reads" in text, text
    assert "name that folder 'basic'" in text and "Traceback" not in res.err
    assert fetched(Catalog.load().get("rafdb")) is None
    (tmp_path / "given" / "RAF-DB-basic-emotion").rename(tmp_path / "given" / "basic")
    assert run_cli(capsys, "fetch", "rafdb", "--from", str(tmp_path / "given")).code == 0
