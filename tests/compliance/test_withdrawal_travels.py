"""A withdrawal follows the recordings: copies, new ids, other homes, and builds in flight."""

from __future__ import annotations

import json
import shutil

import facedata.assemble.pipeline as pipeline
from facedata.consent.owndata import new_local_manifest

from .conftest import corpus, subjects


def _copy_elsewhere(team, tmp_path, monkeypatch, new_id: str, keep_withdrawals: bool = True):
    """The recordings copied to another place, registered under `new_id` in another
    manifest folder, built under another FACEDATA_HOME (another machine)."""
    other = tmp_path / "elsewhere"
    shutil.copytree(team.rec, other / "recordings")
    if not keep_withdrawals:
        (other / "recordings" / "withdrawals.jsonl").unlink(missing_ok=True)
    (other / "manifests").mkdir(parents=True)
    new_local_manifest(other / "recordings", new_id, out=other / "manifests" / f"{new_id}.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(other / "manifests"))
    monkeypatch.setenv("FACEDATA_HOME", str(other / "home"))
    return other


def test_forget_writes_beside_the_register(team):
    assert team.build("r").code == 0
    res = team.cli("forget", "--subject", "P001")
    assert res.code == 0, res.err
    lines = (team.rec / "withdrawals.jsonl").read_text().splitlines()
    entry = json.loads(lines[-1])
    assert entry["subject_id"] == "P001" and entry["dataset"] == "own-data"
    assert len(entry["recordings"]) == 1  # the sha256 of P001_a.mp4
    assert team.ledger()[-1]["recordings"] == entry["recordings"]
    # append-only: a second withdrawal adds a line, the first stays byte for byte
    assert team.cli("forget", "--subject", "P003").code == 0
    again = (team.rec / "withdrawals.jsonl").read_text().splitlines()
    assert again[: len(lines)] == lines and len(again) == len(lines) + 1


def test_a_copy_under_a_new_id_on_another_home_drops_the_subject(team, tmp_path, monkeypatch):
    assert team.build("r").code == 0
    assert team.cli("forget", "--subject", "P001").code == 0
    _copy_elsewhere(team, tmp_path, monkeypatch, "team-b-data")
    res = team.build("copy", datasets="team-b-data")
    assert res.code == 0, res.err
    assert subjects(team.out("copy")) == {"P002", "P003"}
    assert {f["subject_id"] for f in corpus(team.out("copy"))["forgotten"]} == {"P001"}


def test_a_dataset_scoped_withdrawal_catches_a_copy_by_content(team, tmp_path, monkeypatch):
    assert team.build("r").code == 0
    assert team.cli("forget", "--subject", "P001", "--dataset", "own-data").code == 0
    # the same bytes under another id in another manifest folder, same home, no
    # withdrawals file copied: the ledger's recording hashes still catch it
    other = tmp_path / "copy2"
    shutil.copytree(team.rec, other / "recordings")
    (other / "recordings" / "withdrawals.jsonl").unlink()
    (other / "manifests").mkdir()
    new_local_manifest(other / "recordings", "renamed", out=other / "manifests" / "renamed.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(other / "manifests"))
    res = team.build("copy", datasets="renamed")
    assert res.code == 0, res.err
    assert "P001" not in subjects(team.out("copy"))


def test_a_withdrawal_during_the_build_is_never_published(team, monkeypatch):
    assert team.build("first").code == 0
    real = pipeline.run_sharded

    def withdraw_midway(*args, **kwargs):
        shards = real(*args, **kwargs)
        res = team.cli("forget", "--subject", "P003")  # while the build is running
        assert res.code == 0, res.err
        return shards

    monkeypatch.setattr(pipeline, "run_sharded", withdraw_midway)
    res = team.build("second")
    assert res.code == 0, res.err
    out = team.out("second")
    assert "P003" not in subjects(out)
    forgotten = corpus(out)["forgotten"]
    assert [f["subject_id"] for f in forgotten] == ["P003"]
    assert forgotten[0]["rows_removed"] == 1
    assert corpus(out)["counts"]["total"] == len(subjects(out)) + 1  # P001's two frames
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".second.")]
    assert leftovers in ([], [".second.lock"])


def test_a_register_kept_apart_from_the_recordings(team, tmp_path, monkeypatch):
    import yaml

    # the register lives in an office folder, the recordings elsewhere
    office = tmp_path / "office"
    office.mkdir()
    shutil.move(team.rec / "consent.csv", office / "consent.csv")
    data = yaml.safe_load(team.manifest.read_text())
    data["sources"][0]["consent"] = str(office / "consent.csv")
    team.manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    assert team.build("r").code == 0
    assert team.cli("forget", "--subject", "P001").code == 0
    assert (office / "withdrawals.jsonl").is_file()
    assert (team.rec / "withdrawals.jsonl").is_file()
    # only the recordings folder is copied; its new owner writes a copy of the register
    other = tmp_path / "b"
    shutil.copytree(team.rec, other / "recordings")
    shutil.copy(office / "consent.csv", other / "recordings" / "consent.csv")
    (other / "manifests").mkdir()
    new_local_manifest(other / "recordings", "b-data", out=other / "manifests" / "b-data.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(other / "manifests"))
    monkeypatch.setenv("FACEDATA_HOME", str(other / "home"))
    res = team.build("b", datasets="b-data")
    assert res.code == 0, res.err
    assert "P001" not in subjects(team.out("b"))


def test_a_damaged_withdrawals_file_stops_the_build(team):
    (team.rec / "withdrawals.jsonl").write_text('{"subject_id": "P001", "when": "2026-12-01"}\n{\n')
    res = team.build("r")
    assert res.code != 0 and "withdrawals.jsonl:2" in res.err
    assert not team.out("r").exists()


def test_an_unwritable_withdrawals_file_still_erases_and_says_what_failed(team):
    assert team.build("r").code == 0
    (team.rec / "withdrawals.jsonl").mkdir()  # cannot be written, even by root
    res = team.cli("forget", "--subject", "P003")
    assert res.code != 0 and "withdrawals.jsonl" in res.err and "Traceback" not in res.err
    assert "could not be recorded with the recordings" in " ".join(res.err.split())
    assert "P003" not in subjects(team.out("r"))
    assert team.ledger()[-1]["subject_id"] == "P003"


def test_forget_without_the_manifest_folder_still_writes_beside_the_register(
    team, tmp_path, monkeypatch
):
    # the privacy officer runs forget on the corpus alone, without the team's manifests:
    # corpus.json says where the register was, so the withdrawal still travels
    assert team.build("r").code == 0
    monkeypatch.delenv("FACEDATA_MANIFESTS")
    res = team.cli("forget", "--subject", "P001", str(team.out("r")))
    assert res.code == 0, res.err
    entry = json.loads((team.rec / "withdrawals.jsonl").read_text().splitlines()[-1])
    assert entry["subject_id"] == "P001" and len(entry["recordings"]) == 1
    _copy_elsewhere(team, tmp_path, monkeypatch, "team-b-data")
    assert team.build("copy", datasets="team-b-data").code == 0
    assert subjects(team.out("copy")) == {"P002", "P003"}


def test_inspecting_a_copy_on_another_home_decodes_nothing_of_the_withdrawn(
    team, tmp_path, monkeypatch
):
    assert team.build("r").code == 0
    assert team.cli("forget", "--subject", "P001").code == 0
    other = _copy_elsewhere(team, tmp_path, monkeypatch, "team-b-data")
    res = team.cli("inspect", "team-b-data")
    assert res.code == 0, res.err
    frames = other / "home" / "frames" / "team-b-data"
    assert not (frames / "P001").exists()
