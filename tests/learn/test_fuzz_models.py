"""Fuzzing the model readers: any bytes and any metadata end in a facedata error or
a validated result, never another exception (see docs/fuzzing.md for long runs)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from facedata.learn.untrusted import (
    UntrustedModel,
    check_onnx_bytes,
    has_external_data,
    parse_onnx_meta,
)
from tests.helpers.fuzz import fuzz_settings

WHERE = Path("model.onnx")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@fuzz_settings(200)
@given(st.binary(max_size=512))
def test_any_bytes_are_a_model_or_a_clear_refusal(data):
    with contextlib.suppress(UntrustedModel):
        check_onnx_bytes(data, WHERE)


@fuzz_settings(200)
@given(st.binary(max_size=256))
def test_the_external_data_walker_only_raises_value_errors(data):
    with contextlib.suppress(ValueError):
        has_external_data(data)


@fuzz_settings(300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "facedata.labels",
                "facedata.image",
                "facedata.heads",
                "facedata.detector",
                "facedata.terms",
                "other",
            ]
        ),
        json_values.map(json.dumps) | st.text(max_size=10),
    )
)
def test_any_metadata_is_validated_or_refused(raw):
    try:
        meta = parse_onnx_meta(raw, WHERE)
    except UntrustedModel:
        return
    assert 1 <= meta["image"]["size"] <= 1024 and meta["image"]["mode"] in ("RGB", "L")
    assert all(isinstance(n, str) for n in meta["labels"]["expression"])
