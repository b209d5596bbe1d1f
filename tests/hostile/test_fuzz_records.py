"""Fuzzing the readers of files that arrive from other people: corpus.json (a corpus
received from someone else), the consent register and the clearance file.

The property, as for the manifest loader and the readers (test_fuzz.py): whatever
the bytes, reading ends in data or in a facedata error (never another exception,
never RecursionError, never a hang), and a corpus record that reads names only shard
files inside its corpus.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from facedata.consent.register import load_register
from facedata.corpus import read_corpus, shard_file
from facedata.errors import FacedataError
from facedata.gate.licensing import load_clearances
from tests.helpers.fuzz import fuzz_settings
from tests.hostile.test_fuzz import HOSTILE, mutated

FUZZ = fuzz_settings(25, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture)

RECORD = json.dumps(
    {
        "format": "facedata-corpus/2",
        "datasets": [{"id": "genki4k", "name": "GENKI-4K"}],
        "heads": {"expression": {"names": ["neutral", "happy"], "index": {"neutral": 0}}},
        "counts": {"total": 4, "splits": {"train": 4}},
        "shards": [{"path": "data/train-0-of-1.parquet", "split": "train", "rows": 4}],
    },
    indent=1,
)

json_value = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(HOSTILE), st.text()
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(HOSTILE), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(data=st.data())
def test_corpus_json_reader_never_crashes(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("c")
    (root / "data").mkdir()
    kind = data.draw(st.sampled_from(["mutated", "fields", "nested"]))
    if kind == "mutated":
        raw = data.draw(mutated(RECORD))
    elif kind == "fields":
        record = json.loads(RECORD)
        for key in data.draw(st.lists(st.sampled_from([*record, "shards", "tool"]), max_size=3)):
            record[key] = data.draw(json_value)
        shard = data.draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)))
        record["shards"] = [{"path": shard, "split": "train"}]
        raw = json.dumps(record).encode("utf-8", "surrogatepass")
    else:
        depth = data.draw(st.sampled_from([50, 101, 1000, 100_000]))
        raw = ('{"shards": ' + "[" * depth + "]" * depth + "}").encode()
    (root / "corpus.json").write_bytes(raw)
    try:
        record = read_corpus(root)
    except FacedataError:
        return
    for shard in record.shards:  # a record that reads names only files inside it
        with contextlib.suppress(FacedataError):
            assert str(shard_file(root, shard.path)).startswith(str(root.resolve()))


CONSENT = (
    "subject_id,scopes,signed,withdrawn\n"
    "P001,research;commercial,2026-01-10,\n"
    "P002,research,2025-05-01,2026-02-01\n"
)


@FUZZ
@given(data=st.data())
def test_consent_register_reader_never_crashes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("k") / "consent.csv"
    path.write_bytes(data.draw(mutated(CONSENT)))
    with contextlib.suppress(FacedataError):
        load_register(path)


CLEARANCES = """\
clearances:
  - dataset: own-data
    cleared_by: Legal team
    evidence: PO-1
    expires: 2099-01-01
  - detector: retinaface-mnet025
    cleared_by: Legal team
    evidence: WIDER FACE weights review WF-2026-2
    expires: 2099-12-31
"""


@FUZZ
@given(data=st.data())
def test_clearance_reader_never_crashes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("l") / "clearances.yaml"
    if data.draw(st.booleans()):
        raw = data.draw(mutated(CLEARANCES))
    else:
        items = data.draw(st.lists(json_value, max_size=3))
        raw = json.dumps({"clearances": items}).encode("utf-8", "surrogatepass")
    path.write_bytes(raw)
    with contextlib.suppress(FacedataError):
        load_clearances(path)
