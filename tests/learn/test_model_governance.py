"""The model is governed like the corpus: its terms, its lineage, erasure, the heads.

Everything runs through the real CLI (`train`, `forget`, `models`, `predict`).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers.cli import run_cli
from tests.helpers.corpus import SMILE_SET, FixtureDataset, aligned_face, make_corpus
from tests.helpers.extras import needs, optional

pytestmark = needs("torch", "onnxruntime", "onnx")
torch = optional("torch")
ort = optional("onnxruntime")
onnx = optional("onnx")

FAST = ("--epochs", "1", "--batch-size", "8", "--width", "4", "--threads", "1")


def _train(capsys, corpus: Path, out: Path, *extra: str):
    return run_cli(capsys, "train", str(corpus), "--out", str(out), *FAST, *extra)


def _card(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    m = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    assert m, text[:200]
    return yaml.safe_load(m.group(1))


def _onnx_terms(path: Path) -> dict:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return json.loads(sess.get_modelmeta().custom_metadata_map["facedata.terms"])


def _subjects(corpus: Path) -> list[str]:
    ids: set[str] = set()
    for f in sorted((corpus / "data").glob("train-*.parquet")):
        ids |= set(pq.read_table(f, columns=["subject_id"]).column(0).to_pylist())
    return sorted(i for i in ids if i)


def _face(tmp_path: Path, size: int = 32) -> Path:
    path = tmp_path / "face.png"
    aligned_face(3, size).save(path)
    return path


@pytest.fixture
def trained(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "model"
    res = _train(capsys, corpus, out)
    assert res.code == 0, res.err
    return corpus, out, res


def test_card_onnx_and_pt_carry_the_same_terms_and_lineage(trained):
    corpus, out, res = trained
    assert "README.md" in {p.name for p in out.iterdir()}
    card = _card(out)
    for key in ("license", "datasets", "tags", "metrics"):
        assert key in card, key
    assert card["datasets"] == ["smiles", "faces7"]
    terms = card["facedata"]["terms"]
    assert _onnx_terms(out / "model.onnx") == terms
    blob = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert blob["terms"] == terms
    # research-only and unknown inputs: the model says so, the detector included
    assert terms["noncommercial"] and "non-commercial research only" in terms["statement"]
    assert "WIDER FACE" in terms["statement"] and "WIDER FACE" in terms["banner"]
    assert terms["unknown_license"] and terms["no_redistribution"]
    assert {i["id"]: i["attribution"] for i in terms["inputs"]} == {
        "smiles": "Smile photos by its authors",
        "faces7": "Seven expressions by its authors",
    }
    assert terms["corpus"]["fingerprint"].startswith("sha256:")
    assert terms["corpus"]["created"] == "2025-01-01T00:00:00+00:00"
    assert terms["datasets"] == ["smiles", "faces7"] and terms["heads"] == ["smile", "expression"]
    assert terms["trained"].endswith("+00:00") and terms["facedata_version"]
    assert "Art. 3(39)" in terms["eu_ai_act"]["expression"]
    assert "Annex III" in terms["eu_ai_act"]["expression"]
    assert "Art. 5(1)(f)" in terms["eu_ai_act"]["expression"]
    assert "Recital 18" in terms["eu_ai_act"]["smile"]
    # subjects as salted digests, never in the clear
    ids = _subjects(corpus)
    assert terms["subjects"]["count"] >= len(ids) > 0
    assert not any(i in json.dumps(terms) for i in ids)
    from facedata.learn.card import sha256_of
    from facedata.learn.terms import learnt_from

    assert learnt_from(terms, ids[0]) and not learnt_from(terms, "nobody")
    assert card["facedata"]["files"] == {
        "model.onnx": sha256_of(out / "model.onnx"),
        "model.pt": sha256_of(out / "model.pt"),
    }
    body = (out / "README.md").read_text()
    assert "not legal advice" in body and "WIDER FACE" in body
    assert "terms:" in res.out


def test_a_hand_edited_corpus_statement_cannot_weaken_the_model(tmp_path, capsys):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    record = json.loads((corpus / "corpus.json").read_text())
    record["license"] = {"tier": "commercial", "statement": "Use it for anything."}
    record["purpose"] = "commercial"
    (corpus / "corpus.json").write_text(json.dumps(record))
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    terms = _card(tmp_path / "m")["facedata"]["terms"]
    assert terms["noncommercial"] and terms["no_redistribution"] and terms["unknown_license"]
    assert terms["statement"].startswith("For non-commercial research only.")


def test_commercial_inputs_still_carry_the_detectors_restriction(tmp_path, capsys):
    free = FixtureDataset("free", "Free faces", ("smile",), "CC-BY-4.0", "commercial")
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32, datasets=(free,), purpose="commercial")
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    terms = _card(tmp_path / "m")["facedata"]["terms"]
    assert terms["noncommercial"] and terms["tier"] == "noncommercial"
    assert "WIDER FACE" in terms["statement"]
    assert terms["banner"].startswith("research only")


def test_an_expired_clearance_is_warned_about_at_predict(tmp_path, capsys):
    free = FixtureDataset("free", "Free faces", ("smile",), "CC-BY-4.0", "commercial")
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32, datasets=(free,), purpose="commercial")
    record = json.loads((corpus / "corpus.json").read_text())
    record["clearances"] = [
        {
            "detector": "retinaface-mnet025",
            "purpose": "commercial",
            "cleared_by": "legal",
            "evidence": "memo 7",
            "expires": "2020-01-31",
        }
    ]
    (corpus / "corpus.json").write_text(json.dumps(record))
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    terms = _card(tmp_path / "m")["facedata"]["terms"]
    assert terms["clearances"][0]["expires"] == "2020-01-31"
    res = run_cli(capsys, "predict", str(tmp_path / "m"), str(_face(tmp_path)), "--whole-frame")
    assert res.code == 0, res.err
    assert "expired on 2020-01-31" in res.err
    res = run_cli(
        capsys, "predict", str(tmp_path / "m"), str(_face(tmp_path)), "--whole-frame", "--json"
    )
    body = json.loads(res.out)
    assert any("expired" in w for w in body["model"]["warnings"])


def test_forget_names_and_marks_the_model_and_predict_warns(trained, tmp_path, capsys):
    corpus, out, _ = trained
    face = _face(tmp_path)
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert res.code == 0, res.err
    first = res.err.splitlines()[0]
    assert first.startswith("terms: research only") and "WIDER FACE" in first
    # no withdrawal yet (the tiny model may still be warned about as learning nothing)
    assert "withdrew" not in res.err and res.out.splitlines()[0].startswith("smile:")
    before = _card(out)["facedata"]["terms"]["corpus"]["fingerprint"]

    subject = _subjects(corpus)[0]
    res = run_cli(capsys, "forget", "--subject", subject, str(corpus))
    assert res.code == 0, res.err
    assert str(out) in res.out and "retrain" in res.out
    marks = json.loads((out / "MARKS.json").read_text())["marks"]
    assert marks[0]["subject_id"] == subject and marks[0]["action"] == "retrain"
    assert marks[0]["by"] and marks[0]["when"]

    res = run_cli(capsys, "models", "--json")
    listed = json.loads(res.out)["models"]
    assert listed[0]["path"] == str(out.resolve())
    assert listed[0]["marks"][0]["subject_id"] == subject
    assert "research only" in listed[0]["banner"]
    res = run_cli(capsys, "models")
    assert "RETRAIN" in res.out and subject in res.out

    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert "warning" in res.err and subject in res.err
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame", "--json")
    body = json.loads(res.out)
    assert body["model"]["marks"][0]["subject_id"] == subject
    assert body["model"]["banner"].startswith("terms: research only")

    # a moved model folder is still marked: the registry holds the mark too
    (out / "MARKS.json").unlink()
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame", "--json")
    assert json.loads(res.out)["model"]["marks"]

    # retraining on the erased corpus: a new fingerprint, no marks
    res = _train(capsys, corpus, out)
    assert res.code == 0, res.err
    terms = _card(out)["facedata"]["terms"]
    assert terms["corpus"]["fingerprint"] != before
    from facedata.learn.terms import learnt_from

    assert not learnt_from(terms, subject)
    assert not json.loads(run_cli(capsys, "models", "--json").out)["models"][0]["marks"]


def test_forget_of_another_subject_leaves_the_model_unmarked(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus(a, n=24, size=32, datasets=(SMILE_SET,))
    make_corpus(b, n=24, size=32)
    assert _train(capsys, a, tmp_path / "ma").code == 0
    only_b = sorted(set(_subjects(b)) - set(_subjects(a)))[0]
    res = run_cli(capsys, "forget", "--subject", only_b, str(b))
    assert res.code == 0, res.err
    assert "ma" not in res.out.split("model:")[-1] or "model:" not in res.out
    assert not (tmp_path / "ma" / "MARKS.json").exists()


def test_train_refuses_a_copy_made_before_an_erasure(tmp_path, capsys):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    subject = _subjects(corpus)[0]
    assert run_cli(capsys, "forget", "--subject", subject, str(corpus)).code == 0
    res = _train(capsys, copy, tmp_path / "m")
    assert res.code != 0 and "Traceback" not in res.err
    assert subject in res.err and "forget --subject" in res.err
    assert not (tmp_path / "m").exists()
    # the original, erased, trains; and so does the copy once erased too
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    assert run_cli(capsys, "forget", "--subject", subject, str(copy)).code == 0
    assert _train(capsys, copy, tmp_path / "m2").code == 0


def test_smile_only_model_has_no_expression_head(tmp_path, capsys):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    res = _train(capsys, corpus, out, "--heads", "smile")
    assert res.code == 0, res.err
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["smile"]
    blob = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert not any(k.startswith("expression") for k in blob["state_dict"])
    terms = _card(out)["facedata"]["terms"]
    assert terms["heads"] == ["smile"] and "expression" not in terms["eu_ai_act"]
    assert "no expression head" in (out / "README.md").read_text()
    assert "emotion-recognition" not in _card(out)["tags"]
    for model in (out, out / "model.pt"):
        res = run_cli(
            capsys, "predict", str(model), str(_face(tmp_path)), "--whole-frame", "--json"
        )
        assert res.code == 0, res.err
        body = json.loads(res.out)
        assert body["expression"] == {} and 0.0 <= body["smile"] <= 1.0
    res = _train(capsys, corpus, tmp_path / "x", "--heads", "expression")
    assert res.code != 0 and "--heads" in res.err and "Traceback" not in res.err


def test_predict_checks_the_model_files_against_the_card(trained, tmp_path, capsys):
    _, out, _ = trained
    face = _face(tmp_path)
    for name in ("model.onnx", "model.pt"):
        model = onnx.load(str(out / "model.onnx"))
        swapped = tmp_path / "swapped"
        shutil.copytree(out, swapped, dirs_exist_ok=True)
        if name == "model.onnx":
            entry = model.metadata_props.add()
            entry.key, entry.value = "facedata.extra", "1"
            (swapped / name).write_bytes(model.SerializeToString())
        else:
            (swapped / name).write_bytes((swapped / name).read_bytes() + b"\0")
        res = run_cli(capsys, "predict", str(swapped / name), str(face), "--whole-frame")
        assert res.code != 0 and "sha256" in res.err and "Traceback" not in res.err
        (swapped / "README.md").unlink()  # no card beside it: nothing to check against
        if name == "model.onnx":
            res = run_cli(capsys, "predict", str(swapped / name), str(face), "--whole-frame")
            assert res.code == 0, res.err
        shutil.rmtree(swapped)


def test_a_model_moved_before_the_erasure_is_still_flagged(trained, tmp_path, capsys):
    corpus, out, _ = trained
    moved = tmp_path / "elsewhere" / "model"
    moved.parent.mkdir()
    shutil.move(out, moved)
    subject = _subjects(corpus)[0]
    res = run_cli(capsys, "forget", "--subject", subject, str(corpus))
    assert res.code == 0, res.err
    assert "folder gone" in res.out  # named at the path it was trained into
    res = run_cli(capsys, "predict", str(moved), str(_face(tmp_path)), "--whole-frame", "--json")
    assert json.loads(res.out)["model"]["marks"][0]["subject_id"] == subject


def test_a_model_from_another_home_is_flagged_by_this_homes_ledger(
    trained, tmp_path, capsys, monkeypatch
):
    corpus, out, _ = trained
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "second-home"))
    subject = _subjects(corpus)[0]
    res = run_cli(capsys, "forget", "--subject", subject, str(corpus))
    assert res.code == 0 and "model:" not in res.out  # this home never registered it
    res = run_cli(capsys, "predict", str(out), str(_face(tmp_path)), "--whole-frame")
    assert res.code == 0 and "warning" in res.err and subject in res.err


def test_a_damaged_model_registry_never_stops_the_withdrawal(trained, tmp_path, capsys):
    from facedata.consent.withdrawals import read_ledger

    corpus, out, _ = trained
    registry = tmp_path / "home" / "models.json"
    registry.write_text("{not json")
    subject = _subjects(corpus)[0]
    res = run_cli(capsys, "forget", "--subject", subject, str(corpus))
    assert res.code == 0, res.err
    assert "could not be marked" in res.out and "Traceback" not in res.err
    assert [w.subject_id for w in read_ledger()] == [subject]
    assert subject not in _subjects(corpus)
    res = run_cli(capsys, "models")
    assert res.code != 0 and "models.json" in res.err and "Traceback" not in res.err


def test_a_copy_holding_a_withdrawn_person_only_in_test_rows_is_refused(tmp_path, capsys):
    """Training never reads test rows, but the copy still holds the person: refused."""
    import pyarrow as pa

    from facedata.corpus import file_sha256

    corpus = tmp_path / "c"
    record = make_corpus(corpus, n=24, size=32)
    shard = next(s for s in record["shards"] if s["split"] == "test")
    path = corpus / shard["path"]
    table = pq.read_table(path)
    ids = table.column("subject_id").to_pylist()
    ids[0] = "Q999"
    table = table.set_column(
        table.schema.get_field_index("subject_id"),
        table.schema.field("subject_id"),
        pa.array(ids, table.schema.field("subject_id").type),
    )
    pq.write_table(table, path)
    shard["sha256"], shard["bytes"] = file_sha256(path), path.stat().st_size
    (corpus / "corpus.json").write_text(json.dumps(record))
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    assert run_cli(capsys, "forget", "--subject", "Q999", str(corpus)).code == 0
    res = _train(capsys, copy, tmp_path / "m")
    assert res.code != 0 and "Q999" in res.err and "Traceback" not in res.err


def test_the_card_license_never_claims_more_than_the_terms(tmp_path, capsys):
    free = FixtureDataset("free", "Free faces", ("smile",), "CC-BY-4.0", "commercial")
    corpus = tmp_path / "c"
    record = make_corpus(corpus, n=24, size=32, datasets=(free,), purpose="commercial")
    record["id"] = "corpus-free-1"
    (corpus / "corpus.json").write_text(json.dumps(record))
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    card = _card(tmp_path / "m")
    # CC-BY alone would say commercial use is fine; the detector's terms say otherwise
    assert card["license"] == "other" and card["license_link"] == "README.md"
    assert "non-commercial" in card["tags"]
    assert card["facedata"]["terms"]["corpus"]["id"] == "corpus-free-1"


def test_an_input_tier_edited_in_corpus_json_is_checked_against_the_rows(tmp_path, capsys):
    corpus = tmp_path / "c"
    record = make_corpus(corpus, n=24, size=32, datasets=(SMILE_SET,))
    for d in record["datasets"]:
        d.update(tier="commercial", derivatives="allowed", redistribution="allowed")
    record["license"] = {"tier": "commercial", "statement": "Commercial use is allowed."}
    record["purpose"] = "commercial"
    record["detector"] = None
    (corpus / "corpus.json").write_text(json.dumps(record))
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    terms = _card(tmp_path / "m")["facedata"]["terms"]
    assert terms["inputs"][0]["tier"] == "research-only"  # what every row says
    assert terms["noncommercial"] and terms["tier"] == "research-only"
    assert terms["statement"].startswith("For non-commercial research only.")


def test_a_withdrawal_scoped_to_another_dataset_leaves_the_model_alone(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus(a, n=24, size=32, datasets=(SMILE_SET,))
    make_corpus(b, n=24, size=32)
    assert _train(capsys, a, tmp_path / "ma").code == 0
    subject = _subjects(a)[0]  # a smiles subject id
    res = run_cli(capsys, "forget", "--subject", subject, "--dataset", "faces7", str(b))
    assert res.code == 0, res.err
    assert "model:" not in res.out and not (tmp_path / "ma" / "MARKS.json").exists()
    res = run_cli(capsys, "forget", "--subject", subject, "--dataset", "smiles", str(b))
    assert res.code == 0 and "model:" in res.out
    assert (tmp_path / "ma" / "MARKS.json").exists()
    shutil.rmtree(tmp_path / "ma")
    res = run_cli(capsys, "models")
    assert "(gone)" in res.out


def test_the_card_carries_share_alike_owed_credit_and_the_modifications(tmp_path, capsys):
    """A CC-BY-SA input without an attribution string: the model card names the
    share-alike obligation, a composed credit and what the build did to the images."""
    sa = FixtureDataset("sa", "Shared faces", ("smile",), "CC-BY-SA-4.0", "commercial")
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32, datasets=(sa,))
    assert _train(capsys, corpus, tmp_path / "m").code == 0
    terms = _card(tmp_path / "m")["facedata"]["terms"]
    (entry,) = terms["inputs"]
    assert entry["share_alike"] and entry["attribution_required"]
    assert entry["attribution"]
    assert terms["share_alike"] and "ShareAlike" in terms["statement"]
    assert terms["modifications"]
    text = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "ShareAlike" in text and "## Modifications of the inputs" in text
    assert _onnx_terms(tmp_path / "m" / "model.onnx")["share_alike"] == terms["share_alike"]
