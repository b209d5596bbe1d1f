"""Build building blocks: dedup, splits, shard writer, recipe, atomic output."""

from __future__ import annotations

import os

import pytest

from facedata.assemble.dedup import Deduper
from facedata.assemble.recipe import Recipe, load_recipe
from facedata.assemble.splits import LeakCheck, assign_split
from facedata.errors import ManifestError
from facedata.files.atomic import atomic_dir, recover_dir


def _dup_row(key, sha, phash, *, dataset="d", subject=None, smile=None, expression=None):
    return {
        "dataset": dataset,
        "key": key,
        "sha256": sha,
        "phash": phash,
        "subject_id": subject,
        "split": "train",
        "smile": smile,
        "expression": expression,
        "smile_derived": False,
    }


def _offer(d: Deduper, row: dict):
    """What the pipeline does: a match is merged, anything else is kept."""
    match = d.find(row["sha256"], row["phash"], row["dataset"], row["subject_id"])
    if match is None:
        d.add(row)
        return None
    return match.kind, match.first.ident, d.merge(match, row)


def test_exact_and_near_duplicates():
    d = Deduper(near_distance=4)
    assert _offer(d, _dup_row("a", "sha-a", 0b1111_0000)) is None
    assert _offer(d, _dup_row("b", "sha-a", 0xFFFF_0000_0000)) == ("exact", "d/a", {})
    assert _offer(d, _dup_row("c", "sha-c", 0b1111_0111)) == ("near", "d/a", {})  # 3 bits
    assert _offer(d, _dup_row("d", "sha-d", 0b1111_0000 ^ 0xFF00)) is None  # 8 bits differ
    got = d.to_dict()
    assert (got["kept"], got["exact"], got["near"], got["near_distance"]) == (2, 1, 1, 4)


@pytest.mark.parametrize("distance", [1, 2, 3, 4, 5, 6, 9])
def test_near_index_finds_exactly_what_comparing_every_kept_row_finds(distance):
    """The banded index against a scan of every kept row: the earliest kept row within
    the distance that the dataset does not tell apart, and the same told-apart counts.
    Hashes cluster (a few bases with flipped bits), as faces of one photo do."""
    import random

    rng = random.Random(distance)
    bases = [rng.getrandbits(64) for _ in range(12)]
    d = Deduper(near_distance=distance)
    kept: list[dict] = []
    same = other = 0
    for i in range(1500):
        h = rng.choice(bases)
        for _ in range(rng.randrange(0, distance + 3)):
            h ^= 1 << rng.randrange(64)
        row = _dup_row(
            f"k{i}",
            f"s{i}",
            h,
            dataset=rng.choice(["a", "b"]),
            subject=rng.choice([None, "p1", "p2"]),
        )
        want, apart = None, None
        for k in kept:
            if (k["phash"] ^ h).bit_count() > distance:
                continue
            if k["dataset"] == row["dataset"] and None not in (row["subject_id"], k["subject_id"]):
                apart = apart or ("same" if k["subject_id"] == row["subject_id"] else "other")
                continue
            want = f"{k['dataset']}/{k['key']}"
            break
        match = d.find(row["sha256"], h, row["dataset"], row["subject_id"])
        assert (match.first.ident if match else None) == want, i
        if match is None:
            same += apart == "same"
            other += apart == "other"
            d.add(row)
            kept.append(row)
    got = d.to_dict()
    assert (got["same_subject_kept"], got["other_subject_kept"]) == (same, other)
    assert got["kept"] == len(kept) and 0 < len(kept) < 1500


def test_near_frames_of_one_subject_are_all_kept():
    """CK+ neutral first frame and peak frame: near-identical, different labels."""
    d = Deduper(near_distance=4)
    first = _dup_row(
        "S005/001", "s1", 0xF0F0, dataset="ckplus", subject="S005", expression="neutral"
    )
    peak = _dup_row("S005/010", "s2", 0xF0F1, dataset="ckplus", subject="S005", expression="happy")
    other = _dup_row("S006/001", "s3", 0xF0F3, dataset="ckplus", subject="S006", expression="sad")
    assert _offer(d, first) is None
    assert _offer(d, peak) is None  # same subject: kept, labels untouched
    assert _offer(d, other) is None  # the dataset tells the two people apart
    mirror = _dup_row("m1", "s4", 0xF0F2, dataset="ck-mirror", subject="S005", expression="sad")
    assert _offer(d, mirror)[0] == "near"  # another dataset's copy is a duplicate
    got = d.to_dict()
    assert (got["same_subject_kept"], got["other_subject_kept"]) == (1, 1)
    assert got["near"] == 1 and got["kept"] == 3


def test_cross_source_duplicates_merge_their_heads():
    d = Deduper(near_distance=0)
    assert _offer(d, _dup_row("g1", "same", 1, dataset="genki4k", smile=1)) is None
    kind, kept, changes = _offer(d, _dup_row("x1", "same", 1, dataset="fer", expression="happy"))
    assert (kind, kept) == ("exact", "genki4k/g1")
    assert changes == {"expression": "happy", "merged_from": ["fer/x1"]}
    got = d.to_dict()
    assert got["merged"] == {"expression": 1} and got["conflicts"] == {}
    assert got["examples"][0]["kind"] == "merge"


@pytest.mark.parametrize(("policy", "kept_value"), [("void", None), ("first", "happy")])
def test_conflicting_duplicates_follow_the_policy(policy, kept_value):
    d = Deduper(near_distance=0, policy=policy)
    _offer(d, _dup_row("1", "px", 9, dataset="fer2013", expression="happy", smile=1))
    _, _, changes = _offer(d, _dup_row("2", "px", 9, dataset="fer-mirror", expression="sad"))
    assert changes["label_conflict"] == ["expression"]
    assert changes.get("expression", "happy") == kept_value
    # a third copy cannot settle a voided head: still a conflict, no new value
    _, _, later = _offer(d, _dup_row("3", "px", 9, dataset="fer-x", expression="happy"))
    assert "expression" not in later or policy == "first"
    got = d.to_dict()
    assert got["conflicts"] == {"expression": 2} and got["conflict_policy"].startswith(policy)


def test_near_search_finds_every_hash_within_distance():
    import random

    rng = random.Random(0)
    d = Deduper(near_distance=4)
    stored = [rng.getrandbits(64) for _ in range(300)]
    for i, h in enumerate(stored):
        _offer(d, _dup_row(f"k{i}", f"s{i}", h))
    for i, h in enumerate(stored[:50]):
        bits = rng.sample(range(64), 4)
        probe = h
        for b in bits:
            probe ^= 1 << b
        hit = _offer(d, _dup_row(f"p{i}", f"ps{i}", probe))
        assert hit is not None and hit[0] == "near"


def test_near_dedup_disabled_at_zero():
    d = Deduper(near_distance=0)
    assert _offer(d, _dup_row("a", "1", 5)) is None
    assert _offer(d, _dup_row("b", "2", 5)) is None


def test_splits_keep_source_split_and_are_deterministic():
    r = (0.8, 0.1, 0.1)
    assert assign_split("x", "test", "S1", "h", r) == "test"
    a = [assign_split("x", None, None, f"h{i}", r) for i in range(2000)]
    assert a == [assign_split("x", None, None, f"h{i}", r) for i in range(2000)]
    share = a.count("train") / len(a)
    assert 0.75 < share < 0.85
    # every image of one subject lands in one split
    assert len({assign_split("x", None, "S005", f"h{i}", r) for i in range(50)}) == 1


def test_leak_check_reports_subject_in_two_splits():
    lc = LeakCheck()
    lc.add("ck", "S005", "train")
    lc.add("ck", "S005", "test")
    lc.add("ck", "S006", "train")
    assert lc.leaks() == [{"dataset": "ck", "subject_id": "S005", "splits": ["test", "train"]}]


def test_recipe_roundtrip_and_errors(tmp_path):
    r = Recipe(datasets=["genki4k", "celeba:kaggle-csv"], workers=2)
    assert r.pinned() == [("genki4k", None), ("celeba", "kaggle-csv")]
    path = tmp_path / "recipe.yaml"
    path.write_text(r.to_yaml())
    assert load_recipe(path) == r
    path.write_text("datasets: [a]\nsplit_ratios: [0.5, 0.2, 0.2]\n")
    with pytest.raises(ManifestError, match="recipe.yaml:2: split_ratios"):
        load_recipe(path)


def test_atomic_dir_keeps_old_on_failure_and_recovers_crash(tmp_path):
    target = tmp_path / "corpus"
    with atomic_dir(target) as tmp:
        (tmp / "v").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "v").write_text("2")
        raise RuntimeError("killed")
    assert (target / "v").read_text() == "1"
    assert not list(tmp_path.glob(".corpus.*"))
    # a crash between the two renames: only `.corpus.old` exists
    os.replace(target, tmp_path / ".corpus.old")
    recover_dir(target)
    assert (target / "v").read_text() == "1"


def test_phash64_is_imagehash_phash():
    import imagehash
    from PIL import Image

    from facedata.assemble.worker import phash64
    from tests.helpers.photos import cat, face_variant

    faces = [face_variant(i, (112, 112)) for i in range(6)]
    for img in [*faces, *(f.convert("L") for f in faces), cat(), cat().convert("L")]:
        small = img.convert("L").resize((32, 32), Image.Resampling.BOX)
        assert phash64(img) == int(str(imagehash.phash(small)), 16)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_pixels_made_once_give_the_same_hash_and_face(mode):
    """The worker copies a photo's pixels out of Pillow once and hands them to the hash
    and the warp or resize: nothing may differ from each making its own copy."""
    import numpy as np

    from facedata.assemble.worker import pixel_sha256
    from facedata.faces import process_face
    from facedata.manifest.schema import FaceSpec
    from tests.helpers.photos import face_variant

    img = face_variant(3, (178, 218), mode)
    pixels = np.asarray(img)
    assert pixel_sha256(img, pixels) == pixel_sha256(img)
    five = [70.0, 110.0, 108.0, 110.0, 89.0, 132.0, 74.0, 152.0, 104.0, 152.0]
    for spec, points in ((FaceSpec(align="landmarks"), five), (FaceSpec(align="precropped"), None)):
        small = img.resize((48, 48)) if spec.align == "precropped" else img
        with_pixels = process_face(small, spec, points, None, pixels=np.asarray(small))
        alone = process_face(small, spec, points, None)
        assert with_pixels.image.tobytes() == alone.image.tobytes()
        assert with_pixels.align_status == alone.align_status


def test_build_refuses_to_replace_a_folder_that_is_not_a_corpus(tmp_path):
    from facedata.assemble.pipeline import build
    from facedata.errors import BuildError

    keep = tmp_path / "documents"
    keep.mkdir()
    (keep / "thesis.tex").write_text("precious")
    with pytest.raises(BuildError, match="not a facedata corpus"):
        build(Recipe(datasets=["genki4k"], out=keep))
    assert (keep / "thesis.tex").read_text() == "precious"


def test_build_cli_bad_options_are_clear(capsys):
    from tests.helpers.cli import run_cli

    res = run_cli(capsys, "build", "--datasets", "genki4k", "--size", "5")
    assert res.code == 1 and "size: Input should be greater than or equal to 32" in res.err
    res = run_cli(capsys, "build")
    assert res.code == 1 and "nothing to build" in res.err
    res = run_cli(capsys, "build", "--datasets", "genki4k", "--split-ratios", "0.5,0.2,0.2")
    assert res.code == 1 and "sum to 1" in res.err
    res = run_cli(capsys, "build", "--datasets", "genki4")
    assert res.code == 1 and "genki4k" in res.err
    assert "Traceback" not in res.err


def test_reader_flags_become_columns_and_stay_bounded():
    from facedata.assemble.worker import MAX_EXTRA_CHARS, reader_flags
    from facedata.read.sample import FileImage, Sample

    s = Sample(
        "affectnet",
        "k1",
        FileImage("x.jpg"),
        bbox=[10, 20, 30, 40],
        extra={"neutral_by_convention": True, "landmarks_error": "line 3: not a number",
               "video": "a.mp4", "time": 1.5},
    )  # fmt: skip
    flags = reader_flags(s)
    assert flags == {
        "label_by_convention": True,
        "source_bbox": [10.0, 20.0, 30.0, 40.0],
        "landmarks_error": "line 3: not a number",
        "source_extra": '{"time": 1.5, "video": "a.mp4"}',
    }
    assert reader_flags(Sample("d", "k", FileImage("y.jpg"))) == {
        "label_by_convention": False,
        "source_bbox": None,
        "landmarks_error": None,
        "source_extra": None,
    }
    huge = reader_flags(Sample("d", "k", FileImage("y.jpg"), extra={"note": "x" * 50_000}))
    assert len(huge["source_extra"]) < MAX_EXTRA_CHARS + 100


def test_arrow_without_pandas_skips_pyarrows_pandas_import_but_leaves_pandas_importable():
    from tests.helpers.fresh import run_python

    pytest.importorskip("pandas")
    code = (
        "import sys; from facedata.corpus.row import arrow_without_pandas, table_of\n"
        "arrow_without_pandas()\n"
        "table_of([])\n"  # a conversion: pyarrow would import pandas here
        "print('pandas' in sys.modules)\n"
        "import pandas; print(bool(pandas.__version__))\n"
    )
    out = run_python(code).stdout.split()
    assert out == ["False", "True"]


def test_a_build_process_skips_the_garbage_collection_at_exit():
    """for_build_work freezes the heap at exit, so the interpreter's last collection
    has nothing to walk; a handler registered earlier runs after it and sees that."""
    from tests.helpers.fresh import run_python

    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0))\n"
        "from facedata.assemble.process import for_build_work\n"
        "for_build_work()\n"
        "junk = [[i] for i in range(1000)]\n"
    )
    out = run_python(code).stdout.split()
    assert out == ["True"]


def _gc_threshold(_: int) -> tuple[int, int, int]:
    import gc

    return gc.get_threshold()


def test_build_workers_collect_garbage_less_often_and_leave_the_caller_alone():
    """Pool workers run with the build's GC threshold; the library's caller keeps its own
    (only the build's own processes opt in, see assemble.process)."""
    import gc
    from functools import partial

    from facedata.assemble.engines import get_engine
    from facedata.assemble.merge import worker_start
    from facedata.assemble.process import GC_THRESHOLD

    before = gc.get_threshold()  # an in-process CLI build (CliRunner) may have raised it
    gc.set_threshold(700, 10, 10)  # the interpreter's default, as a library caller has
    try:
        engine = get_engine("local", 2, initializer=partial(worker_start, os.getpid()))
        try:
            seen = set(engine.map(_gc_threshold, range(8)))
        finally:
            engine.close()
        assert seen == {GC_THRESHOLD}
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("source", "declared"), [("L", "L"), ("L", "RGB"), ("RGB", "RGB"), ("RGB", "L")]
)
def test_row_jpeg_is_byte_for_byte_what_pillow_writes(source, declared):
    """The worker's JPEG encoder must not change a corpus: the same bytes as Pillow's
    quality-95 save of the face converted to the corpus's declared mode."""
    import io

    from facedata.assemble.worker import encode
    from tests.helpers.photos import face_variant

    for i in range(8):
        img = face_variant(i, (112, 112), source)
        buf = io.BytesIO()
        img.convert(declared).save(buf, format="JPEG", quality=95)
        assert encode(img, "jpeg", declared) == buf.getvalue()
