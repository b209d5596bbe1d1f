"""`publication` consent decides whose face a report renders."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

from PIL import Image

from .conftest import LONG_AGO


def _faces(page: str) -> int:
    return len(re.findall(r'<figure class="thumb"><img src="data:image/', page))


def test_only_publication_consent_is_rendered(team):
    team.consent(
        f"P001,research;commercial;publication,{LONG_AGO},\n"
        f"P002,research,{LONG_AGO},\n"
        f"P003,research;publication,{LONG_AGO},\n"
    )
    assert team.build("r").code == 0
    res = team.cli("report", str(team.out("r")))
    assert res.code == 0, res.err
    page = (team.out("r") / "report.html").read_text()
    assert "not shown: no publication consent" in page
    assert "1 picked face(s) not shown" in page
    # P002 is research only: a placeholder names the row, no image shows the face
    assert 'title="images/P002_0001.jpg">not shown: no publication consent' in page
    assert 'alt="images/P002_0001.jpg"' not in page
    shown = _faces(page)
    assert shown >= 2  # P001's frames and P003
    for uri in re.findall(
        r'<figure class="thumb"><img src="data:image/[a-z]+;base64,([^"]+)"', page
    ):
        Image.open(io.BytesIO(base64.b64decode(uri))).load()


def test_publication_withdrawn_later_hides_the_face_at_the_next_report(team):
    team.consent(
        f"P001,research;publication,{LONG_AGO},\n"
        f"P002,research;publication,{LONG_AGO},\n"
        f"P003,research;publication,{LONG_AGO},\n"
    )
    assert team.build("r").code == 0
    assert team.cli("report", str(team.out("r"))).code == 0
    assert "not shown" not in (team.out("r") / "report.html").read_text()
    team.consent(
        f"P001,research;publication,{LONG_AGO},\n"
        f"P002,research,{LONG_AGO},\n"
        f"P003,research;publication,{LONG_AGO},\n"
    )
    out = team.root / "page.html"
    assert team.cli("report", str(team.out("r")), "--out", str(out)).code == 0
    assert "1 picked face(s) not shown" in out.read_text()


def test_a_report_away_from_its_register_renders_no_own_face(team):
    team.consent(
        f"P001,research;publication,{LONG_AGO},\n"
        f"P002,research;publication,{LONG_AGO},\n"
        f"P003,research;publication,{LONG_AGO},\n"
    )
    assert team.build("r").code == 0
    (team.rec / "consent.csv").rename(team.rec / "moved.csv")
    assert team.cli("report", str(team.out("r"))).code == 0
    page = (team.out("r") / "report.html").read_text()
    assert _faces(page) == 0 and "not shown: no publication consent" in page


def _shown(page: str) -> set[str]:
    """The row keys whose face the page renders."""
    return set(re.findall(r'<figure class="thumb"><img src="data:image/[^"]+" alt="([^"]+)"', page))


def test_a_copy_made_before_forget_shows_no_face_of_the_withdrawn(team, monkeypatch):
    # the register still grants publication: the withdrawal lives in the ledger and the
    # withdrawals file, and a copy of the corpus made earlier still holds the rows
    team.consent(
        f"P001,research;commercial;publication,{LONG_AGO},\n"
        f"P002,research;publication,{LONG_AGO},\n"
        f"P003,research;publication,{LONG_AGO},\n"
    )
    assert team.build("r").code == 0
    shutil.copytree(team.out("r"), team.out("copy"))
    assert team.cli("forget", "--subject", "P001").code == 0
    page = team.root / "copy.html"
    assert team.cli("report", str(team.out("copy")), "--out", str(page)).code == 0
    shown = _shown(page.read_text())
    assert shown and not any("P001" in k for k in shown), shown
    # under another home (no ledger) the withdrawals file beside the register holds
    (team.root / "other-home").mkdir()
    monkeypatch.setenv("FACEDATA_HOME", str(team.root / "other-home"))
    assert team.cli("report", str(team.out("copy")), "--out", str(page)).code == 0
    assert not any("P001" in k for k in _shown(page.read_text()))


def test_a_corpus_json_stripped_of_consent_still_hides_faces(team):
    team.consent(
        f"P001,research;commercial,{LONG_AGO},\n"
        f"P002,research,{LONG_AGO},\n"
        f"P003,research,{LONG_AGO},\n"
    )
    assert team.build("r").code == 0
    path = team.out("r") / "corpus.json"
    meta = json.loads(path.read_text())
    meta.pop("consent")  # a corpus received from someone else, claiming nothing
    path.write_text(json.dumps(meta))
    assert team.cli("report", str(team.out("r"))).code == 0
    assert _shown((team.out("r") / "report.html").read_text()) == set()
    for record in meta["datasets"]:  # nor its register: the catalog still knows own-data
        record["inputs"] = [i for i in record["inputs"] if i.get("role") != "consent register"]
        for i in record["inputs"]:
            i.pop("subjects", None)
    path.write_text(json.dumps(meta))
    assert team.cli("report", str(team.out("r"))).code == 0
    page = (team.out("r") / "report.html").read_text()
    assert _shown(page) == set() and "not shown: no publication consent" in page
