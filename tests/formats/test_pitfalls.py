"""One test per parser pitfall in datasets.md section 11 (and the issue's list)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facedata.errors import ReaderError
from facedata.read import resolve_root
from tests.fixtures import layouts as L

from .conftest import read_fixture


def test_genki_sorted_labels_pair_by_line_and_carry_no_split(tmp_path: Path) -> None:
    exp = L.make_genki4k(tmp_path, n_smile=3, n_non=2)
    got = read_fixture(exp)
    smiles = [got.samples[f"files/file{n:04d}.jpg"].codes["smile"] for n in range(1, 6)]
    assert smiles == ["1", "1", "1", "0", "0"]  # line N <-> fileNNNN, sorted as on disk
    assert {s.split for s in got.samples.values()} == {None}  # build splits by hash
    assert got.samples["files/file0001.jpg"].pose is not None  # radians, as given


def test_genki_top_folder_name_is_a_glob(tmp_path: Path) -> None:
    exp = L.make_genki4k(tmp_path, n_smile=1, n_non=1)
    (tmp_path / "GENKI4K").rename(tmp_path / "genki4k")
    (tmp_path / "genki4k.tar").write_bytes(b"")  # archives are unpacked where they sit
    assert len(read_fixture(exp).samples) == 2


def test_smilesmiled_identical_images_in_both_classes_are_dropped(tmp_path: Path) -> None:
    exp = L.make_smilesmiled(tmp_path)
    got = read_fixture(exp)
    conflicts = [d for d in got.drops if d.reason == "conflicting duplicate"]
    assert sorted(d.where for d in conflicts) == [
        "negatives/negatives7/29.jpg",
        "negatives/negatives7/5.jpg",
        "positives/positives7/29.jpg",
        "positives/positives7/5.jpg",
    ]
    # same name, different picture: both kept, keyed apart
    assert "positives/positives7/2422.jpg" in got.samples
    assert "negatives/negatives7/2422.jpg" in got.samples


def test_mendeley_lists_crlf_junk_and_ppm(tmp_path: Path) -> None:
    exp = L.make_smile_lfwcrop(tmp_path)
    raw = (tmp_path / "SMILE_list.txt").read_bytes()
    assert b"\r\n" in raw
    got = read_fixture(exp)
    junk = sorted(d.where for d in got.drops)
    assert junk == ["NON-SMILE_list.txt:5", "SMILE_list.txt:3", "SMILE_list.txt:6"]
    assert all(k.endswith(".ppm") and "\r" not in k for k in got.samples)


def test_mendeley_lists_double_nested(tmp_path: Path) -> None:
    exp = L.make_smile_lfwcrop(tmp_path, nested=True)
    assert len(read_fixture(exp).samples) == len(exp.samples)


def test_mendeley_alphabet_split_is_visible_through_subject_ids(tmp_path: Path) -> None:
    got = read_fixture(L.make_smile_lfwcrop(tmp_path))
    smile = {s.subject_id for s in got.samples.values() if s.codes["smile"] == "SMILE_list"}
    non = {s.subject_id for s in got.samples.values() if s.codes["smile"] == "NON-SMILE_list"}
    assert max(non) < min(smile)  # classes split by name: subject-aware splits are needed


def test_celeba_header_asymmetry_crlf_padding_and_smiling_column(tmp_path: Path) -> None:
    exp = L.make_celeba(tmp_path)
    lines = (tmp_path / "Anno/list_attr_celeba.txt").read_bytes().split(b"\r\n")
    assert lines[1].endswith(b" ") and not lines[1].startswith(b"image_id")
    assert (
        (tmp_path / "Anno/list_bbox_celeba.txt")
        .read_bytes()
        .split(b"\r\n")[1]
        .startswith(b"image_id")
    )
    got = read_fixture(exp)
    for key, want in exp.samples.items():
        assert got.samples[key].codes == want.codes  # token 32 of the row = Smiling


def test_celeba_boxes_are_not_attached_to_aligned_images(tmp_path: Path) -> None:
    got = read_fixture(L.make_celeba(tmp_path))
    assert all(s.bbox is None for s in got.samples.values())
    first = got.samples["Img/img_align_celeba/000001.jpg"]
    assert first.landmarks is not None and all(0 <= v <= 218 for v in first.landmarks)
    assert first.subject_id is not None


def test_celeba_kaggle_double_nesting_and_no_identities(tmp_path: Path) -> None:
    got = read_fixture(L.make_celeba_kaggle(tmp_path))
    assert all(k.startswith("img_align_celeba/img_align_celeba/") for k in got.samples)
    assert {s.subject_id for s in got.samples.values()} == {None}


def test_icml_header_with_leading_spaces(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path, file="icml_face_data.csv")
    assert (tmp_path / "icml_face_data.csv").read_text().startswith("emotion, Usage, pixels")
    got = read_fixture(exp)
    assert len(got.samples) == len(exp.samples)
    img = got.samples["icml_face_data.csv:000001"].image
    assert (img.width, img.height, img.mode) == (48, 48, "L")
    assert img.to_pil().size == (48, 48)


def test_fer_test_csv_has_no_labels_and_is_counted(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path, file="test.csv")
    got = read_fixture(exp)
    assert not got.samples and got.drop_counts == {"unlabeled": 5}


def test_fer_train_csv_takes_its_split_from_options(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path, file="train.csv")
    got = read_fixture(exp)
    assert {s.split for s in got.samples.values()} == {"train"}


def test_fer_usage_maps_to_three_splits(tmp_path: Path) -> None:
    got = read_fixture(L.make_fer2013(tmp_path))
    assert {s.split for s in got.samples.values()} == {"train", "validation", "test"}


def test_msambare_same_file_name_in_two_class_folders(tmp_path: Path) -> None:
    got = read_fixture(L.make_fer2013_folders(tmp_path))
    assert got.samples["train/angry/Training_10.jpg"].codes == {"expression": "angry"}
    assert got.samples["train/happy/Training_10.jpg"].codes == {"expression": "happy"}


def test_affectnet_headerless_validation_csv(tmp_path: Path) -> None:
    exp = L.make_affectnet(tmp_path)
    text = (tmp_path / "Manually_Annotated_file_lists/validation.csv").read_text()
    assert not text.startswith("subDirectory_filePath")
    got = read_fixture(exp)
    assert sum(s.split == "validation" for s in got.samples.values()) == 4


def test_affectnet_landmarks_bbox_valence(tmp_path: Path) -> None:
    got = read_fixture(L.make_affectnet(tmp_path))
    s = next(iter(got.samples.values()))
    assert len(s.landmarks or []) == 136 and s.bbox is not None and len(s.bbox) == 4
    no_face = [s for s in got.samples.values() if s.codes["expression"] == "10"]
    assert no_face and no_face[0].valence is None  # -2 = not annotated


def test_affectnet_npy_layout(tmp_path: Path) -> None:
    got = read_fixture(L.make_affectnet_npy(tmp_path))
    s = got.samples["train_set/images/0.jpg"]
    assert s.codes == {"expression": "1"} and s.split == "train" and len(s.landmarks or []) == 136
    assert s.valence is not None and s.arousal == pytest.approx(0.25)


def test_affectnet_mirror_alphabetical_folders_map_by_name(tmp_path: Path, taxonomy) -> None:
    exp = L.make_affectnet_mirror(tmp_path)
    got = read_fixture(exp)
    assert got.samples["Train/anger/image0000601.jpg"].codes == {"expression": "anger"}
    assert {s.split for s in got.samples.values()} == {"train", "test"}


def test_rafdb_patition_spelling_one_based_codes_and_digit_widths(tmp_path: Path) -> None:
    exp = L.make_rafdb(tmp_path)
    assert (tmp_path / "basic/EmoLabel/list_patition_label.txt").is_file()
    got = read_fixture(exp)
    assert "Image/original/train_00001.jpg" in got.samples
    assert "Image/original/test_0001.jpg" in got.samples
    s = got.samples["Image/original/train_00001.jpg"]
    assert s.codes == {"expression": "2"} and s.subject_id is None
    assert len(s.landmarks or []) == 10 and s.bbox is not None
    assert set(s.extra) == {"gender", "race", "age_group"}


def test_rafdb_aligned_images_carry_no_original_coordinates(tmp_path: Path) -> None:
    exp = L.make_rafdb(tmp_path)
    got = read_fixture(exp, images="aligned")
    s = got.samples["Image/aligned/train_00001_aligned.jpg"]
    assert s.landmarks is None and s.bbox is None


def test_ckplus_float_codes_peak_only_and_first_frame_neutral(tmp_path: Path) -> None:
    exp = L.make_ckplus(tmp_path)
    text = (tmp_path / "Emotion/S005/001/S005_001_00000004_emotion.txt").read_text()
    assert text.strip() == "3.0000000e+00"
    got = read_fixture(exp)
    assert got.samples["S005/001/S005_001_00000004.png"].codes == {"expression": "3"}
    first = got.samples["S005/001/S005_001_00000001.png"]
    assert first.codes == {"expression": "0"} and first.extra["neutral_by_convention"]
    assert "S005/001/S005_001_00000002.png" not in got.samples  # not the peak
    assert first.subject_id == "S005" and len(first.landmarks or []) == 136


def test_ckplus_without_neutral_option_counts_unlabelled_sequences(tmp_path: Path) -> None:
    exp = L.make_ckplus(tmp_path, first_frame_neutral=False)
    got = read_fixture(exp)
    assert set(got.samples) == set(exp.samples)
    assert got.drop_counts == {"no emotion label": 2}


def test_ckplus_peak_frames_option(tmp_path: Path) -> None:
    exp = L.make_ckplus(tmp_path, first_frame_neutral=False)
    got = read_fixture(exp, peak_frames=2)
    assert got.samples["S005/001/S005_001_00000003.png"].codes == {"expression": "3"}


def test_ckextended_uses_fer_order_plus_contempt(tmp_path: Path, taxonomy) -> None:
    exp = L.make_ckplus_kaggle(tmp_path)
    from .conftest import manifest_for, remap_all

    labelled, _ = remap_all(manifest_for(exp), read_fixture(exp), taxonomy)
    values = [v.expression for v in labelled.values()]
    assert values.count("neutral") == max(values.count(x) for x in set(values))  # code 6
    assert "contempt" in values  # code 7


def test_trainingdatapro_one_folder_per_person(tmp_path: Path) -> None:
    got = read_fixture(L.make_trainingdatapro(tmp_path, people=2))
    s = got.samples["data/images/2/surprised.jpg"]
    assert s.codes == {"expression": "surprised"} and s.subject_id == "2"
    assert s.extra == {"age": "34", "gender": "Male", "country": "Ukraine"}


def test_root_glob_matching_nothing_or_several_lists_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "x.tar").write_bytes(b"")
    with pytest.raises(ReaderError, match="matches 2 folders") as several:
        resolve_root(tmp_path, "*", "genki4k")
    assert "a, b" in str(several.value)
    with pytest.raises(ReaderError, match="matches no folder") as none:
        resolve_root(tmp_path, "GENKI*", "genki4k")
    assert "x.tar" in str(none.value) and "a/" in str(none.value)


def test_pixel_rows_roundtrip(tmp_path: Path) -> None:
    exp = L.make_fer2013(tmp_path)
    got = read_fixture(exp)
    img = got.samples["fer2013.csv:000001"].image
    arr = np.asarray(img.to_pil())
    assert arr.shape == (48, 48) and arr.std() > 5  # a real face, not a flat fill
