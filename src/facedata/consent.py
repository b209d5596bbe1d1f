"""The consent register of the team's own recorded participants.

A participant's rows may enter a corpus only where their signed consent covers the
build's purpose on the day of the build. Anything missing, malformed or withdrawn
excludes the participant: with people's faces, doubt means "no".

The register holds pseudonymous ids only. Columns that could identify a person
(name, email, phone ...) are refused outright, so a register cannot leak identities
into a corpus or its provenance.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ManifestError
from .yamlfile import load_yaml

SCOPES = ("research", "commercial", "publication")
COLUMNS = ("subject_id", "scopes", "signed", "withdrawn", "notes")
IDENTIFYING = {"name", "full_name", "first_name", "last_name", "email", "phone", "address"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ConsentRecord:
    subject_id: str
    scopes: frozenset[str]
    signed: dt.date
    withdrawn: dt.date | None = None


@dataclass
class ConsentRegister:
    """Parsed register: good records, and rows that could not be parsed (with why)."""

    path: Path
    records: dict[str, ConsentRecord] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)  # subject_id -> problem

    def decide(self, subject_id: str | None, purpose: str, on: dt.date) -> tuple[bool, str]:
        """(admitted, reason). Reasons are short so they count well in drop tables."""
        if not subject_id:
            return False, "consent: no subject id"
        if subject_id in self.malformed:
            return False, "consent: unparseable record"
        rec = self.records.get(subject_id)
        if rec is None:
            return False, "consent: no record"
        if rec.signed > on:
            return False, "consent: not yet signed"
        if rec.withdrawn is not None and rec.withdrawn <= on:
            return False, "consent: withdrawn"
        if purpose not in rec.scopes:
            return False, f"consent: no {purpose} scope"
        return True, f"consent: {purpose} granted"

    def summary(self, purpose: str, on: dt.date) -> dict[str, int]:
        out: dict[str, int] = {}
        for sid in [*self.records, *self.malformed]:
            _, reason = self.decide(sid, purpose, on)
            out[reason] = out.get(reason, 0) + 1
        return out


def _date(value: object, what: str) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date (expected YYYY-MM-DD)") from None


def _scopes(value: object) -> frozenset[str]:
    items = value if isinstance(value, list) else re.split(r"[;,|\s]+", str(value or ""))
    scopes = frozenset(str(s).strip().lower() for s in items if str(s).strip())
    unknown = scopes - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {sorted(unknown)}; expected {', '.join(SCOPES)}")
    return scopes


REQUIRED = ("subject_id", "scopes", "signed")


def _rows(path: Path) -> list[tuple[int, dict]]:
    try:
        return _read_rows(path)
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"consent register {path}: not UTF-8 text ({exc.reason})",
            hint="save it as UTF-8 CSV (columns: subject_id,scopes,signed,withdrawn) or YAML",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ManifestError(
            f"consent register {where}: YAML syntax error: {getattr(exc, 'problem', None) or exc}",
            hint="check indentation and quoting near that line",
        ) from None
    except csv.Error as exc:
        raise ManifestError(
            f"consent register {path}: not a readable CSV ({exc})",
            hint="save it as plain CSV with columns subject_id,scopes,signed,withdrawn",
        ) from None


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    if path.suffix.lower() in (".yaml", ".yml"):
        # load_yaml: duplicate keys and impossible dates (2026-02-30) are file:line errors
        doc = load_yaml(path)
        data = doc.data or {}
        rows = data.get("subjects", []) if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ManifestError(f"{path}: expected `subjects:` with a list of records")
        return [
            (doc.line_of(("subjects", i)) or i + 1, r if isinstance(r, dict) else {})
            for i, r in enumerate(rows)
        ]
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or [] if h]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            # A header that names none of the columns would silently admit no one.
            found = ", ".join(header) if header else "no header row"
            raise ManifestError(
                f"consent register {path} lacks column(s) {', '.join(missing)} (found: {found})",
                hint="its first line must name the columns: subject_id,scopes,signed,withdrawn",
            )
        return [(i + 2, {k.strip(): v for k, v in r.items() if k}) for i, r in enumerate(reader)]


def load_register(path: Path) -> ConsentRegister:
    """Read a CSV or YAML register. Bad rows are kept as `malformed`, never guessed."""
    path = Path(path)
    if path.is_dir():
        raise ManifestError(
            f"consent register {path} is a folder",
            hint="point the manifest's `consent:` at the CSV or YAML file itself",
        )
    if not path.is_file():
        from .confine import regular_problem

        problem = regular_problem(path) if os.path.lexists(path) else None
        if problem is not None and not problem.startswith("cannot be read"):
            raise ManifestError(  # a FIFO, a device, a link to one: never read
                f"consent register {path} {problem}",
                hint="point the manifest's `consent:` at a plain CSV or YAML file",
            )
        raise ManifestError(
            f"consent register {path} not found",
            hint="create it (CSV columns: subject_id,scopes,signed,withdrawn) or fix the path",
        )
    rows = _rows(path)
    reg = ConsentRegister(path)
    for line, row in rows:
        cols = {c.lower() for c in row}
        leaking = sorted(cols & IDENTIFYING)
        if leaking:
            raise ManifestError(
                f"{path}:{line}: the consent register has identifying column(s) {leaking}",
                hint="keep only pseudonymous ids here; store the id-to-person key elsewhere",
            )
        sid = str(row.get("subject_id") or "").strip()
        if not sid:
            continue  # nothing to attach the row to; it cannot admit anyone
        try:
            if not _ID.match(sid):
                raise ValueError(f"subject id {sid!r} must be a pseudonymous code like P017")
            signed = _date(row.get("signed"), "signed")
            if signed is None:
                raise ValueError("no signature date")
            record = ConsentRecord(
                sid, _scopes(row.get("scopes")), signed, _date(row.get("withdrawn"), "withdrawn")
            )
        except ValueError as exc:
            reg.malformed[sid] = f"{path.name}:{line}: {exc}"
            continue
        if sid in reg.records or sid in reg.malformed:
            reg.malformed[sid] = f"{path.name}:{line}: subject listed twice"
            reg.records.pop(sid, None)
            continue
        reg.records[sid] = record
    return reg
