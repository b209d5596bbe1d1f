"""Hugging Face Parquet layouts: class names checked across their three sources, images
from bytes or paths, splits from shard names, memory bounded by record batches.

Shapes follow huggingface/datasets (src/datasets/arrow_dataset.py push_to_hub shard
names, src/datasets/features/features.py ClassLabel and the `huggingface` schema
metadata, src/datasets/data_files.py split patterns) and the Hub's card front matter.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from facedata.errors import ReaderError
from facedata.read.hfparquet import split_of
from facedata.read.sample import FileImage
from tests.fixtures import hf, layouts
from tests.helpers import photos

from .conftest import manifest_for, read


def test_a_card_that_disagrees_with_the_files_class_names_is_refused(tmp_path):
    exp = hf.make_fer2013_hf(tmp_path / "f")
    swapped = ["happy", *[n for n in hf.FER_NAMES if n != "happy"]]
    hf.write_card(exp.root, [hf.class_label_feature("label", swapped)])
    with pytest.raises(ReaderError) as err:
        read(manifest_for(exp), exp.root)
    assert "disagree" in err.value.message
    assert str(hf.FER_NAMES) in err.value.message and str(swapped) in err.value.message


def test_manifest_names_are_checked_against_the_files(tmp_path):
    exp = hf.make_fer2013_hf(tmp_path / "f", card=False)
    wrong = list(reversed(hf.FER_NAMES))
    with pytest.raises(ReaderError, match="format.options.names"):
        read(manifest_for(exp, names={"label": wrong}), exp.root)
    same = read(manifest_for(exp, names={"label": hf.FER_NAMES}), exp.root)
    assert {k: s.codes for k, s in same.samples.items()} == {
        k: s.codes for k, s in exp.samples.items()
    }


def _plain_parquet(path, labels, images):
    """A Parquet file with no `huggingface` metadata: int labels, image structs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "image": pa.array(images, pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            "label": pa.array(labels, pa.int64()),
        }
    )
    pq.write_table(table, path)


def _png(i):
    buf = io.BytesIO()
    photos.lfw_face(i, (48, 48), "L").save(buf, format="PNG")
    return buf.getvalue()


def test_without_a_classlabel_the_card_then_the_manifest_names_the_classes(tmp_path):
    root = tmp_path / "r"
    _plain_parquet(
        root / "data/train-00000-of-00001.parquet",
        [3, 0],
        [{"bytes": _png(1), "path": None}, {"bytes": _png(2), "path": None}],
    )
    exp = hf.make_fer2013_hf(tmp_path / "unused", card=False)  # format and labels blocks
    got = read(manifest_for(exp, names={"label": hf.FER_NAMES}), root)
    assert [s.codes for s in got.samples.values()] == [
        {"expression": "happy"},
        {"expression": "angry"},
    ]
    hf.write_card(root, [hf.class_label_feature("label", hf.FER_NAMES)])
    got = read(manifest_for(exp), root)  # the card alone
    assert [s.codes["expression"] for s in got.samples.values()] == ["happy", "angry"]
    # with neither, the raw index is the code, and the label map (by name) refuses it
    (root / "README.md").unlink()
    got = read(manifest_for(exp), root)
    assert [s.codes["expression"] for s in got.samples.values()] == ["3", "0"]


def test_images_by_path_are_read_beside_the_file_and_unsafe_paths_dropped(tmp_path):
    root = tmp_path / "r"
    (root / "data").mkdir(parents=True)
    photos.lfw_face(3, (48, 48), "L").save(root / "data" / "a.png")
    _plain_parquet(
        root / "data/test.parquet",
        [1, 2, 4],
        [
            {"bytes": None, "path": "a.png"},
            {"bytes": None, "path": "../../etc/passwd"},
            {"bytes": None, "path": None},
        ],
    )
    exp = hf.make_fer2013_hf(tmp_path / "unused", card=False)
    got = read(manifest_for(exp, names={"label": hf.FER_NAMES}), root)
    (sample,) = got.samples.values()
    assert isinstance(sample.image, FileImage) and sample.image.path.name == "a.png"
    assert sample.split == "test" and sample.codes == {"expression": "disgust"}
    assert got.drop_counts == {"unsafe path": 1, "no image": 1}


@pytest.mark.parametrize(
    "rel, split",
    [
        ("data/train-00000-of-00002.parquet", "train"),
        ("data/validation-00001-of-00002.parquet", "validation"),
        ("default/test/0000.parquet", "test"),  # the Hub's parquet conversion
        ("plain_text/valid-00000-of-00001.parquet", "validation"),
        ("train.parquet", "train"),
        ("data/extra-00000-of-00001.parquet", None),
    ],
)
def test_split_from_shard_names_and_folders(tmp_path, rel, split):
    path = tmp_path / rel
    assert split_of(path, tmp_path) == split


def test_a_missing_column_names_the_columns_there_are(tmp_path):
    exp = hf.make_fer2013_hf(tmp_path / "f")
    with pytest.raises(ReaderError) as err:
        read(manifest_for(exp, labels={"expression": "emotion"}), exp.root)
    assert "no column 'emotion'" in err.value.message and "image, label" in err.value.hint


def test_rows_are_read_a_record_batch_at_a_time(tmp_path):
    """Arrow's allocations while reading stay near one batch, not the file's size."""
    root = tmp_path / "big"
    blob = _png(5) + bytes(range(256)) * 160  # a PNG with trailing bytes: ~40 KB a row
    n = 2000
    path = root / "data/train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    table = pa.table(
        {
            "image": pa.array(
                [{"bytes": blob + i.to_bytes(4, "big") * 8, "path": None} for i in range(n)],
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
            "label": pa.array([3] * n, pa.int64()),
        }
    )
    pq.write_table(table, path, row_group_size=500, compression="none", use_dictionary=False)
    del table
    size = path.stat().st_size
    exp = hf.make_fer2013_hf(tmp_path / "unused", card=False)
    m = manifest_for(exp, names={"label": hf.FER_NAMES})
    pool = pa.default_memory_pool()
    base, peak, count = pool.bytes_allocated(), 0, 0
    from facedata.read import read_source

    for _item in read_source(m, m.sources[0], root):
        count += 1
        peak = max(peak, pool.bytes_allocated() - base)
    assert count == n + 1  # the rows and the count note
    assert size > 60_000_000
    assert peak < size // 2, (peak, size)  # about one row group (500 rows), not the file


def test_the_schema_metadata_is_what_datasets_writes(tmp_path):
    exp = hf.make_fer2013_hf(tmp_path / "f")
    meta = pq.ParquetFile(exp.root / "data/train-00000-of-00002.parquet").schema_arrow.metadata
    features = json.loads(meta[b"huggingface"])["info"]["features"]
    assert features["label"] == {"names": hf.FER_NAMES, "_type": "ClassLabel"}
    assert layouts  # the generators draw faces from the layouts' picture source


def test_a_string_column_of_paths_reads_the_image_folder_beside_it(tmp_path):
    """A table written with pandas (`df.to_parquet`) whose image column is a plain path
    string into the repository's image folder, as an `imagefolder` metadata file names
    its files (huggingface/datasets docs, image_dataset: `file_name` relative paths)."""
    root = tmp_path / "r"
    (root / "images").mkdir(parents=True)
    (root / "data").mkdir()
    photos.lfw_face(3, (48, 48), "L").save(root / "images" / "a.png")
    photos.lfw_face(4, (48, 48), "L").save(root / "data" / "b.png")
    table = pa.table(
        {
            "image": pa.array(["images/a.png", "b.png", "../x.png", ""], pa.string()),
            "label": pa.array([3, 5, 1, 2], pa.int64()),
        }
    )
    pq.write_table(table, root / "data" / "train-00000-of-00001.parquet")
    exp = hf.make_fer2013_hf(tmp_path / "unused", card=False)
    got = read(manifest_for(exp, names={"label": hf.FER_NAMES}), root)
    by_name = {s.image.path.name: s.codes["expression"] for s in got.samples.values()}
    assert by_name == {"a.png": "happy", "b.png": "surprise"}
    assert all(s.image.path.is_file() for s in got.samples.values())
    assert got.drop_counts == {"unsafe path": 1, "no image": 1}


@pytest.mark.parametrize("column", ["labels", "emotion"])
def test_a_label_column_named_another_way_says_how_to_describe_the_copy(tmp_path, column):
    """Uploads name the label column `labels` or `emotion` as often as `label`. The
    refusal says how to describe such a copy (a manifest written from its files), not
    to edit the options of a shipped manifest."""
    from datasets import ClassLabel, Features, Image

    exp = hf.make_fer2013_hf(tmp_path / "unused", card=False)
    root = tmp_path / "r"
    images = [{"bytes": _png(i), "path": None} for i in (1, 2)]
    features = Features({"image": Image(), column: ClassLabel(names=hf.FER_NAMES)})
    hf.write_shards(root, {"train": {"image": images, column: [3, 0]}}, features)
    with pytest.raises(ReaderError) as err:
        read(manifest_for(exp), root)
    assert f"image, {column}" in err.value.hint
    assert "manifest new --hf" in err.value.hint and "--manifests" in err.value.hint
