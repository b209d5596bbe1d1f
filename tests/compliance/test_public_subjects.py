"""A public dataset's subject (CK+ S005) withdrawn: no rebuild brings the rows back."""

from __future__ import annotations

import yaml

from facedata.paths import builtin_manifest_dir
from tests.fixtures import layouts

from .conftest import corpus, drops, subjects


def test_withdrawn_public_subject_stays_out_of_an_unnamed_corpus_replay(team):
    layouts.make_ckplus(team.root / "ck")
    assert team.cli("fetch", "ckplus", "--from", str(team.root / "ck")).code == 0
    for name in ("a", "b"):
        res = team.build(name, datasets="ckplus")
        assert res.code == 0, res.err
    assert "S005" in subjects(team.out("b"))

    res = team.cli("forget", "--subject", "S005", "--dataset", "ckplus", str(team.out("a")))
    assert res.code == 0, res.err
    assert "S005" not in subjects(team.out("a"))
    assert str(team.out("b")) in " ".join(res.out.split())  # named as still holding S005

    # replaying b's recipe is not "up to date": a withdrawal was logged since it was built
    res = team.cli("build", str(team.out("b") / "recipe.yaml"))
    assert res.code == 0, res.err
    assert "S005" not in subjects(team.out("b")) and subjects(team.out("b"))
    assert drops(team.out("b"))["ckplus: consent: withdrawn (erasure ledger)"] > 0
    assert corpus(team.out("b"))["forgotten"][0]["subject_id"] == "S005"


def test_a_dataset_scoped_withdrawal_follows_a_copy_under_a_new_id(team):
    layouts.make_ckplus(team.root / "ck")
    data = yaml.safe_load((builtin_manifest_dir() / "ckplus.yaml").read_text())
    data["id"], data["name"] = "ck-copy", "CK+ (my copy)"
    (team.root / "manifests" / "ck-copy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    for dataset in ("ckplus", "ck-copy"):  # the same delivery registered twice
        assert team.cli("fetch", dataset, "--from", str(team.root / "ck")).code == 0
    assert team.build("a", datasets="ckplus").code == 0
    res = team.cli("forget", "--subject", "S005", "--dataset", "ckplus", str(team.out("a")))
    assert res.code == 0, res.err

    res = team.build("b", datasets="ck-copy")
    assert res.code == 0, res.err
    assert "S005" not in subjects(team.out("b")) and subjects(team.out("b"))
    assert drops(team.out("b"))["ck-copy: consent: withdrawn (erasure ledger)"] > 0


def test_a_dataset_scoped_forget_also_erases_the_copy_in_an_existing_corpus(team):
    """The copy's rows were built before the withdrawal: `forget --dataset ckplus`
    erases them too (the same people under another id), in every registered corpus,
    and says which ids it covered."""
    layouts.make_ckplus(team.root / "ck")
    data = yaml.safe_load((builtin_manifest_dir() / "ckplus.yaml").read_text())
    data["id"], data["name"] = "ck-copy", "CK+ (my copy)"
    (team.root / "manifests" / "ck-copy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    for dataset in ("ckplus", "ck-copy"):
        assert team.cli("fetch", dataset, "--from", str(team.root / "ck")).code == 0
    assert team.build("a", datasets="ckplus").code == 0
    assert team.build("b", datasets="ck-copy").code == 0
    assert "S005" in subjects(team.out("b"))

    res = team.cli("forget", "--subject", "S005", "--dataset", "ckplus")
    assert res.code == 0, res.err
    assert "also covers" in res.out and "ck-copy" in res.out
    assert "S005" not in subjects(team.out("a"))
    assert "S005" not in subjects(team.out("b")) and subjects(team.out("b"))
    mark = corpus(team.out("b"))["forgotten"][0]
    # ck-copy by its fetched bytes; the catalog's Kaggle mirror of CK+ by its license id
    assert mark["dataset"] == "ckplus" and {"ck-copy", "ckplus-kaggle"} <= set(mark["copies"])
