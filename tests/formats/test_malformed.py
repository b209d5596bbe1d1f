"""Malformed input: a counted drop or a ReaderError that names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedata.errors import ReaderError
from facedata.read.sample import BadPixels
from tests.fixtures import layouts as L

from .conftest import manifest_for, read_fixture, remap_all


def _append(path: Path, text: str) -> None:
    with open(path, "ab") as fh:
        fh.write(text.encode())


def _drop(got, reason: str):
    found = [d for d in got.drops if d.reason == reason]
    assert len(found) == 1, got.drops
    return found[0]


def test_genki_short_row_bad_number_missing_image(tmp_path: Path) -> None:
    exp = L.make_genki4k(tmp_path, n_smile=2, n_non=2)
    labels = tmp_path / "GENKI4K/labels.txt"
    _append(labels, "1 0.1\n0 x 0.2 0.3\n1 0.1 0.2 0.3\n")  # lines 5, 6, 7
    (tmp_path / "GENKI4K/files/file0005.jpg").write_bytes(b"")
    (tmp_path / "GENKI4K/files/file0006.jpg").write_bytes(b"")
    got = read_fixture(exp)
    assert _drop(got, "malformed row").where == "labels.txt:5"
    assert _drop(got, "bad number").where == "labels.txt:6"
    missing = _drop(got, "missing image")
    assert missing.where == "labels.txt:7" and missing.detail == "files/file0007.jpg"
    assert len(got.samples) == 4


def test_genki_image_without_label_line_is_counted(tmp_path: Path) -> None:
    exp = L.make_genki4k(tmp_path, n_smile=1, n_non=1)
    (tmp_path / "GENKI4K/files/file0009.jpg").write_bytes(b"x")
    got = read_fixture(exp)
    assert _drop(got, "image without label").where == "files/file0009.jpg"


def test_unknown_code_is_a_counted_remap_drop(tmp_path: Path, taxonomy) -> None:
    exp = L.make_genki4k(tmp_path, n_smile=1, n_non=1)
    labels = tmp_path / "GENKI4K/labels.txt"
    labels.write_text(labels.read_text().replace("0 ", "2 ", 1))
    manifest = manifest_for(exp)
    _, drops = remap_all(manifest, read_fixture(exp), taxonomy)
    assert drops == {"unmapped smile code '2'": 1}


def test_pixels_short_row_and_bad_pixels(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path)
    csv_path = tmp_path / "fer2013/fer2013.csv"
    _append(csv_path, "3,1 2 3\n")  # line 16: 3 pixels
    _append(csv_path, "3," + " ".join(["300"] * 2304) + ",Training\n")  # line 17
    _append(csv_path, "3," + " ".join(["a"] * 2304) + ",Training\n")  # line 18
    got = read_fixture(exp)
    assert _drop(got, "malformed row").where == "fer2013.csv:16"
    bad = sorted(d.where for d in got.drops if d.reason == "bad pixels")
    assert bad == ["fer2013.csv:17", "fer2013.csv:18"]


def test_deferred_pixels_are_the_same_image_or_a_bad_pixels_error(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path)
    csv_path = tmp_path / "fer2013/fer2013.csv"
    _append(csv_path, "3," + " ".join(["300"] * 2304) + ",Training\n")  # line 16
    _append(csv_path, "3," + " ".join(["a"] * 2304) + ",Training\n")  # line 17
    eager = read_fixture(exp)
    lazy = read_fixture(exp, defer_pixels=True)
    assert not [d for d in lazy.drops if d.reason == "bad pixels"]
    refused = []
    for key, sample in lazy.samples.items():
        try:
            img = sample.image.to_pil()
        except BadPixels as exc:
            refused.append((sample.where, exc.reason))
            continue
        assert img.tobytes() == eager.samples[key].image.to_pil().tobytes()
    assert refused == [("fer2013.csv:16", "bad pixels"), ("fer2013.csv:17", "bad pixels")]
    assert len(lazy.samples) == len(eager.samples) + 2


def test_pixels_unknown_usage(tmp_path: Path) -> None:
    exp = L.make_ckplus_kaggle(tmp_path)
    _append(tmp_path / "ckextended.csv", "3," + " ".join(["9"] * 2304) + ",Holdout\n")
    got = read_fixture(exp)
    assert _drop(got, "unknown split").where == "ckextended.csv:14"


def test_affectnet_short_row_and_bad_landmarks(tmp_path: Path) -> None:
    exp = L.make_affectnet(tmp_path)
    path = tmp_path / "Manually_Annotated_file_lists/training.csv"
    _append(path, "1/x.jpg,1,2,3\n")  # line 14
    _append(path, "1/y.jpg,1,2,3,4,1.0;2.0,1,0.1,0.1\n")  # line 15
    _append(path, "1/z.jpg,1,2,3,4,,1,0.1,0.1\n")  # line 16: no image
    got = read_fixture(exp)
    assert _drop(got, "malformed row").where == "training.csv:14"
    assert "136" in _drop(got, "bad number").detail
    assert _drop(got, "missing image").where == "training.csv:16"


def test_celeba_short_attribute_row(tmp_path: Path) -> None:
    exp = L.make_celeba(tmp_path)
    _append(tmp_path / "Anno/list_attr_celeba.txt", "000013.jpg  1 -1\r\n")
    got = read_fixture(exp)
    drop = _drop(got, "malformed row")
    assert drop.where == "list_attr_celeba.txt:15" and "40" in drop.detail


def test_celeba_missing_count_line_is_a_reader_error(tmp_path: Path) -> None:
    exp = L.make_celeba(tmp_path)
    path = tmp_path / "Anno/list_attr_celeba.txt"
    path.write_bytes(path.read_bytes().split(b"\r\n", 1)[1])
    with pytest.raises(ReaderError, match=r"list_attr_celeba.txt:1") as err:
        read_fixture(exp)
    assert err.value.hint


def test_rafdb_missing_image_and_short_row(tmp_path: Path) -> None:
    exp = L.make_rafdb(tmp_path)
    labels = tmp_path / "basic/EmoLabel/list_patition_label.txt"
    _append(labels, "train_00099.jpg 3\ntrain_00100.jpg\n")
    got = read_fixture(exp)
    assert _drop(got, "missing image").where == "list_patition_label.txt:13"
    assert _drop(got, "malformed row").where == "list_patition_label.txt:14"


def test_ckplus_unparseable_emotion_file(tmp_path: Path) -> None:
    exp = L.make_ckplus(tmp_path)
    (tmp_path / "Emotion/S010/001/S010_001_00000004_emotion.txt").write_text("   3.5e+00\n")
    got = read_fixture(exp)
    drop = _drop(got, "bad label")
    assert drop.where == "Emotion/S010/001/S010_001_00000004_emotion.txt:1"


def test_missing_label_file_is_a_reader_error_with_hint(tmp_path: Path) -> None:
    exp = L.make_rafdb(tmp_path)
    (tmp_path / "basic/EmoLabel/list_patition_label.txt").unlink()
    with pytest.raises(ReaderError, match="patition") as err:
        read_fixture(exp)
    assert "patition" in (err.value.hint or "")
