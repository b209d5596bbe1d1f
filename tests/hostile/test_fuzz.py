"""Property-based fuzzing of the manifest loader and every reader's label parser.

The property: whatever bytes a manifest or label file holds, loading or reading ends
in data or in a facedata error (never another exception, never a hang), and every
image a reader yields resolves inside the dataset's folder.

CI runs a short budget per target. For a long local run (see docs/fuzzing.md)::

    FACEDATA_FUZZ_EXAMPLES=20000 python -m pytest -q tests/hostile/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import facedata.files.confine as confine
from facedata.errors import FacedataError
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import load_manifest
from facedata.paths import builtin_manifest_dir
from facedata.read import read_source
from facedata.read.sample import FileImage, Sample
from tests.fixtures import layouts
from tests.formats.conftest import manifest_for
from tests.helpers.fuzz import fuzz_settings

FUZZ = fuzz_settings(25, HealthCheck.data_too_large)

# Tokens that broke parsers before: paths leaving the root, names the file system
# refuses, numbers C cannot hold, bytes that are not text, separators in odd places.
HOSTILE = [
    "../../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a" * 300 + ".jpg",
    "x/" * 2100 + "y.jpg",
    "9" * 5000,
    "99999999999999999999999",
    "-1",
    "1e309",
    "nan",
    "-inf",
    "\x00",
    "\ufeff",
    "caf\u00e9",
    ",",
    '"',
    '"",""',
    "\t",
    "\r",
    " ",
    "{n}",
    "&a [*a]",
    "*a",
    "? [a]",
    "!!python/object:os.system",
    "[" * 100,
]

token = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


@st.composite
def mutated(draw: st.DrawFn, text: str) -> bytes:
    """`text` with a few lines and tokens changed, dropped or added, maybe some raw bytes."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["token", "line", "drop", "dup", "cut"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "token" and lines:
            words = lines[i].split(" ")
            j = draw(st.integers(0, len(words) - 1))
            words[j] = draw(token)
            lines[i] = " ".join(words)
        elif op == "line":
            lines.insert(i, " ".join(draw(st.lists(token, max_size=5))) + "\n")
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "cut" and lines:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    data = "".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data


# -- the manifest loader


def _manifest_texts() -> list[str]:
    folder = builtin_manifest_dir()
    return [p.read_text() for p in sorted(folder.glob("*.yaml")) if p.name != "taxonomy.yaml"][:6]


TEXTS = _manifest_texts()


@FUZZ
@given(data=st.data())
def test_manifest_loader_never_crashes(tmp_path_factory, data):
    text = data.draw(st.sampled_from(TEXTS))
    raw = data.draw(mutated(text))
    path = tmp_path_factory.mktemp("m") / "fuzz.yaml"
    path.write_bytes(raw)
    with contextlib.suppress(FacedataError):
        load_manifest(path, TAXONOMY)


yaml_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(HOSTILE)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(HOSTILE), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["format", "sources", "labels", "id"]), yaml_value))
def test_manifest_fields_of_any_shape(tmp_path_factory, fields):
    base = yaml.safe_load(TEXTS[0])
    path = tmp_path_factory.mktemp("m") / "fuzz.yaml"
    path.write_text(yaml.safe_dump({**base, **fields}, allow_unicode=True))
    with contextlib.suppress(FacedataError):
        load_manifest(path, TAXONOMY)


TAXONOMY = load_taxonomy()

# -- every reader's label parser

READERS = {
    "celeba": (layouts.make_celeba, "Anno/list_attr_celeba.txt"),
    "celeba_csv": (layouts.make_celeba_kaggle, "list_attr_celeba.csv"),
    "genki": (layouts.make_genki4k, "GENKI4K/labels.txt"),
    "pixels_csv": (layouts.make_fer2013, "fer2013/fer2013.csv"),
    "rafdb": (layouts.make_rafdb, "basic/EmoLabel/list_patition_label.txt"),
    "affectnet_csv": (layouts.make_affectnet, "Manually_Annotated_file_lists/training.csv"),
    "lfwcrop_lists": (layouts.make_smile_lfwcrop, "SMILE_list.txt"),
    "smilesmiled": (
        layouts.make_smilesmiled,
        "SMILEsmileD-master/SMILEs/positives/smiles_01_pos.idx",
    ),
    "trainingdatapro": (
        layouts.make_trainingdatapro,
        "data/facial-emotion-recognition-dataset.csv",
    ),
}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    made = {}
    for name, (make, label) in READERS.items():
        root = tmp_path_factory.mktemp(name) / "ds"
        exp = make(root)
        path = root / label
        made[name] = (exp, path, path.read_bytes())
    return made


@pytest.mark.parametrize("reader", sorted(READERS))
def test_label_parser_never_crashes(fixtures, reader):
    exp, label, original = fixtures[reader]
    manifest = manifest_for(exp)
    root = exp.root

    @FUZZ
    @given(raw=mutated(original.decode("utf-8", "replace")))
    def run(raw: bytes) -> None:
        label.write_bytes(raw)
        try:
            for item in read_source(manifest, manifest.sources[0], root):
                if isinstance(item, Sample) and isinstance(item.image, FileImage):
                    assert confine.is_inside(root, item.image.path), item.image.path
        except FacedataError:
            pass

    try:
        run()
    finally:
        label.write_bytes(original)


def test_fixtures_are_fresh_copies(fixtures):
    """The fuzz writes into its own fixtures only; they are rebuilt per module."""
    for exp, label, original in fixtures.values():
        assert label.read_bytes() == original
        assert exp.root.is_dir()
    assert shutil.which("true") or True
