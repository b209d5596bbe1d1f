"""A clearance binds to the bytes it cleared.

A person cleared one delivery of a dataset, after reading what it held. A different
delivery registered later (`fetch --force --from` another archive) is not what they
saw, so a clearance covers:

- the files whose sha256 it lists (`sha256: [...]` in the clearance file), or
- any delivery, when it says `any_version: true`, or otherwise
- the delivery it first admitted under this FACEDATA_HOME: the first build that uses
  it records that delivery's file hashes in `$FACEDATA_HOME/clearance-bindings.json`,
  and a later build with other bytes is refused until the clearance names them. The
  binding belongs to what is cleared (dataset or source, purpose), not to the wording:
  a renewed or reworded clearance stays bound to that delivery.

Whatever binds it, the corpus records the sha256 of the files each clearance admitted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from filelock import FileLock

import facedata.files.jsontext as jsontext
from facedata.files.atomic import atomic_write_text
from facedata.gate.licensing import Clearance, Decision
from facedata.paths import home

BINDINGS_NAME = "clearance-bindings.json"


def bindings_path() -> Path:
    return home() / BINDINGS_NAME


def _key(c: Clearance) -> str:
    """What a clearance clears: the dataset (or source) for a purpose. Who signed it, on
    which evidence and until when are left out: rewording or renewing a clearance must
    not rebind it to whatever delivery is registered at the time."""
    return json.dumps([c.dataset, c.source, c.purpose], separators=(",", ":"))


def _bound(known: dict[str, list[str]], c: Clearance) -> list[list[str]]:
    """Deliveries bound to this clearance's subject, also under the older, longer keys
    (which named who cleared it, the evidence and the expiry)."""
    out = []
    for key, hashes in known.items():
        try:
            parts = json.loads(key)
        except ValueError:
            continue
        if isinstance(parts, list) and parts[:3] == [c.dataset, c.source, c.purpose]:
            out.append(sorted(hashes))
    return out


def _read(path: Path) -> dict[str, list[str]]:
    return jsontext.read_state(
        path,
        lambda data: {str(k): [str(h) for h in v] for k, v in data["bindings"].items()},
        {},
        unreadable=f"the clearance bindings {path} are unreadable",
        hint="they record which delivery each clearance admitted; restore the file, or "
        "name the sha256 of the cleared files in each clearance (`sha256: [...]`)",
    )


def bind(decision: Decision, hashes: Iterable[str]) -> Decision:
    """The decision, refused if its clearance was given for other bytes; on first use
    the delivery is recorded. The returned clearance carries the admitted sha256."""
    c = decision.clearance
    if c is None or not decision.admitted:
        return decision
    delivered = sorted(set(hashes))
    admitted = replace(decision, clearance=c.model_copy(update={"sha256": delivered}))
    if c.any_version:
        return admitted
    if c.sha256 is not None:
        unnamed = [h for h in delivered if h not in set(c.sha256)]
        if not delivered or unnamed:
            return _refuse(decision, c, delivered, "the files it names")
        return admitted
    path = bindings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(f".{BINDINGS_NAME}.guard")), timeout=60):
        known = _read(path)
        bound = _bound(known, c)
        if not bound:
            known[_key(c)] = delivered
            atomic_write_text(path, json.dumps({"bindings": known}, indent=2) + "\n")
            return admitted
    if delivered not in bound:
        shown = _short(bound[0])
        return _refuse(decision, c, delivered, f"the delivery it first admitted ({shown})")
    return admitted


def _short(hashes: list[str]) -> str:
    shown = ", ".join(h[:12] for h in hashes[:3])
    return f"sha256 {shown}{', ...' if len(hashes) > 3 else ''}" if hashes else "no files"


def _refuse(decision: Decision, c: Clearance, delivered: list[str], bound: str) -> Decision:
    where = f"{c.where}: " if c.where else ""
    return replace(
        decision,
        admitted=False,
        clearance=None,
        reason=(
            f"{where}the clearance by {c.cleared_by} covers {bound}, not this delivery "
            f"({_short(delivered)}); a different delivery needs its own review: add its "
            "files' sha256 to the clearance (`sha256: [...]`) or `any_version: true`"
        ),
    )
