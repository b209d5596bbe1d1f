"""A model file is untrusted input: checked before onnxruntime or torch acts on it.

Three rules. An ONNX model may not point at external data: a tensor whose bytes
live "elsewhere" (`/etc/passwd`, `../../..`) would be read from any path the model
names, so any tensor with an external location is refused, wherever it sits
(initializers, sparse initializers, constants in nodes, subgraphs, functions). The
check walks the protobuf wire format itself, so it needs neither the `onnx` package
nor trust in a parser that would follow the reference. The metadata a predictor
acts on (image size, mode, label names, heads) is validated with bounds, so a
crafted value is a clear error instead of a traceback or a 10^6-pixel resize. And
when the model card sits beside the file, the file's sha256 must be the one `train`
recorded there.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from facedata.errors import FacedataError
from facedata.learn.card import read_card, sha256_of
from facedata.vocabulary import HEADS

MAX_SIZE = 1024  # pixels per side; facedata's corpora are 32-512
MAX_LABELS = 256
MAX_DEPTH = 64  # nested messages; real models nest a handful deep
MODES = ("RGB", "L")

# protobuf field numbers (onnx.proto3) on the paths that can hold a TensorProto
_MODEL_GRAPH, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 20, 25
_TRAINING_GRAPHS = (1, 2)  # TrainingInfoProto: initialization, algorithm
_GRAPH_NODE, _GRAPH_INIT, _GRAPH_SPARSE = 1, 5, 15
_NODE_ATTR = 5
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS = 5, 6, 10, 11
_ATTR_SPARSE, _ATTR_SPARSES = 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_FUNC_NODE, _FUNC_ATTR_PROTO = 7, 11
_TENSOR_EXTERNAL, _TENSOR_LOCATION = 13, 14


class UntrustedModel(FacedataError):
    """A model file that asks for more than a facedata model may."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field, wire type, value) of one message; length-delimited values as bytes."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + n], pos + n
        elif wire == 5:
            value, pos = None, pos + 4
        else:
            raise ValueError(f"wire type {wire} is not protobuf 3")
        if pos > len(buf):
            raise ValueError("truncated message")
        out.append((field, wire, value))
    return out


def _sub(fields: list[tuple[int, int, Any]], *numbers: int) -> list[bytes]:
    return [v for f, w, v in fields if f in numbers and w == 2]


def _tensor(buf: bytes) -> bool:
    """Does this TensorProto keep its bytes outside the model?"""
    fields = _fields(buf)
    if _sub(fields, _TENSOR_EXTERNAL):
        return True
    return any(f == _TENSOR_LOCATION and w == 0 and v != 0 for f, w, v in fields)


def _sparse(buf: bytes) -> bool:
    return any(_tensor(t) for t in _sub(_fields(buf), _SPARSE_VALUES, _SPARSE_INDICES))


def _attribute(attr: bytes, depth: int) -> bool:
    fields = _fields(attr)
    if any(_tensor(t) for t in _sub(fields, _ATTR_T, _ATTR_TENSORS)):
        return True
    if any(_sparse(t) for t in _sub(fields, _ATTR_SPARSE, _ATTR_SPARSES)):
        return True
    return any(_graph(g, depth + 1) for g in _sub(fields, _ATTR_G, _ATTR_GRAPHS))


def _nodes(nodes: list[bytes], depth: int) -> bool:
    return any(
        _attribute(attr, depth) for node in nodes for attr in _sub(_fields(node), _NODE_ATTR)
    )


def _graph(buf: bytes, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        raise ValueError("subgraphs nest deeper than any facedata model")
    fields = _fields(buf)
    if any(_tensor(t) for t in _sub(fields, _GRAPH_INIT)):
        return True
    if any(_sparse(t) for t in _sub(fields, _GRAPH_SPARSE)):
        return True
    return _nodes(_sub(fields, _GRAPH_NODE), depth)


def has_external_data(model: bytes) -> bool:
    """True if any tensor of the serialized ModelProto names external data."""
    fields = _fields(model)
    if any(_graph(g) for g in _sub(fields, _MODEL_GRAPH)):
        return True
    for info in _sub(fields, _MODEL_TRAINING):
        if any(_graph(g) for g in _sub(_fields(info), *_TRAINING_GRAPHS)):
            return True
    for function in _sub(fields, _MODEL_FUNCTIONS):
        parts = _fields(function)
        if _nodes(_sub(parts, _FUNC_NODE), 0):
            return True
        if any(_attribute(a, 0) for a in _sub(parts, _FUNC_ATTR_PROTO)):
            return True
    return False


def check_onnx_bytes(data: bytes, path: Path) -> None:
    """Refuse external data (any location) and bytes that are not an ONNX model."""
    try:
        external = has_external_data(data)
    except (ValueError, IndexError, RecursionError) as exc:
        raise UntrustedModel(
            f"{path} is not a facedata model: not a readable ONNX file ({exc})",
            hint="pass the model.onnx `facedata train` wrote",
        ) from None
    if external:
        raise UntrustedModel(
            f"{path} refers to external data files for its weights; facedata models keep "
            "every weight inside the file, and a reference could read any file on this machine",
            hint="use the model.onnx `facedata train` wrote (or re-export it with the weights "
            "embedded)",
        )


def _bad(path: Path, what: str) -> UntrustedModel:
    return UntrustedModel(
        f"{path} is not a usable facedata model: its metadata {what}",
        hint="retrain with `facedata train`, or use the model file it wrote",
    )


def _json(value: str, key: str, path: Path) -> Any:
    if len(value) > 4_000_000:
        raise _bad(path, f"`{key}` is implausibly large")
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise _bad(path, f"`{key}` is not JSON") from None


def parse_onnx_meta(raw: dict[str, str], path: Path) -> dict[str, Any]:
    """The `facedata.*` metadata of an ONNX model, decoded and validated."""
    meta = {
        k.removeprefix("facedata."): _json(v, k, path)
        for k, v in raw.items()
        if k.startswith("facedata.")
    }
    return validate_meta(meta, path)


def _size(value: Any, path: Path) -> int:
    if value is None:
        return 112
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(path, f"image size {value!r} is not a number")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise _bad(path, f"image size {value!r} is not a whole number")
    if not 1 <= int(value) <= MAX_SIZE:
        raise _bad(path, f"image size {value!r} is outside 1..{MAX_SIZE}")
    return int(value)


def _names(value: Any, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise _bad(path, f"{what} labels are not a list of names")
    if len(value) > MAX_LABELS:
        raise _bad(path, f"{what} has {len(value)} labels (at most {MAX_LABELS})")
    return value


def validate_meta(meta: Any, path: Path) -> dict[str, Any]:
    """Check what the predictor acts on; return it with the image spec normalised."""
    if not isinstance(meta, dict):
        raise _bad(path, "is not a mapping")
    labels = meta.get("labels")
    if not isinstance(labels, dict) or "expression" not in labels:
        raise _bad(path, "has no label names (`facedata.labels`)")
    _names(labels["expression"], "expression", path)
    if "smile" in labels:
        _names(labels["smile"], "smile", path)
    image = meta.get("image") if meta.get("image") is not None else {}
    if not isinstance(image, dict):
        raise _bad(path, "image spec is not a mapping")
    mode = image.get("mode") or "RGB"
    if mode not in MODES:
        raise _bad(path, f"image mode {str(mode)[:40]!r} is not one of {', '.join(MODES)}")
    meta["image"] = {**image, "mode": mode, "size": _size(image.get("size"), path)}
    heads = meta.get("heads")
    if heads is not None and (
        not isinstance(heads, list) or not all(isinstance(h, str) and h in HEADS for h in heads)
    ):
        raise _bad(path, f"heads are not a list of {', '.join(HEADS)}")
    if "expression" in (heads or HEADS) and not labels["expression"]:
        raise _bad(path, "has an expression head without label names")
    detector = meta.get("detector")
    if detector is not None and not isinstance(detector, str):
        raise _bad(path, "detector is not a name")
    terms = meta.get("terms")
    if terms is not None and not (
        isinstance(terms, dict) and isinstance(terms.get("statement"), str)
    ):
        raise _bad(path, "terms record has no statement")
    return meta


def net_config(blob: Any, path: Path) -> dict[str, int | str]:
    """The network shape a model.pt asks for, bounded before any tensor is allocated:
    a width of 10^6 would ask for terabytes. `arch` is optional (models written before
    the light network load as `plain`) and must name a known architecture."""
    from facedata.learn.model import ARCHS

    config = blob.get("config") if isinstance(blob, dict) else None
    shape = {"channels", "expressions", "width"}
    if not isinstance(config, dict) or set(config) - {"arch"} != shape:
        raise _bad(path, "has no network config (channels, expressions, width)")
    arch = config.get("arch", "plain")
    if not isinstance(arch, str) or arch not in ARCHS:
        raise _bad(path, f"network arch {repr(arch)[:40]} is not one of {', '.join(ARCHS)}")
    bounds = {"channels": (1, 3), "expressions": (0, MAX_LABELS), "width": (1, 256)}
    for key, (low, high) in bounds.items():
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _bad(path, f"network {key} {value!r} is outside {low}..{high}")
    return {**{k: config[k] for k in shape}, "arch": arch}


def check_against_card(path: Path, data: bytes | None = None) -> bool:
    """With a model card beside `path`, the file (or `data`, its bytes as already read)
    must hash to what `train` recorded. Returns whether a card was there to check.
    """
    card = read_card(path.parent)
    if card is None:
        return False
    files = card.get("files")
    expected = files.get(path.name) if isinstance(files, dict) else None
    if not isinstance(expected, str):
        raise UntrustedModel(
            f"the model card beside {path} records no sha256 for {path.name}",
            hint="use the files `facedata train` wrote together, or retrain",
        )
    actual = hashlib.sha256(data).hexdigest() if data is not None else sha256_of(path)
    if actual != expected:
        raise UntrustedModel(
            f"{path} is not the file `facedata train` wrote: its sha256 {actual[:16]}… differs "
            f"from {expected[:16]}… recorded in the model card",
            hint="restore the model folder as training wrote it, or retrain",
        )
    return True
