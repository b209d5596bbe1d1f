"""`facedata manifest new --hf REPO --from SNAPSHOT` and `--folder DIR`: a manifest
written from what the files say, then fetched and built with every label right."""

from __future__ import annotations

import pytest
import yaml

from facedata.corpus import iter_rows
from tests.deliveries import shapes
from tests.fixtures import hf, layouts
from tests.helpers.cli import run_cli


def _fetch_build(capsys, tmp_path, dataset: str, given) -> list[dict]:
    res = run_cli(capsys, "fetch", dataset, "--from", str(given))
    assert res.code == 0, res.err
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", "--datasets", dataset, "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    return list(iter_rows(out, ["key", "smile", "expression", "split", "subject_id"]))


def test_hf_snapshot_gives_a_manifest_that_reads_every_label(tmp_path, capsys, monkeypatch):
    d = shapes.fer2013_hf_snapshot(tmp_path / "made")
    mine = tmp_path / "mine"
    mine.mkdir()
    out = mine / "fer-copy.yaml"
    res = run_cli(
        capsys,
        "manifest",
        "new",
        "--hf",
        "someone/fer-copy",
        "--from",
        str(d.path),
        "--out",
        str(out),
    )
    assert res.code == 0, res.err
    data = yaml.safe_load(out.read_text())
    assert data["license"]["tier"] == "unknown"  # a card's claim is not a clearance
    assert data["format"]["options"]["names"] == {"label": hf.FER_NAMES}
    assert run_cli(capsys, "manifest", "validate", str(out)).code == 0
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(mine))
    rows = _fetch_build(capsys, tmp_path, "fer-copy", d.path)
    want = d.expected.kept
    assert sorted(r["key"] for r in rows) == sorted(want)
    for r in rows:
        assert (r["expression"], r["split"]) == (want[r["key"]].expression, want[r["key"]].split)


def test_class_folders_give_a_manifest_with_splits_and_unknown_names_dropped(
    tmp_path, capsys, monkeypatch
):
    exp = layouts.make_fer_oheix(tmp_path / "made")
    (exp.root / "train" / "ahegao").mkdir()  # a class the taxonomy has no name for
    layouts.FACE(5, (48, 48), "L").save(exp.root / "train" / "ahegao" / "1.jpg")
    mine = tmp_path / "mine"
    mine.mkdir()
    out = mine / "faces.yaml"
    res = run_cli(
        capsys, "manifest", "new", "--folder", str(exp.root), "--id", "faces", "--out", str(out)
    )
    assert res.code == 0, res.err
    assert "ahegao" in " ".join(res.out.split())
    data = yaml.safe_load(out.read_text())
    assert data["format"]["options"]["splits"] == {"train": "train", "validation": "validation"}
    assert data["labels"]["expression"]["codes"]["angry"] == "anger"
    assert "ahegao" in data["labels"]["expression"]["drop"]
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(mine))
    rows = _fetch_build(capsys, tmp_path, "faces", exp.root)
    want = exp.kept
    assert sorted(r["key"] for r in rows) == sorted(want)
    for r in rows:
        assert (r["expression"], r["split"]) == (want[r["key"]].expression, want[r["key"]].split)


@pytest.mark.parametrize("args", [[], ["--hf", "a/b", "--folder", "."]])
def test_exactly_one_thing_to_describe(tmp_path, capsys, args):
    res = run_cli(capsys, "manifest", "new", *args)
    assert res.code != 0 and "one of --local DIR, --hf REPO or --folder DIR" in res.err
    assert "Traceback" not in res.err


def test_an_existing_manifest_is_not_overwritten(tmp_path, capsys):
    d = shapes.fer2013_hf_snapshot(tmp_path / "made")
    out = tmp_path / "x.yaml"
    out.write_text("keep me")
    res = run_cli(
        capsys, "manifest", "new", "--hf", "a/b", "--from", str(d.path), "--out", str(out)
    )
    assert res.code != 0 and "already exists" in res.err
    assert out.read_text() == "keep me"


def test_hf_repo_on_the_hub_is_described_from_its_card_and_smallest_shard(
    tmp_path, capsys, monkeypatch
):
    """Online: the real huggingface_hub client against a fake Hub on 127.0.0.1."""
    from tests.helpers.servers import HubRepo, serve_hub

    d = shapes.fer2013_hf_snapshot(tmp_path / "made")
    files = {rel: (d.path / rel).read_bytes() for rel in d.expected.files}
    out = tmp_path / "fer-online.yaml"
    with serve_hub() as fake:
        fake.add("someone/fer-online", HubRepo(files, commit="c" * 40))
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        res = run_cli(capsys, "manifest", "new", "--hf", "someone/fer-online", "--out", str(out))
        assert res.code == 0, res.err
        data = yaml.safe_load(out.read_text())
        assert data["format"]["options"]["names"] == {"label": hf.FER_NAMES}
        assert data["sources"][0]["repo_id"] == "someone/fer-online"
        # and the mirror source of fer2013 fetches the whole repo, pinned, then builds
        fake.add("AutumnQiu/fer2013", HubRepo(files, commit="d" * 40))
        res = run_cli(capsys, "fetch", "fer2013", "--source", "hf-autumnqiu")
        assert res.code == 0, res.err
    out_dir = tmp_path / "corpus"
    res = run_cli(
        capsys,
        "build",
        "--datasets",
        "fer2013:hf-autumnqiu",
        "--out",
        str(out_dir),
        "--workers",
        "1",
    )
    assert res.code == 0, res.err
    rows = list(iter_rows(out_dir, ["key", "expression"]))
    want = d.expected.kept
    assert {r["key"]: r["expression"] for r in rows} == {k: s.expression for k, s in want.items()}
