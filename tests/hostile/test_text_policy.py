# ruff: noqa: F811 - `team` is a fixture imported from the compliance suite
"""Hostile text in manifests and corpus records: inert in every output format.

Markdown is rendered with markdown-it (CommonMark + tables, as the Hub renders a
card) and the HTML checked for anything that acts: script, event handlers, links
that are not http(s), headings or lists made by the hostile text. BibTeX that would
run under `latex --shell-escape` is refused with a message naming where it came
from. The terminal never receives an escape sequence.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from markdown_it import MarkdownIt

import facedata.files.sanitize as sanitize
from tests.compliance.conftest import team  # noqa: F401 - real builds of own recordings
from tests.helpers.cli import run_cli

HOSTILE = (
    "Evil <script>alert(1)</script> <img src=x onerror=alert(1)>\n"
    "# OwnedHeading\n"
    "- [click](javascript:alert(1)) ![i](http://x.test/i.png) <javascript:alert(2)>\n"
    "```\n"
    "1. listed | cell &lt;b&gt; \x1b]0;pwned-title\x07\x1b[31mred\x1b[0m \u202eevil\r"
)
ESC = "\x1b"


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def assert_inert_markdown(text: str) -> None:
    """Nothing in `text` acts when rendered: the words survive as words."""
    assert ESC not in text and "\x07" not in text and "\u202e" not in text
    if text.startswith("---\n"):  # a card: its front matter is YAML, some shown as Markdown
        _, header, text = text.split("---\n", 2)
        meta = yaml.safe_load(header)
        assert_inert_markdown(str(meta.get("extra_gated_prompt", "")))
    html = _html(text)
    found = re.search(r"<(script|img|iframe)\b", html)
    assert not found, html[max(0, found.start() - 300) : found.end() + 100]
    assert not re.search(r"\son\w+=", re.sub(r"&lt;.*?&gt;", "", html))
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(
        h.startswith(("http://", "https://")) or h.endswith((".md", ".json")) for h in hrefs
    ), hrefs
    assert "OwnedHeading</h" not in html  # no heading from the hostile text
    assert ">click</a>" not in html and "<li>[click]" not in html


def _edit(team, **fields) -> None:
    data = yaml.safe_load(team.manifest.read_text())
    for key, value in fields.items():
        if key.startswith("license."):
            data["license"][key.split(".", 1)[1]] = value
        else:
            data[key] = value
    team.manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def test_hostile_manifest_text_is_inert_in_every_bundle_file(team):
    _edit(
        team,
        name=HOSTILE,
        description=HOSTILE,
        version=HOSTILE,
        attribution=HOSTILE,
        **{"license.notes": HOSTILE, "license.text": HOSTILE, "license.id": "CC-BY-SA-4.0"},
    )
    res = team.build("c")
    assert res.code == 0, res.err
    assert ESC not in res.out + res.err
    out = team.out("c")
    for rel in ("README.md", "ATTRIBUTION.md", "LICENSES/README.md", "LICENSES/own-data.md"):
        text = (out / rel).read_text()
        assert_inert_markdown(text)
        if rel != "LICENSES/README.md":  # names the input by id only
            assert "alert(1)" in text, rel  # the words are kept, only their power goes
    attribution = (out / "ATTRIBUTION.md").read_text()
    # the attribution is legal text: quoted whole, inside a fence the text cannot close
    assert "Evil <script>alert(1)</script>" in attribution
    croissant = (out / "croissant.json").read_text()
    assert "<" not in croissant and ">" not in croissant and ESC not in croissant
    assert json.loads(croissant)["name"]
    cff = (out / "CITATION.cff").read_text()
    assert ESC not in cff and yaml.safe_load(cff)["references"]
    # `info` prints the same fields to the terminal
    shown = team.cli("info", "own-data")
    assert shown.code == 0, shown.err
    assert ESC not in shown.out and "\x07" not in shown.out and "alert(1)" in shown.out
    listed = team.cli("list")
    assert ESC not in listed.out
    table = team.cli("licenses", "--markdown")
    assert table.code == 0 and "alert(1)" in table.out
    assert_inert_markdown(table.out)
    assert ESC not in team.cli("licenses").out


@pytest.mark.parametrize("field", ["homepage", "license.terms_url"])
@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>", "ftp://h/x"]
)
def test_manifest_urls_are_http_only(team, field, value):
    _edit(team, **{field: value})
    res = team.cli("manifest", "validate", str(team.manifest))
    assert res.code == 1 and "Traceback" not in res.err
    err = " ".join(res.err.split())
    assert "own-data.yaml:" in err and "http:// or https://" in err
    assert team.build("c").code == 1 and not team.out("c").exists()


def test_access_request_url_is_http_only(team):
    data = yaml.safe_load(team.manifest.read_text())
    data["sources"][0]["access"] = {"level": "agreement", "request_url": "javascript:alert(1)"}
    team.manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    res = team.cli("manifest", "validate", str(team.manifest))
    assert res.code == 1 and "request_url" in res.err and "http:// or https://" in res.err


BAD_BIBTEX = {
    "preamble": '@preamble{"\\immediate\\write18{touch /tmp/pwned}"}\n@misc{a, title={A}}',
    "string": "@string{x = {\\immediate\\write18{id}}}\n@misc{a, title=x}",
    "write18": "@misc{a, title={\\write18{id}}}",
    "input": "@misc{a, title={\\input{/etc/passwd}}}",
    "unknown-type": "@evil{a, title={A}}",
    "unbalanced": "@misc{a, title={A}}}{",
    "never-closes": "@misc{a, title={A}",
}


@pytest.mark.parametrize("citation", BAD_BIBTEX.values(), ids=BAD_BIBTEX.keys())
def test_manifest_bibtex_that_could_act_is_refused(team, citation):
    _edit(team, citation=citation)
    res = team.cli("manifest", "validate", str(team.manifest))
    assert res.code == 1 and "Traceback" not in res.err
    assert "own-data.yaml:" in res.err and "citation" in res.err


@pytest.mark.parametrize("citation", BAD_BIBTEX.values(), ids=BAD_BIBTEX.keys())
def test_cite_on_a_tampered_corpus_refuses_bad_bibtex(team, citation):
    assert team.build("c").code == 0
    out = team.out("c")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    record = json.loads((out / "corpus.json").read_text())
    record["datasets"][0]["citation"] = citation
    (out / "corpus.json").write_text(json.dumps(record))
    res = team.cli("cite", str(out))
    assert res.code == 1 and "Traceback" not in res.err
    assert "corpus.json: dataset own-data: citation" in " ".join(res.err.split())
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "corpus.json"}
    assert after == {p: b for p, b in before.items() if p.name != "corpus.json"}
    assert "write18" not in (out / "references.bib").read_text()


def test_cite_on_a_tampered_corpus_makes_its_text_inert(team):
    assert team.build("c").code == 0
    out = team.out("c")
    record = json.loads((out / "corpus.json").read_text())
    ds = record["datasets"][0]
    ds.update(
        name=HOSTILE,
        attribution=HOSTILE,
        license_notes=HOSTILE,
        license_text=HOSTILE,
        terms_url="javascript:alert(1)",
        homepage="javascript:alert(2)",
        source=HOSTILE,
        license_id=HOSTILE,
    )
    record["license"]["statement"] = HOSTILE
    record["detector"]["name"] = HOSTILE
    (out / "corpus.json").write_text(json.dumps(record))
    res = team.cli("cite", str(out))
    assert res.code == 0, res.err
    assert ESC not in res.out
    for rel in ("README.md", "ATTRIBUTION.md", "LICENSES/README.md", "LICENSES/own-data.md"):
        text = (out / rel).read_text()
        assert_inert_markdown(text)
    croissant = json.loads((out / "croissant.json").read_text())
    assert all("javascript" not in lic for lic in croissant["license"])
    assert "<" not in (out / "croissant.json").read_text()


@pytest.mark.parametrize("bad_id", ["../../escaped", "x/../../y", "Evil<script>", "a\x1b[31m"])
def test_cite_refuses_a_dataset_id_that_is_not_an_id(team, bad_id):
    assert team.build("c").code == 0
    out = team.out("c")
    record = json.loads((out / "corpus.json").read_text())
    record["datasets"][0]["id"] = bad_id
    (out / "corpus.json").write_text(json.dumps(record))
    res = team.cli("cite", str(out))
    assert res.code == 1 and "Traceback" not in res.err and ESC not in res.err
    assert "not a dataset id" in res.err
    assert not (team.root / "out" / "escaped.md").exists()
    assert not list(team.root.rglob("escaped*"))


def test_errors_never_print_escape_sequences(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    res = run_cli(capsys, "info", "nosuch\x1b]0;pwned\x07\x1b[2J")
    assert res.code != 0 and ESC not in res.err and "\x07" not in res.err


def test_file_names_are_printed_without_escape_sequences(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    out = tmp_path / "out\x1b[31mred"
    res = run_cli(capsys, "cite", "--datasets", "genki4k", "--out", str(out))
    assert res.code == 0, res.err
    assert ESC not in res.out and "red" in res.out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x1b[31mb\x1b[0m", "ab"),
        ("t\x1b]0;title\x07x", "tx"),
        ("t\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\", "tlink"),
        ("c\x9b2Jd", "cd"),
        ("over\rwrite", "overwrite"),
        ("keep\ttab\nand newline", "keep\ttab\nand newline"),
    ],
)
def test_terminal_policy(text, expected):
    assert sanitize.terminal(text) == expected


def test_markdown_policy_keeps_the_words():
    md = sanitize.markdown("# x <b>y</b> [l](javascript:z) *e* | c")
    html = _html(md)
    assert "<b>" not in html and "<a" not in html and "<em>" not in html and "<h1>" not in html
    assert "# x &lt;b&gt;y&lt;/b&gt; [l](javascript:z) *e* | c" in html


def test_html_policy():
    assert sanitize.html('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"


def test_jsonld_policy_reads_back_the_same_values():
    text = sanitize.jsonld_document(json.dumps({"a": "</script><b>&"}))
    assert "<" not in text and json.loads(text) == {"a": "</script><b>&"}


def test_bibtex_policy_keeps_known_entries_verbatim():
    bib = "junk before\n@Article{k, title = {A {B} c}}\n@comment{x}\n@misc(m, title={M})"
    assert sanitize.bibtex(bib) == "@Article{k, title = {A {B} c}}\n\n@misc(m, title={M})"


def test_every_catalog_manifest_passes_the_policies():
    from facedata.manifest.catalog import Catalog

    for m in Catalog.load():
        sanitize.bibtex(m.citation, m.id)
        for url in (m.homepage, m.license.terms_url):
            assert url is None or sanitize.url(url) == url, (m.id, url)


def test_the_report_page_uses_the_html_policy():
    from facedata.report.html import esc, link

    assert esc("\x1b[31m<b>") == "&lt;b&gt;"
    assert "<a" not in link("javascript:alert(1)") and "<a" not in link(" https://x y")
    assert link("https://example.org/a?b=1&c").startswith(
        '<a href="https://example.org/a?b=1&amp;c"'
    )


def test_forget_is_not_blocked_by_a_tampered_citation(team):
    """An erasure must go through; the unsafe citation is withheld, and the bundle says so."""
    assert team.build("c").code == 0
    out = team.out("c")
    record = json.loads((out / "corpus.json").read_text())
    record["datasets"][0]["citation"] = BAD_BIBTEX["preamble"]
    (out / "corpus.json").write_text(json.dumps(record))
    res = team.cli("forget", "--subject", "P002", str(out))
    assert res.code == 0, res.err
    assert "write18" not in (out / "references.bib").read_text()
    attribution = " ".join((out / "ATTRIBUTION.md").read_text().split())
    assert "Citation withheld from references.bib" in attribution and "immediate" in attribution


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "name",
        "source",
        "official",
        "license_id",
        "tier",
        "derivatives",
        "redistribution",
        "terms_url",
        "license_notes",
        "license_text",
        "attribution",
        "citation",
        "homepage",
        "version",
        "clearance",
    ],
)
def test_cite_on_a_record_with_wrong_types_ends_cleanly(tmp_path, capsys, monkeypatch, field):
    from tests.bundle.conftest import DATASETS, make_corpus

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    for i, value in enumerate([123, 1.5, True, [], ["a"], {"a": 1}, "x" * 5000, "free"]):
        root = tmp_path / f"c{i}"
        corpus = make_corpus(root, [dict(d) for d in DATASETS])
        corpus["datasets"][0][field] = value
        (root / "corpus.json").write_text(json.dumps(corpus))
        res = run_cli(capsys, "cite", str(root))
        assert res.code in (0, 1) and "Traceback" not in res.err, (value, res.err)
        if res.code == 0 and field == "tier":
            readme = (root / "LICENSES" / "README.md").read_text()
            assert "non-commercial research only" in readme  # a made-up tier grants nothing
