"""A clearance covers the delivery it cleared, not whatever is registered later."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.fixtures import layouts

from .conftest import DETECTOR_CLEARANCE, corpus

GENKI = (
    "  - dataset: genki4k\n    cleared_by: Legal team\n"
    "    evidence: license agreement MPL-2026-7\n    expires: 2099-12-31\n"
)


def _delivery(team, name: str, n_smile: int) -> Path:
    src = team.root / "src" / name
    layouts.make_genki4k(src, n_smile=n_smile)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, arcname=p.relative_to(src).as_posix(), recursive=False)
    path = team.root / f"{name}.tar"
    path.write_bytes(buf.getvalue())
    return path


def _register_other(team, tar: Path) -> None:
    """A different delivery, registered the way the fetch error says: unpin, fetch again."""
    lock = team.home / "facedata.lock"
    data = json.loads(lock.read_text())
    del data["datasets"]["genki4k"]
    lock.write_text(json.dumps(data))
    res = team.cli("fetch", "genki4k", "--force", "--from", str(tar))
    assert res.code == 0, res.err


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_clearance_binds_to_its_first_delivery(team):
    first = _delivery(team, "first", 7)
    assert team.cli("fetch", "genki4k", "--from", str(first)).code == 0
    clear = team.clearances(DETECTOR_CLEARANCE + GENKI)
    res = team.build("a", "--commercial", "--clearances", str(clear), datasets="genki4k")
    assert res.code == 0, res.err
    recorded = next(c for c in corpus(team.out("a"))["clearances"] if c.get("dataset"))
    assert recorded["sha256"]  # the bytes it admitted
    # another delivery of the same dataset: refused until the clearance names it
    _register_other(team, _delivery(team, "second", 6))
    res = team.build("b", "--commercial", "--clearances", str(clear), datasets="genki4k")
    assert res.code != 0 and not team.out("b").exists()
    err = _flat(res.err)
    assert "not this delivery" in err and "sha256" in err and "any_version" in err
    assert "Traceback" not in res.err
    # research builds need no clearance and are unaffected
    assert team.build("r", datasets="genki4k").code == 0
    # naming the new delivery's files admits it; naming only the old ones does not
    old = team.clearances(
        DETECTOR_CLEARANCE + GENKI + f"    sha256: [{', '.join(recorded['sha256'])}]\n", "old.yaml"
    )
    res = team.build("b", "--commercial", "--clearances", str(old), datasets="genki4k")
    assert res.code != 0 and "not this delivery" in _flat(res.err)
    new = _current_hashes(team)
    assert new and set(new) != set(recorded["sha256"])
    named = team.clearances(
        DETECTOR_CLEARANCE + GENKI + f"    sha256: [{', '.join(new)}]\n", "named.yaml"
    )
    res = team.build("b", "--commercial", "--clearances", str(named), datasets="genki4k")
    assert res.code == 0, res.err
    got = next(c for c in corpus(team.out("b"))["clearances"] if c.get("dataset"))
    assert got["sha256"] == new


def _current_hashes(team) -> list[str]:
    """The sha256 `fetch` pinned for the delivery registered now."""
    data = json.loads((team.home / "facedata.lock").read_text())
    return sorted(f["sha256"] for s in data["datasets"]["genki4k"].values() for f in s["files"])


def test_any_version_covers_every_delivery(team):
    first = _delivery(team, "first", 7)
    assert team.cli("fetch", "genki4k", "--from", str(first)).code == 0
    clear = team.clearances(DETECTOR_CLEARANCE + GENKI + "    any_version: true\n")
    assert team.build("a", "--commercial", "--clearances", str(clear), datasets="genki4k").code == 0
    _register_other(team, _delivery(team, "second", 6))
    res = team.build("b", "--commercial", "--clearances", str(clear), datasets="genki4k")
    assert res.code == 0, res.err
    recorded = next(c for c in corpus(team.out("b"))["clearances"] if c.get("dataset"))
    assert recorded["sha256"] == _current_hashes(team)


def test_rewording_a_clearance_does_not_rebind_it_to_another_delivery(team):
    first = _delivery(team, "first", 7)
    assert team.cli("fetch", "genki4k", "--from", str(first)).code == 0
    clear = team.clearances(DETECTOR_CLEARANCE + GENKI)
    assert team.build("a", "--commercial", "--clearances", str(clear), datasets="genki4k").code == 0
    _register_other(team, _delivery(team, "second", 6))
    # the same clearance with a new expiry, other evidence or another reviewer is still
    # the clearance of the first delivery: only naming the new files admits them
    for old, new in (
        ("2099-12-31", "2099-12-30"),
        ("MPL-2026-7", "MPL-2026-7 (renewed)"),
        ("Legal team", "Legal"),
    ):
        reworded = team.clearances(DETECTOR_CLEARANCE + GENKI.replace(old, new), "re.yaml")
        res = team.build("b", "--commercial", "--clearances", str(reworded), datasets="genki4k")
        assert res.code != 0 and "not this delivery" in _flat(res.err), (old, res.err)
    # the first delivery stays admitted under the reworded clearance
    _register_other(team, first)
    res = team.build("c", "--commercial", "--clearances", str(reworded), datasets="genki4k")
    assert res.code == 0, res.err
