"""Pixel text (FER2013's `pixels` column): the fast reader against the careful one.

`parse_pixels` first tries OpenCV's plain-PGM reader on text that is exactly n
space-separated ASCII numbers, and falls back to the careful parser for anything
else. Each property checks that the two give the same bytes or the same reason on
one text, so the fast path can never accept what the careful one refuses, nor read
a value differently. For a long local run::

    FACEDATA_FUZZ_EXAMPLES=20000 python -m pytest -q tests/formats/test_pixel_text.py
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedata.read.sample import _parse_careful, _parse_plain, parse_pixels
from tests.helpers.fuzz import fuzz_settings

FUZZ = fuzz_settings(300)

# numbers a hostile or damaged file can hold: in range, over 255, over 16 and 32 bits,
# leading zeros, signs, non-ASCII digits, comment and other characters OpenCV's
# reader would skip, and empty tokens
TOKENS = st.one_of(
    st.integers(0, 255).map(str),
    st.integers(0, 255).map(lambda v: f"00{v}"),
    st.sampled_from(["256", "999", "65535", "65536", "65791", "4294967296", "9" * 30]),
    st.sampled_from(["-1", "+5", "-0", "1e2", "0x10", "#3", "\u0661", "\u00b2", "", " ", "\t"]),
)
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\t", "\n", ",", "\r\n"])


@st.composite
def pixel_texts(draw) -> tuple[str, int]:
    tokens = draw(st.lists(TOKENS, min_size=0, max_size=12))
    seps = [draw(SEPARATORS) for _ in tokens]
    text = "".join(t + s for t, s in zip(tokens, seps, strict=True))
    if draw(st.booleans()):
        text = text.rstrip(" ")  # as FER2013 writes it: no trailing separator
    n = draw(st.sampled_from([max(len(tokens), 1), len(tokens) + 1, max(len(tokens) - 1, 1)]))
    return text, n


@FUZZ
@given(pixel_texts())
def test_fast_and_careful_readers_agree(case):
    text, n = case
    assert parse_pixels(text, n) == _parse_careful(text, n)


@FUZZ
@given(st.lists(st.integers(0, 255), min_size=1, max_size=3000))
def test_well_formed_text_takes_the_fast_path(values):
    text = " ".join(map(str, values))
    fast = _parse_plain(text, len(values))
    assert fast is not None, "well-formed pixel text should not need the careful parser"
    assert fast == bytes(values) == _parse_careful(text, len(values))


def test_a_fer2013_row_is_read_exactly():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 256, 48 * 48)
    text = " ".join(map(str, values))
    assert parse_pixels(text, 48 * 48) == values.astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    "text",
    [
        "1 2 256",  # in 16 bits: comes back as 256
        "1 2 65536",  # over 16 bits: OpenCV clips to 65535
        "1 2 4294967297",  # over 32 bits: OpenCV refuses
        "1  2",  # n - 1 spaces, but one run is empty
        "1 2 #3",  # a PGM comment
    ],
)
def test_text_the_fast_reader_would_misread_goes_to_the_careful_one(text):
    assert _parse_plain(text, 3) is None


def test_a_row_opencv_cannot_read_prints_nothing_and_leaves_the_environment_alone():
    """OpenCV logs its own error for text it fails on ("1  2": one number short); the
    row's reason is facedata's to give, once. OpenCV 4.x takes its log level only
    from OPENCV_LOG_LEVEL when loaded, which must not leak into child processes."""
    from tests.helpers.fresh import run_python

    code = (
        "import os\n"
        "from facedata.read.sample import parse_pixels\n"
        "print(parse_pixels('1  2', 3))\n"
        "print(parse_pixels('1 2 99999999999', 3))\n"
        "print('OPENCV_LOG_LEVEL' in os.environ)\n"
    )
    done = run_python(code)
    assert done.stdout.splitlines() == [
        "expected 3 pixel values, got 2",
        "pixel value outside 0..255",
        "False",
    ]
    assert done.stderr == ""
