"""FER+ (microsoft/FERPlus): majority labels by the paper's rule, votes as soft labels.

Layout and rules follow microsoft/FERPlus src/generate_training_data.py (the folders)
and src/ferplus.py (`_process_data`, mode "majority": single votes removed, a label
needs more than half of the rest, unknown and NF majorities dropped).
"""

from __future__ import annotations

import pytest

from facedata.corpus import iter_rows
from facedata.fetch import fetched
from facedata.manifest.catalog import Catalog
from facedata.read.ferplus import majority
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


def test_the_vote_file_beside_fer2013_gives_the_same_votes(tmp_path, capsys):
    """fer2013new.csv + fer2013.csv, paired row by row as generate_training_data.py does."""
    d = shapes.ferplus_votes_beside_fer2013(tmp_path / "made")
    assert run_cli(capsys, "fetch", "ferplus", "--from", str(d.path)).code == 0
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", "--datasets", "ferplus", "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    rows = {r["key"]: r for r in iter_rows(out, ["key", "expression", "expression_votes"])}
    lines = (tmp_path / "made" / "FERPlus-master" / "fer2013new.csv").read_text().splitlines()
    votes_by_key = {}
    for line in lines[1:]:
        usage, name, *votes = line.split(",")
        folder = layouts._FOLDER_USAGE_INV[usage]
        votes_by_key[f"{folder}/{name}"] = [float(v) for v in votes]
    assert set(rows) == set(d.expected.kept)
    for key, row in rows.items():
        raw = dict(zip(FERPLUS_TO_TAXONOMY.values(), votes_by_key[key][:8], strict=True))
        total = sum(raw.values())
        assert row["expression_votes"] == pytest.approx([raw[n] / total for n in ORDER]), key


def _reordered(path, keep):
    """fer2013.csv with its rows re-picked by `keep` (a list of data-row indexes)."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(lines[1 + i] for i in keep))


@pytest.mark.parametrize(
    "keep, said",
    [
        (lambda n: list(range(n))[::-1], "not in the same order"),  # sorted another way
        (lambda n: list(range(n - 1)), "must be the same length"),  # a truncated copy
    ],
)
def test_a_fer2013_csv_that_does_not_pair_is_refused(tmp_path, capsys, keep, said):
    made = tmp_path / "made" / "FERPlus-master"
    layouts.make_ferplus_csv(made)
    fer = made / "fer2013.csv"
    n = len(fer.read_text().splitlines()) - 1
    _reordered(fer, keep(n))
    res = run_cli(capsys, "fetch", "ferplus", "--from", str(made))
    assert res.code != 0
    assert said in res.err and "hint:" in res.err, res.err
    assert "Traceback" not in res.err
    assert fetched(Catalog.load().get("ferplus")) is None  # nothing registered


def test_the_vote_file_alone_says_what_it_lacks(tmp_path, capsys):
    made = tmp_path / "made" / "FERPlus-master"
    layouts.make_ferplus_csv(made)
    (made / "fer2013.csv").unlink()
    res = run_cli(capsys, "fetch", "ferplus", "--from", str(made))
    assert res.code != 0
    assert "fer2013new.csv + fer2013.csv" in res.err, res.err
    assert fetched(Catalog.load().get("ferplus")) is None  # nothing registered
