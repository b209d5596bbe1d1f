"""Tiers cannot be talked around: relabelled copies, unofficial uploads, local NC data."""

from __future__ import annotations

import io
import tarfile

import pytest
import yaml

from facedata.paths import builtin_manifest_dir

from .conftest import DETECTOR_CLEARANCE, corpus, subjects


def copy_of_genki(team, new_id: str, license_id: str, source: dict) -> None:
    """A user manifest: GENKI-4K's layout under a new id, claiming a commercial license."""
    data = yaml.safe_load((builtin_manifest_dir() / "genki4k.yaml").read_text())
    data["id"] = new_id
    data["name"] = f"{new_id} (re-upload)"
    data["license"] = {"id": license_id, "tier": "commercial", "derivatives": "allowed"}
    data["sources"] = [source]
    (team.root / "manifests" / f"{new_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("official", [False, True])
def test_relabelled_mirror_inherits_the_stricter_tier_by_kaggle_slug(team, official):
    copy_of_genki(
        team,
        "smiles-free",
        "LicenseRef-Smiles-Free",
        {"id": "kaggle", "kind": "kaggle", "official": official, "kaggle": "talhasar/genki4k"},
    )
    res = team.build("c", "--commercial", datasets="smiles-free")
    assert res.code == 1
    err = flat(res.err)
    assert "smiles-free" in err and "genki4k" in err and "same Kaggle slug talhasar/genki4k" in err
    assert "tier 'unknown'" in err and not team.out("c").exists()
    # the catalog listing judges it the same way
    listed = flat(team.cli("list", "--commercial").out)
    assert "inherited from catalog dataset genki4k" in listed


@pytest.mark.parametrize(
    ("source", "twin", "why"),
    [
        (
            {
                "id": "hf",
                "kind": "huggingface",
                "official": True,
                "repo_id": "TrainingDataPro/Facial-Emotion-Recognition-Dataset",
            },
            "trainingdatapro-fer",
            "same Hugging Face repo",
        ),
        (
            {
                "id": "web",
                "kind": "http",
                "official": True,
                "files": [
                    {"name": "g.tar", "url": "http://inc.ucsd.edu/mplab/398/media/genki4k.tar"}
                ],
            },
            "genki4k",
            "same URL",
        ),
    ],
)
def test_relabelled_mirror_inherits_by_repo_or_url(team, source, twin, why):
    copy_of_genki(team, "free-faces", "LicenseRef-Free-Faces", source)
    res = team.build("c", "--commercial", datasets="free-faces")
    assert res.code == 1
    err = flat(res.err)
    assert f"inherited from catalog dataset {twin} ({why}" in err


def test_relabelled_mirror_inherits_by_license_id(team):
    copy_of_genki(
        team,
        "fer-copy",
        "LicenseRef-FER2013-Kaggle-Competition",
        {
            "id": "web",
            "kind": "http",
            "official": True,
            "files": [{"name": "fer.tar", "url": "https://example.org/fer.tar"}],
        },
    )
    res = team.build("c", "--commercial", datasets="fer-copy")
    assert res.code == 1
    assert "fer2013" in flat(res.err) and "same license id" in flat(res.err)


def test_relabelled_mirror_inherits_by_fetched_bytes(team):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        # GENKI's shape (fetch reads a delivery before registering it), not its pictures
        for name, data in (("labels.txt", b"1 0 0 0\n"), ("files/file0001.jpg", b"not genki")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    archive = team.root / "downloaded.tar"
    archive.write_bytes(buf.getvalue())
    copy_of_genki(
        team,
        "happy-faces",
        "LicenseRef-Happy-Faces",
        {
            "id": "web",
            "kind": "http",
            "official": True,
            "files": [{"name": "happy.tar", "url": "https://example.org/happy.tar"}],
        },
    )
    # the same bytes, registered once as the built-in dataset and once under the new id
    assert team.cli("fetch", "genki4k", "--from", str(archive)).code == 0
    assert team.cli("fetch", "happy-faces", "--from", str(archive)).code == 0
    res = team.build("c", "--commercial", datasets="happy-faces")
    assert res.code == 1
    err = flat(res.err)
    assert "genki4k" in err and "same fetched bytes" in err and "tier 'unknown'" in err


def test_unofficial_commercial_tier_needs_a_clearance_naming_the_source(team):
    copy_of_genki(
        team,
        "stock-smiles",
        "LicenseRef-Stock-Smiles",
        {"id": "hf", "kind": "huggingface", "official": False, "repo_id": "someone/stock-smiles"},
    )
    res = team.build("c", "--commercial", datasets="stock-smiles")
    assert res.code == 1
    err = flat(res.err)
    assert "re-upload cannot grant commercial use" in err and "source: hf" in err
    # a dataset-wide clearance does not name the re-upload
    wide = team.clearances(
        "  - dataset: stock-smiles\n    cleared_by: Legal\n    evidence: PO-1\n"
        "    expires: 2099-01-01\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(wide), datasets="stock-smiles")
    assert res.code == 1 and "re-upload cannot grant" in flat(res.err)


def test_local_noncommercial_tier_is_refused_despite_consent(team):
    team.edit_manifest(tier="noncommercial", id="LicenseRef-Bought-NC")
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 1
    assert "non-commercial only" in flat(res.err) and not team.out("c").exists()
    # research builds still admit it, by consent
    assert team.build("r").code == 0
    assert subjects(team.out("r")) == {"P001", "P002", "P003"}
    # a clearance for the data admits it commercially, and the card says on what terms
    clear = team.clearances(
        DETECTOR_CLEARANCE + "  - dataset: own-data\n    cleared_by: Procurement\n"
        "    evidence: invoice INV-77 (commercial add-on)\n    expires: 2099-06-30\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    out = team.out("c")
    assert subjects(out) == {"P001", "P003"}  # P002 consented to research only
    card = (out / "README.md").read_text()
    assert "For non-commercial research only" not in card
    assert "Procurement" in card and "invoice INV-77" in card and "2099-06-30" in card
    assert "WIDER FACE" in card and "Legal team" in card
    assert corpus(out)["license"]["tier"] == "commercial"
    # rewriting the bundle later keeps the commercial terms and the clearances
    assert team.cli("cite", str(out)).code == 0
    card = (out / "README.md").read_text()
    assert "For non-commercial research only" not in card and "invoice INV-77" in card
