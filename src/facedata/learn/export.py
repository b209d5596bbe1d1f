"""`facedata export MODEL --out DIR`: what an application needs to run a model without
facedata: the detector and classifier ONNX files and one JSON file saying how to
feed them (docs/export.md has a reference loop in onnxruntime + numpy + OpenCV).

  detector.onnx          the RetinaFace network the model's corpus was aligned with
  classifier.onnx        aligned faces [N, C, S, S] in [0, 1] -> smile [N], expression [N, K]
  facedata-export.json   detector decoding, alignment template, size, mode, labels,
                         threshold, smoothing, and the model's terms
  README.md              the model card, where one lies beside the model

The terms travel with the files: the classifier's ONNX metadata entry `facedata.terms`
is copied into the JSON; a model without one is marked research-only, never assumed
free to use. The export folder replaces DIR only if DIR is empty or an earlier export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from facedata.errors import FacedataError
from facedata.faces import retinaface
from facedata.faces.align import template
from facedata.files.atomic import atomic_dir
from facedata.learn.notice import inert
from facedata.learn.outdir import check_replaceable
from facedata.learn.predict import Model, model_threshold
from facedata.learn.stream import LiveSettings
from facedata.vocabulary import HEADS, SMILE_NAMES

FORMAT = "facedata.export/1"
SPEC = "facedata-export.json"
DETECTOR = "detector.onnx"
CLASSIFIER = "classifier.onnx"
UNKNOWN_TERMS = {
    "known": False,
    "statement": "The terms of this model are unknown: treat it as research only, "
    "not for commercial use, until its owner says otherwise.",
}


class ExportError(FacedataError):
    """A model that cannot be exported, or a folder that must not be replaced."""


def _check_out(out: Path) -> None:
    check_replaceable(out, SPEC, ExportError, holds="export", kind="export")


def _detector(model: Model) -> tuple[bytes, dict[str, Any]]:
    from facedata.faces import get_detector

    name = model.detector or "retinaface-mnet025"
    if not name.startswith("retinaface"):
        raise ExportError(
            f"the model's detector {name} has no ONNX export",
            hint="export supports RetinaFace detectors; train on a corpus built with one",
        )
    det = get_detector(name)
    weights = det.weights
    data = weights.data if weights.data is not None else Path(weights.path).read_bytes()
    info = {
        "name": det.name,
        "sha256": det.weights_sha256,
        "terms": det.terms.to_dict(),
        "input": "NCHW float32, BGR, minus bgr_mean, any height and width",
        "bgr_mean": retinaface.BGR_MEAN.tolist(),
        "steps": list(retinaface.STEPS),
        "min_sizes": [list(s) for s in retinaface.MIN_SIZES],
        "variances": list(retinaface.VARIANCES),
        "score_threshold": det.score_threshold,
        "nms_threshold": det.nms_threshold,
    }
    return data, info


def spec(model: Model, settings: LiveSettings, detector: dict[str, Any]) -> dict[str, Any]:
    """The JSON an application reads (see docs/export.md for every field)."""
    live = settings.to_dict()
    terms = model.meta.get("terms")
    if isinstance(terms, str):  # a JSON string inside the metadata, decoded once more
        try:
            terms = json.loads(terms)
        except ValueError:
            terms = {"statement": terms}
    return {
        "format": FORMAT,
        "detector": {
            "file": DETECTOR,
            **detector,
            "detect_side": live["detect_side"],
            "detect_every": live["detect_every"],
            "reduction": "cv2.resize INTER_AREA to longest side detect_side",
        },
        "classifier": {
            "file": CLASSIFIER,
            "input": "image: NCHW float32 in [0, 1], batch free",
            "outputs": [OUTPUTS[h] for h in HEADS if h in model.heads],
            "heads": model.heads,
        },
        "preprocessing": {
            "alignment": "similarity (rotation, uniform scale, shift; no reflection) "
            "fitted by least squares (Umeyama) from the five points to the template",
            "points": "image-left eye, image-right eye, nose, mouth left, mouth right",
            "template": template(model.size).round(4).tolist(),
            "size": model.size,
            "mode": model.mode,
            "warp": "cv2.warpAffine INTER_LINEAR, BORDER_CONSTANT 0",
            "scale": "divide by 255",
        },
        "labels": {"smile": list(SMILE_NAMES), "expression": model.names},
        "threshold": live["threshold"],
        "smoothing": live["smoothing"],
        "terms": terms if terms else UNKNOWN_TERMS,
        # an expired clearance, edited terms, a head that learnt nothing
        "warnings": list(model.notice.warnings),
    }


def _refuse_withdrawn(model: Model) -> None:
    """A model marked as trained on someone who withdrew is not shipped: an export is
    how a model leaves facedata, and nothing outside it would ever warn again."""
    marks = model.notice.marks
    if marks:
        ids = ", ".join(sorted({str(m.get("subject_id")) for m in marks}))
        raise ExportError(
            f"{model.path} was trained on rows of subject(s) {inert(ids)}, who withdrew: "
            "it is not exported",
            hint="retrain it on the erased corpus (`facedata train`), then export the new model",
        )


OUTPUTS = {"smile": "smile (probability [N])", "expression": "expression (probabilities [N, K])"}


def export(model_path: Path, out: Path, settings: LiveSettings | None = None) -> dict[str, Any]:
    """Write the export folder `out`; return its JSON."""
    model = Model(model_path)
    _refuse_withdrawn(model)
    onnx_path = model.path if model.path.suffix == ".onnx" else model.path.with_suffix(".onnx")
    if not onnx_path.is_file():
        raise ExportError(f"no model.onnx beside {model.path}", hint="pass the model folder")
    if settings is None:
        settings = LiveSettings(threshold=model_threshold(model.meta))
    out = Path(out)
    _check_out(out)
    detector, info = _detector(model)
    doc = spec(model, settings, info)
    card = onnx_path.parent / "README.md"
    with atomic_dir(out) as tmp:
        (tmp / DETECTOR).write_bytes(detector)
        shutil.copyfile(onnx_path, tmp / CLASSIFIER)
        if card.is_file():
            shutil.copyfile(card, tmp / "README.md")
        else:
            (tmp / "README.md").write_text(_readme(doc), encoding="utf-8")
        (tmp / SPEC).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return doc


def _readme(doc: dict[str, Any]) -> str:
    terms = doc["terms"]
    said = terms.get("statement") or json.dumps(terms)
    return (
        "# facedata model export\n\n"
        f"Terms: {said}\n\n"
        f"Detector: {doc['detector']['name']} (weights: "
        f"{doc['detector']['terms'].get('weights_license', 'see facedata-export.json')}; "
        f"training data: {doc['detector']['terms'].get('training_data_terms', '')})\n\n"
        "How to run it: facedata-export.json and docs/export.md of facedata.\n"
    )
