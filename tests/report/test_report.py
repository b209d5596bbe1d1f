"""`facedata report`: a self-contained page whose numbers and samples match the corpus."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.errors import FacedataError
from facedata.report import ReportError, write_report
from facedata.report.gather import gather
from facedata.report.keys import align_label
from tests.helpers.cli import run_cli
from tests.helpers.corpus import SMILE_SET, FixtureDataset, make_corpus
from tests.report.page import Page, parse

EVIL = "x<script>alert(1)</script>"
EVIL_SET = FixtureDataset(
    EVIL,
    'Evil "quoted" $name$ & <b>bold</b>',
    ("expression",),
    "evil-license",
    "noncommercial",
    terms_url="javascript:alert(1)",
)
SECTIONS = [
    "summary",
    "funnel",
    "splits",
    "sources",
    "balance-smile",
    "balance-expression",
    "licenses",
    "alignment",
    "scores",
    "drops",
    "dedup",
    "leaks",
    "samples",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("corpus")
    record = make_corpus(root, 60, datasets=(SMILE_SET, EVIL_SET))
    return root, record


@pytest.fixture(scope="module")
def page(corpus: tuple[Path, dict]) -> tuple[str, Page]:
    root, _ = corpus
    html = write_report(root, samples=3).read_text(encoding="utf-8")
    return html, parse(html)


def test_default_path_and_atomic(corpus: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = corpus
    out = write_report(root, tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html" and out.stat().st_size > 10_000
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temp file left
    assert write_report(root, samples=0) == root / "report.html"
    assert (root / "report.html").is_file()


def test_self_contained(page: tuple[str, Page]) -> None:
    html, p = page
    assert p.tags["script"] == 0 and p.tags["link"] == 0 and p.tags["iframe"] == 0
    assert p.imgs(), "no image at all"
    for img in p.imgs():
        assert re.match(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+$", img["src"]), img["src"][
            :80
        ]
    for tag, attrs in p.attrs:
        for name in ("src", "href", "srcset", "poster", "data"):
            value = attrs.get(name, "")
            if tag != "a":  # a link to a dataset's terms is not a resource the page loads
                assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@font-face" not in html


def test_every_section_and_plot(page: tuple[str, Page]) -> None:
    _, p = page
    assert p.sections == SECTIONS
    for alt in [
        "rows per split",
        "rows per dataset by split",
        "smile classes per split",
        "smile classes per dataset",
        "expression classes per split",
        "expression classes per dataset",
        "rows per license",
        "rows per alignment status",
        "detector score histogram",
        "drop reasons",
    ]:
        assert alt in p.alts(), alt


def test_numbers_match_corpus(corpus: tuple[Path, dict], page: tuple[str, Page]) -> None:
    _, record = corpus
    _, p = page
    counts = record["counts"]
    splits = p.table("splits")
    for split, n in counts["splits"].items():
        assert splits[split][0] == str(n)
    assert splits["total"][0] == str(counts["total"])
    assert "60" in p.text and "research-only" in p.text
    smile = p.table("balance-smile")
    for value, label in (("0", "0 · no smile"), ("1", "1 · smile")):
        total = sum(per.get(value, 0) for per in counts["smile"].values())
        assert smile[label][-2] == str(total)
    expression = p.table("balance-expression")
    per_class = Counter()
    for per in counts["expression"].values():
        per_class.update(per)
    assert {k: int(v[-2]) for k, v in expression.items()} == dict(per_class)
    alignment = p.table("alignment")
    statuses = {
        align_label(s, "retinaface" if s != "precropped" else None): n
        for s, n in counts["align_status"].items()
    }
    assert {k: int(v[0]) for k, v in alignment.items()} == statuses
    drops = p.table("drops")
    assert {k: int(v[0]) for k, v in drops.items()} == {
        k: v["count"] for k, v in record["drops"].items()
    }
    dedup = p.table("dedup")
    assert dedup["exact duplicates dropped (same decoded pixels)"] == ["1"]
    licenses = {(row[0], row[1]): int(row[2]) for row in p.tables["licenses"][0][1:]}
    assert licenses == {
        ("research-only", "smiles-terms"): 30,
        ("noncommercial", "evil-license"): 30,
    }


def test_sample_grid_per_class_capped(corpus: tuple[Path, dict], page: tuple[str, Page]) -> None:
    _, record = corpus
    _, p = page
    smile = Counter()
    expression = Counter()
    for per in record["counts"]["smile"].values():
        smile.update(per)
    for per in record["counts"]["expression"].values():
        expression.update(per)
    want = {f"smile:{k}": min(3, n) for k, n in smile.items()}
    want |= {f"expression:{k}": min(3, n) for k, n in expression.items()}
    assert p.grids == want
    assert max(smile.values()) > 3  # the cap really cut something


def test_data_strings_are_escaped(page: tuple[str, Page]) -> None:
    html, p = page
    assert "<script" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL in p.text and "<b>bold</b>" in p.text  # shown as text
    assert 'href="javascript:' not in html
    assert "https://example.org/terms" in {a.get("href") for t, a in p.attrs if t == "a"}


def test_research_banner(page: tuple[str, Page]) -> None:
    html, _ = page
    assert '<div class="banner stop"><strong>Non-commercial research only</strong>' in html


def test_commercial_banner(tmp_path: Path) -> None:
    cleared = FixtureDataset("cleared", "Cleared", ("smile",), "cc-by-4.0", "commercial")
    make_corpus(tmp_path, 10, datasets=(cleared,), purpose="commercial")
    html = write_report(tmp_path, samples=1).read_text()
    assert "Cleared for commercial use" in html and "Non-commercial research only" not in html


def test_a_refused_source_is_named_with_its_reason(tmp_path: Path) -> None:
    """A refused source has no rows: only the decisions say it was asked for and why."""
    cleared = FixtureDataset("cleared", "Cleared", ("smile",), "cc-by-4.0", "commercial")
    make_corpus(tmp_path, 10, datasets=(cleared,), purpose="commercial")
    record = json.loads((tmp_path / "corpus.json").read_text())
    record["decisions"] = [
        {"dataset": "cleared", "source": "official", "admitted": True, "reason": "cc-by-4.0"},
        {"dataset": "sample", "source": "demo", "admitted": False, "reason": f"unknown {EVIL}"},
    ]
    record["detector_decision"] = {"name": "retinaface-mnet025", "admitted": False}
    (tmp_path / "corpus.json").write_text(json.dumps(record))
    html = write_report(tmp_path, samples=1).read_text()
    assert "License decisions for this commercial build" in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "sample (demo) refused unknown x&lt;script&gt;" in text
    assert "cleared (official) admitted" in text
    assert "detector retinaface-mnet025 refused" in text


def test_smile_only_corpus(tmp_path: Path) -> None:
    make_corpus(tmp_path, 12, datasets=(SMILE_SET,))
    html = write_report(tmp_path, samples=2).read_text()
    p = parse(html)
    assert "smile classes per split" in p.alts()
    assert not any(a.startswith("expression") for a in p.alts())
    assert "No row is labelled for expression, so this corpus has no expression head" in p.text
    assert set(p.grids) == {"smile:0", "smile:1"} and set(p.grids.values()) == {2}


def test_samples_deterministic_and_layout_independent(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus(a, 30, shard_rows=4, row_group=2)
    make_corpus(b, 30, shard_rows=100, row_group=50)

    def keys(root: Path) -> dict:
        data = gather(root, 3)
        return {k: sorted(t.key for t in v) for k, v in data.samples.items()}

    assert keys(a) == keys(b)
    # spread over both datasets: the smile-only one and the expression-only one
    assert write_report(a).read_bytes() == write_report(a).read_bytes()


def test_image_column_read_only_for_picked_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_corpus(tmp_path, 80, shard_rows=20, row_group=4)
    scanned: list[list[str]] = []
    image_groups: list[int] = []
    orig_iter, orig_read = pq.ParquetFile.iter_batches, pq.ParquetFile.read_row_group

    def iter_batches(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        scanned.append(list(kwargs.get("columns") or []))
        return orig_iter(self, *args, **kwargs)

    def read_row_group(self, i, columns=None, **kwargs):  # type: ignore[no-untyped-def]
        if columns is None or "image" in columns:
            image_groups.append(i)
        return orig_read(self, i, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", iter_batches)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read_row_group)
    data = gather(tmp_path, 2)
    assert scanned and all(cols and "image" not in cols for cols in scanned)
    picked = sum(len(v) for v in data.samples.values())
    total_groups = sum(
        pq.read_metadata(p).num_row_groups for p in (tmp_path / "data").glob("*.parquet")
    )
    assert 0 < len(image_groups) <= picked < total_groups


def test_missing_fields_and_mismatch(tmp_path: Path) -> None:
    make_corpus(tmp_path, 10, datasets=(SMILE_SET,))
    (tmp_path / "corpus.json").write_text(json.dumps({"counts": {"total": 99}}))
    p = parse(write_report(tmp_path).read_text())
    assert "License unknown" in p.text
    assert "corpus.json counts 99 rows but the shards hold 10" in p.text
    assert "corpus.json records no dropped samples" in p.text
    assert "corpus.json records no dedup counts" in p.text
    assert p.table("splits")["total"][0] == "10"


def test_undecodable_sample_is_marked(tmp_path: Path) -> None:
    import pyarrow as pa

    make_corpus(tmp_path, 6, datasets=(SMILE_SET,), shard_rows=100)
    shard = next((tmp_path / "data").glob("train-*.parquet"))
    table = pq.read_table(shard)
    rows = table.to_pylist()
    for r in rows:
        r["image"] = {"bytes": r["image"]["bytes"][:200], "path": None}  # truncated JPEG
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    html = write_report(tmp_path).read_text()
    assert html.count("cannot decode") == len(rows)


def test_not_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FacedataError) as err:
        write_report(tmp_path)
    assert err.value.hint and "facedata build" in err.value.hint
    result = run_cli(capsys, "report", str(tmp_path))
    assert result.code == 1
    assert "no corpus.json" in result.err and "hint:" in result.err
    assert "Traceback" not in result.err


def test_damaged_corpus(tmp_path: Path) -> None:
    make_corpus(tmp_path, 6, datasets=(SMILE_SET,))
    (tmp_path / "corpus.json").write_text("{not json")
    with pytest.raises(FacedataError, match="damaged corpus: cannot read corpus.json"):
        write_report(tmp_path)
    make_corpus(tmp_path, 6, datasets=(SMILE_SET,))
    next((tmp_path / "data").glob("*.parquet")).write_bytes(b"PAR1 garbage")
    with pytest.raises(ReportError, match="cannot read shard"):
        write_report(tmp_path)


def test_cli(corpus: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = corpus
    out = tmp_path / "page.html"
    result = run_cli(capsys, "report", str(root), "--out", str(out), "--samples", "1")
    assert result.code == 0, result.err
    assert "wrote" in result.out and out.is_file()
    assert set(parse(out.read_text()).grids.values()) == {1}
