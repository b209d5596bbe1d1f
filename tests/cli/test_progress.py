"""Progress in logs: with stdout redirected to a file, a build prints plain progress
lines (no terminal redraws), and its ETA follows the real count once readers know it."""

from __future__ import annotations

import re
from pathlib import Path

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.demo import DATASET_ID, TAR_NAME, private_home
from tests.cli.conftest import World
from tests.helpers.servers import serve_files, throttle

LINE = re.compile(
    r"^build: read (?P<read>[\d,]+)(?: of ~(?P<of>[\d,]+))?  written (?P<written>[\d,]+)  "
    r"dropped (?P<dropped>[\d,]+)(?:  [\d,]+ samples/s)?(?:  ETA ~\S+)?(?P<done>  \(done\))?$"
)


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def test_plain_progress_lines_when_stdout_is_a_file(world: World, tmp_path: Path):
    recipe = world.recipe(tmp_path / "r.yaml", tmp_path / "corpus", batch_size=16)
    log = tmp_path / "build.log"
    with log.open("w") as fh:
        proc = world.spawn("build", str(recipe), stdout=fh, FACEDATA_PROGRESS_SECONDS="0")
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    text = log.read_text()
    assert "\r" not in text and "\x1b[" not in text  # no redraws, no colour codes
    lines = [m for m in map(LINE.match, text.splitlines()) if m]
    assert len(lines) >= 102 // 16, text  # one per batch at interval 0, plus the last
    reads = [_n(m["read"]) for m in lines]
    assert reads == sorted(reads) and reads[-1] == 102
    assert lines[-1]["done"] and not any(m["done"] for m in lines[:-1])
    assert lines[0]["of"] is not None and _n(lines[0]["of"]) == 102  # the manifest's estimate


def test_no_progress_lines_between_intervals(world: World, tmp_path: Path):
    recipe = world.recipe(tmp_path / "r.yaml", tmp_path / "corpus", batch_size=16)
    log = tmp_path / "build.log"
    with log.open("w") as fh:
        proc = world.spawn("build", str(recipe), stdout=fh, FACEDATA_PROGRESS_SECONDS="3600")
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    lines = [m for m in map(LINE.match, log.read_text().splitlines()) if m]
    assert len(lines) == 1 and lines[0]["done"]  # only the closing line


def test_download_progress_lines_when_not_a_terminal(world: World, tmp_path: Path):
    tar = world.demo.tar.read_bytes()
    with serve_files({TAR_NAME: tar}) as base:
        base.fault(TAR_NAME, throttle(400_000))  # about 1.5 s
        manifests = world.http_manifests(tmp_path / "m", f"{base}/{TAR_NAME}")
        log = tmp_path / "fetch.log"
        with log.open("w") as fh:
            proc = world.spawn(
                "fetch",
                "web-demo",
                "--manifests",
                str(manifests),
                stdout=fh,
                FACEDATA_HOME=str(tmp_path / "home"),
                FACEDATA_PROGRESS_SECONDS="0.2",
            )
            _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith(f"{TAR_NAME}: ")]
    assert len(lines) >= 2, err
    assert all(" of " in ln and "%" in ln and "/s" in ln for ln in lines), lines
    assert "\r" not in err and "\x1b[" not in err
    assert "web-demo" in log.read_text()  # the result still goes to stdout


def test_eta_total_follows_the_real_count(world: World, tmp_path: Path):
    """A manifest that says 5,000 images is corrected to the real count (102) as soon as
    the reader knows it."""
    manifests = tmp_path / "m"
    manifests.mkdir()
    text = (world.manifests / f"{DATASET_ID}.yaml").read_text()
    (manifests / f"{DATASET_ID}.yaml").write_text(text.replace("images: 102", "images: 5000"))
    seen: list[dict] = []
    recipe = Recipe(datasets=[DATASET_ID], out=tmp_path / "c", manifests=[manifests], batch_size=8)
    with private_home(world.home):
        build(recipe, progress=lambda c: seen.append(dict(c)))
    # GENKI's reader counts labels.txt first, so even the first update has the real count
    assert [c["expected"] for c in seen] == [102] * len(seen)
    assert seen[-1]["read"] == 102


def test_eta_total_is_corrected_when_a_reader_without_a_count_finishes(
    world: World, tmp_path: Path
):
    """GENKI's class-folder copies have no labels.txt to count: the manifest's guess
    (5,000) stands until the reader is done, then the real count replaces it."""
    from facedata.fetch import fetch_dataset
    from facedata.manifest.catalog import Catalog
    from tests.helpers.photos import face_variant

    root = tmp_path / "copy" / "GENKI4K" / "files"
    for n in range(12):
        folder = root / ("smile" if n % 2 else "nonsmile")
        folder.mkdir(parents=True, exist_ok=True)
        face_variant(n, (180, 200)).save(folder / f"file{n + 1:04d}.jpg", quality=90)
    manifests = tmp_path / "m"
    manifests.mkdir()
    head, _, _ = (world.manifests / f"{DATASET_ID}.yaml").read_text().partition("sources:")
    (manifests / "folders-demo.yaml").write_text(
        head.replace(f"id: {DATASET_ID}", "id: folders-demo").replace("images: 102", "images: 5000")
        + "sources:\n  - id: copy\n    kind: manual\n    official: false\n    access:\n"
        + "      level: open\n      instructions: register it with --from\n"
        + "format:\n  reader: genki\n  root: '*'\nlabels:\n  smile:\n"
        + "    codes: {'1': 1, '0': 0}\n"
    )
    seen: list[dict] = []
    with private_home(tmp_path / "home"):
        fetch_dataset(Catalog.load([manifests]).get("folders-demo"), from_path=tmp_path / "copy")
        recipe = Recipe(
            datasets=["folders-demo"], out=tmp_path / "c", manifests=[manifests], batch_size=4
        )
        build(recipe, progress=lambda c: seen.append(dict(c)))
    assert seen[0]["expected"] == 5000
    assert seen[-1]["expected"] == 12 == seen[-1]["read"]
