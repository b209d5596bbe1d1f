"""FER+ (microsoft/FERPlus): majority labels by the paper's rule, votes as soft labels.

Layout and rules follow microsoft/FERPlus src/generate_training_data.py (the folders)
and src/ferplus.py (`_process_data`, mode "majority": single votes removed, a label
needs more than half of the rest, unknown and NF majorities dropped).
"""

from __future__ import annotations

import pytest

from facedata.corpus import iter_rows
from facedata.formats.ferplus import majority
from tests.deliveries import shapes
from tests.fixtures import layouts
from tests.helpers.cli import run_cli

ORDER = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt"]
FERPLUS_TO_TAXONOMY = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
}


@pytest.mark.parametrize(
    "votes, code",
    [
        ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], None),  # 4 of 9 kept votes: no majority
        ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None),  # a tie never has a majority
        ([6, 4, 0, 0, 0, 0, 0, 0, 0, 0], "neutral"),
        ([1, 1, 1, 1, 1, 1, 1, 3, 0, 0], "contempt"),  # the single votes are outliers
        ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], None),  # nothing left after outlier removal
        ([0, 0, 0, 0, 0, 0, 0, 0, 6, 4], "unknown"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], None),
    ],
)
def test_majority_follows_the_ferplus_rule(votes, code):
    assert majority([float(v) for v in votes]) == code


def test_the_votes_reach_the_corpus_as_shares_in_the_taxonomy_order(tmp_path, capsys):
    d = shapes.ferplus_data_folder(tmp_path / "made")
    assert run_cli(capsys, "fetch", "ferplus", "--from", str(d.path)).code == 0
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", "--datasets", "ferplus", "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    rows = {r["key"]: r for r in iter_rows(out, ["key", "expression", "expression_votes"])}
    votes_by_key = {
        f"{folder}/fer{i:07d}.png": votes
        for i, (folder, votes, _) in enumerate(layouts._FERPLUS_ROWS)
    }
    assert set(rows) == set(d.expected.kept)
    for key, row in rows.items():
        raw = dict(zip(FERPLUS_TO_TAXONOMY.values(), votes_by_key[key][:8], strict=True))
        total = sum(raw.values())
        want = [raw[name] / total for name in ORDER]
        assert row["expression_votes"] == pytest.approx(want), key
        assert ORDER[max(range(8), key=lambda i: want[i])] == row["expression"], key


def test_other_datasets_leave_the_votes_null(tmp_path, capsys):
    d = shapes.genki_extracted(tmp_path / "made")
    assert run_cli(capsys, "fetch", "genki4k", "--from", str(d.path)).code == 0
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", "--datasets", "genki4k", "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    assert all(r["expression_votes"] is None for r in iter_rows(out, ["expression_votes"]))
