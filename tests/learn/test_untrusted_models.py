"""A model file is untrusted input: external data and crafted metadata are refused.

The models here are built with onnx.helper (no training), each a one-op graph that
onnxruntime would run, carrying facedata's metadata keys.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import aligned_face
from tests.helpers.extras import needs, optional

pytestmark = needs("onnx", "onnxruntime")
onnx = optional("onnx")
if onnx is not None:  # without the extra every test here skips (pytestmark)
    from onnx import TensorProto, helper, numpy_helper

LABELS = {"smile": ["no_smile", "smile"], "expression": ["neutral", "happy"]}
IMAGE = {"mode": "RGB", "size": 32, "channels": 3}


def _model(meta: dict | None = None, external: str | None = None, where: str = "init") -> bytes:
    """image [N,3,32,32] -> smile [N] (a mean) and expression [N,2]; optionally external."""
    weight = numpy_helper.from_array(np.ones((1,), np.float32), "w")
    if external is not None:
        weight.ClearField("float_data")
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for k, v in (("location", external), ("offset", "0"), ("length", "4")):
            e = weight.external_data.add()
            e.key, e.value = k, v
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["m", "w"], ["smile"]),
        helper.make_node("ReduceMean", ["image"], ["e1"], axes=[2, 3], keepdims=0),
        helper.make_node("Slice", ["e1", "s0", "s1", "s2"], ["expression"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "s0"),
        numpy_helper.from_array(np.array([2], np.int64), "s1"),
        numpy_helper.from_array(np.array([1], np.int64), "s2"),
    ]
    if where == "init":
        inits.append(weight)
    else:  # the weight as a Constant node's tensor attribute
        nodes.insert(0, helper.make_node("Constant", [], ["w"], value=weight))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [
            helper.make_tensor_value_info("smile", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("expression", TensorProto.FLOAT, ["N", 2]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    base = {"labels": LABELS, "image": IMAGE, "heads": ["smile", "expression"]}
    for key, value in {**base, **(meta or {})}.items():
        entry = model.metadata_props.add()
        entry.key = f"facedata.{key}"
        entry.value = value if isinstance(value, str) else json.dumps(value)
    return model.SerializeToString()


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _img(tmp_path: Path) -> Path:
    face = tmp_path / "face.png"
    aligned_face(1, 32).save(face)
    return face


def _predict(capsys, tmp_path: Path, data: bytes):
    path, face = _write(tmp_path, data), _img(tmp_path)
    return run_cli(capsys, "predict", str(path), str(face), "--whole-frame", "--json")


def test_a_plain_crafted_model_runs(tmp_path, capsys):
    """The fixture itself is a working model: the refusals below are about one change."""
    res = _predict(capsys, tmp_path, _model())
    assert res.code == 0, res.err
    body = json.loads(res.out)
    assert set(body["expression"]) == {"neutral", "happy"}
    assert "terms not recorded" in body["model"]["banner"]


@pytest.mark.parametrize("location", ["/etc/passwd", "../../../etc/passwd", "weights.bin"])
@pytest.mark.parametrize("where", ["init", "constant"])
def test_external_data_is_refused_before_loading(tmp_path, capsys, location, where):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.bin").write_bytes(b"\0\0\x80?")  # a readable 1.0
    res = _predict(capsys, tmp_path, _model(external=location, where=where))
    assert res.code != 0
    assert "external data" in res.err and "Traceback" not in res.err


def test_external_data_in_a_subgraph_is_refused(tmp_path):
    from facedata.learn.untrusted import has_external_data

    inner = onnx.load_from_string(_model(external="/etc/passwd"))
    outer = onnx.load_from_string(_model())
    branch = helper.make_graph([], "b", [], [], list(inner.graph.initializer))
    node = helper.make_node("If", ["c"], ["o"], then_branch=branch, else_branch=branch)
    outer.graph.node.append(node)
    assert has_external_data(outer.SerializeToString())
    assert not has_external_data(_model())


def test_external_data_in_functions_and_training_graphs_is_refused():
    from facedata.learn.untrusted import has_external_data

    bad = onnx.load_from_string(_model(external="/etc/passwd")).graph.initializer[-1]
    model = onnx.load_from_string(_model())
    const = helper.make_node("Constant", [], ["y"], value=bad)
    model.functions.append(
        helper.make_function("local", "f", ["x"], ["y"], [const], [helper.make_opsetid("", 17)])
    )
    assert has_external_data(model.SerializeToString())
    model = onnx.load_from_string(_model())
    info = model.training_info.add()
    info.initialization.CopyFrom(helper.make_graph([], "init", [], [], [bad]))
    assert has_external_data(model.SerializeToString())


BAD_META = [
    ({"image": {"mode": "RGB", "size": 10**6}}, "outside"),
    ({"image": {"mode": "RGB", "size": -3}}, "outside"),
    ({"image": {"mode": "RGB", "size": math.nan}}, "whole number"),
    ({"image": {"mode": "RGB", "size": "32"}}, "not a number"),
    ({"image": {"mode": "CMYK", "size": 32}}, "image mode"),
    ({"image": [1, 2]}, "not a mapping"),
    ({"labels": {"smile": ["a", "b"], "expression": "happy"}}, "not a list"),
    ({"labels": {"smile": ["a", "b"], "expression": [1, 2]}}, "not a list"),
    ({"labels": None}, "no label names"),
    ({"heads": ["smile", "gender"]}, "heads"),
    ({"terms": {"banner": "x"}}, "no statement"),
    ({"labels": "{" * 100_000}, "not JSON"),
]


@pytest.mark.parametrize(("meta", "said"), BAD_META)
def test_crafted_metadata_is_a_clear_error(tmp_path, capsys, meta, said):
    res = _predict(capsys, tmp_path, _model(meta))
    assert res.code != 0, res.out
    assert said in res.err and "Traceback" not in res.err


def test_garbage_bytes_are_not_a_model(tmp_path, capsys):
    res = _predict(capsys, tmp_path, b"\x0a\xff\xff\xff\xff\xff\xff")
    assert res.code != 0 and "not a facedata model" in res.err and "Traceback" not in res.err


def test_terminal_escapes_in_a_models_terms_are_made_inert(tmp_path, capsys):
    terms = {"statement": "ok", "banner": "research only\x1b]0;pwned\x07\x1b[2J\u202e"}
    res = run_cli(
        capsys,
        "predict",
        str(_write(tmp_path, _model({"terms": terms}))),
        str(_img(tmp_path)),
        "--whole-frame",
    )
    assert res.code == 0, res.err
    assert "\x1b" not in res.err and "\x07" not in res.err and "\u202e" not in res.err
    assert "research only\\u001b]0;pwned" in res.err


def test_a_hand_edited_model_registry_is_read_without_a_traceback(tmp_path, capsys):
    registry = tmp_path / "home" / "models.json"
    registry.parent.mkdir(parents=True)
    entry = {"path": str(tmp_path / "m"), "marks": "oops", "heads": 3, "subjects": []}
    registry.write_text(json.dumps({"models": [entry]}))
    res = run_cli(capsys, "models")
    assert res.code == 0 and "Traceback" not in res.err
    assert run_cli(capsys, "models", "--json").code == 0


@pytest.mark.parametrize(
    "config",
    [
        {"channels": 3, "expressions": 8, "width": 10**6},
        {"channels": 3, "expressions": -1, "width": 8},
        {"channels": "3", "expressions": 8, "width": 8},
        {"channels": 3, "expressions": 8},
    ],
)
def test_a_crafted_model_pt_config_is_refused_before_allocating(tmp_path, capsys, config):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    blob = {"state_dict": {}, "config": config, "labels": LABELS, "image": IMAGE}
    torch.save(blob, path)
    res = run_cli(capsys, "predict", str(path), str(_img(tmp_path)), "--whole-frame")
    assert res.code != 0 and "network" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("picked", [0.01, 0.99])
def test_predict_uses_the_threshold_train_picked(tmp_path, capsys, picked):
    """train reports the threshold it picked on validation; predict's verdict must use it
    (as live and export do), not a fixed 0.8 the user never chose."""
    path, face = _write(tmp_path, _model({"threshold": picked})), _img(tmp_path)
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].rstrip().endswith(f"threshold {picked:.2f}")
    assert lines[-1].startswith("verdict: SMILING" if picked < 0.5 else "verdict: NOT SMILING")
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame", "--threshold", "0.5")
    assert res.code == 0 and res.out.splitlines()[0].rstrip().endswith("threshold 0.50")


@pytest.mark.parametrize("bad", ['"0.7"', 7, -1, True, None, [0.5]])
def test_a_crafted_threshold_is_a_clear_error(tmp_path, capsys, bad):
    path, face = _write(tmp_path, _model({"threshold": bad})), _img(tmp_path)
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame")
    if bad is None:  # JSON null: no threshold recorded, the documented 0.8
        assert res.code == 0 and "threshold 0.80" in res.out
        return
    assert res.code != 0 and "not a probability" in res.err and "Traceback" not in res.err


def test_a_threshold_two_decimals_would_round_is_shown_in_full(tmp_path, capsys):
    """49.16% beside "threshold 0.49" and NOT SMILING reads as a contradiction."""
    from facedata.learn.metrics import threshold_text

    assert threshold_text(0.8) == "0.80" and threshold_text(0.49351) == "0.4935"
    path, face = _write(tmp_path, _model({"threshold": 0.49351})), _img(tmp_path)
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame")
    assert res.code == 0, res.err
    assert res.out.splitlines()[0].rstrip().endswith("threshold 0.4935")
