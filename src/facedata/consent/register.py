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
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from facedata.errors import ManifestError
from facedata.files.yamlfile import load_yaml
from facedata.vocabulary import PUBLICATION, SCOPES

ADULT_AGE = 18  # below it, a participant needs a guardian's consent (fail closed)
NOTE_PREFIX = "x-"  # free columns: `x-` anything, never read
IDENTIFYING = {"name", "full_name", "first_name", "last_name", "email", "phone", "address"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


class ConsentRow(BaseModel):
    """One participant's consent, as a register row (CSV) or list item (YAML) states it.

    This model is the register's schema: docs/consent-schema.json is generated from it,
    and a column it does not declare (other than `x-...` notes) is an error, so a
    condition a reader would skip (an expiry, a minor flag) can never admit anyone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_id: str = Field(description="pseudonymous participant id, e.g. P017")
    scopes: frozenset[str] = Field(
        description="what the participant agreed to: any of "
        + ", ".join(SCOPES)
        + " (CSV: separated by ';')"
    )
    signed: dt.date = Field(description="date the participant signed (YYYY-MM-DD)")
    expires: dt.date | None = Field(
        None, description="consent ends on this date (UTC build date >= expires: refused)"
    )
    withdrawn: dt.date | None = Field(None, description="date consent was withdrawn")
    date_of_birth: dt.date | None = Field(
        None, description=f"age status: under {ADULT_AGE} on the build date is a minor"
    )
    minor: bool | None = Field(
        None, description="age status when no date of birth is kept: true for a minor"
    )
    guardian_consent: bool | None = Field(
        None, description="a minor's guardian / legal representative consented"
    )
    guardian_signed: dt.date | None = Field(
        None, description="date the guardian signed (required with guardian_consent)"
    )
    notes: str | None = Field(None, description="free text, never read")

    @field_validator("subject_id", mode="before")
    @classmethod
    def _sid(cls, value: object) -> str:
        sid = str(value or "").strip()
        if not _ID.match(sid):
            raise ValueError(f"subject id {sid!r} must be a pseudonymous code like P017")
        return sid

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: object) -> frozenset[str]:
        return _scopes(value)

    @field_validator(
        "signed", "expires", "withdrawn", "date_of_birth", "guardian_signed", mode="before"
    )
    @classmethod
    def _dates(cls, value: object, info: ValidationInfo) -> dt.date | None:
        return _date(value, info.field_name or "date")

    @field_validator("minor", "guardian_consent", mode="before")
    @classmethod
    def _flags(cls, value: object, info: ValidationInfo) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{info.field_name} {value!r} is not yes/no")

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: object) -> str | None:
        return None if value is None else str(value)


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def consent_schema() -> dict:
    """The register's JSON Schema (YAML form: `subjects:` list; CSV: the same columns)."""
    row = ConsentRow.model_json_schema()
    row["patternProperties"] = {f"^{NOTE_PREFIX}": {"description": "free notes, never read"}}
    row["required"] = ["subject_id", "scopes", "signed"]
    row["properties"]["scopes"] = {
        "description": row["properties"]["scopes"]["description"],
        "anyOf": [
            {"type": "array", "items": {"enum": list(SCOPES)}, "uniqueItems": True},
            {"type": "string"},
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "facedata consent register",
        "description": "Generated by `python -m facedata.consent.register` from "
        "facedata/consent/register.py; do not edit. CSV registers use the same columns "
        "(header row).",
        "type": "object",
        "properties": {"subjects": {"type": "array", "items": {"$ref": "#/$defs/ConsentRow"}}},
        "required": ["subjects"],
        "additionalProperties": False,
        "$defs": {"ConsentRow": row},
    }


def consent_schema_text() -> str:
    return json.dumps(consent_schema(), indent=2, sort_keys=True) + "\n"


def _column_problem(path: Path, line: int, cols: list[str]) -> ManifestError | None:
    """An undeclared or identifying column stops the whole register: it could hide a
    condition (expiry, minor status) that no one reads."""
    lowered = {c.lower() for c in cols}
    leaking = sorted(lowered & IDENTIFYING)
    if leaking:
        return ManifestError(
            f"{path}:{line}: the consent register has identifying column(s) {leaking}",
            hint="keep only pseudonymous ids here; store the id-to-person key elsewhere",
        )
    known = set(ConsentRow.model_fields)
    unknown = [c for c in cols if c not in known and not c.lower().startswith(NOTE_PREFIX)]
    if unknown:
        return ManifestError(
            f"{path}:{line}: unknown consent column(s) {', '.join(map(repr, unknown))}",
            hint=f"declared columns: {', '.join(known)}; put free notes in a column named "
            f"{NOTE_PREFIX}... (see docs/consent.md)",
        )
    return None


@dataclass
class ConsentRegister:
    """Parsed register: good records, and rows that could not be parsed (with why)."""

    path: Path
    records: dict[str, ConsentRow] = field(default_factory=dict)
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
        if rec.expires is not None and rec.expires <= on:
            return False, "consent: expired"
        if purpose not in rec.scopes:
            return False, f"consent: no {purpose} scope"
        ok, why = age_decision(rec, on)
        if not ok:
            return False, why
        return True, f"consent: {purpose} granted"

    def may_publish(self, subject_id: str | None, on: dt.date) -> bool:
        """May this face be rendered for people outside the team (report, card)?"""
        people = [s for s in (subject_id or "").split("+") if s]
        return bool(people) and all(self.decide(s, PUBLICATION, on)[0] for s in people)

    def summary(self, purpose: str, on: dt.date) -> dict[str, int]:
        out: dict[str, int] = {}
        for sid in [*self.records, *self.malformed]:
            _, reason = self.decide(sid, purpose, on)
            out[reason] = out.get(reason, 0) + 1
        return out


def age_decision(rec: ConsentRow, on: dt.date) -> tuple[bool, str]:
    """A minor is admitted only with a guardian's consent signed by `on`; an age status
    that contradicts itself is refused (fail closed). No age status at all is the
    register's statement that the participant signed as an adult."""
    by_birth = _age(rec.date_of_birth, on) < ADULT_AGE if rec.date_of_birth else None
    if by_birth is not None and rec.minor is not None and by_birth != rec.minor:
        return False, "consent: inconsistent age status"
    if rec.date_of_birth is not None and rec.date_of_birth > rec.signed:
        return False, "consent: inconsistent age status"  # signed before being born
    if rec.guardian_consent is False and rec.guardian_signed is not None:
        return False, "consent: inconsistent guardian consent"
    is_minor = by_birth if by_birth is not None else bool(rec.minor)
    if not is_minor:
        return True, ""
    if not rec.guardian_consent or rec.guardian_signed is None:
        return False, "consent: minor without guardian consent"
    if rec.guardian_signed > on:
        return False, "consent: guardian consent not yet signed"
    return True, ""


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


SHORT_ROW = "\0short"  # marks a CSV row with fewer values than its header


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    if path.suffix.lower() in (".yaml", ".yml"):
        # load_yaml: duplicate keys and impossible dates (2026-02-30) are file:line errors
        doc = load_yaml(path)
        data = doc.data or {}
        rows = data.get("subjects", []) if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ManifestError(f"{path}: expected `subjects:` with a list of records")
        for key in data:
            if key != "subjects" and not str(key).lower().startswith(NOTE_PREFIX):
                line = doc.line_of((key,)) or 1
                raise ManifestError(  # `defaults: {expires: ...}` would be read by nobody
                    f"{path}:{line}: unknown key {key!r} in the consent register",
                    hint="the register holds only `subjects:` (and `x-...` notes); see "
                    "docs/consent.md",
                )
        return [
            (doc.line_of(("subjects", i)) or i + 1, r if isinstance(r, dict) else {})
            for i, r in enumerate(rows)
        ]
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        names = [(h or "").strip() for h in reader.fieldnames or []]
        header = [h for h in names if h]
        if header and len(header) < len(names):  # its values would be read by no one
            raise ManifestError(
                f"{path}:1: the header has a column without a name (column {names.index('') + 1})",
                hint="name the column (free notes: `notes` or `x-...`) or remove it, "
                "trailing comma included",
            )
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            # A header that names none of the columns would silently admit no one.
            found = ", ".join(header) if header else "no header row"
            raise ManifestError(
                f"consent register {path} lacks column(s) {', '.join(missing)} (found: {found})",
                hint="its first line must name the columns: subject_id,scopes,signed,withdrawn",
            )
        problem = _column_problem(path, 1, header)
        if problem is not None:
            raise problem
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:  # csv keeps the last value: an earlier `expires` would be ignored
            raise ManifestError(
                f"{path}:1: column(s) {', '.join(twice)} appear more than once",
                hint="keep one column of each name",
            )
        out = []
        for i, r in enumerate(reader):
            if r.get(None):  # type: ignore[call-overload]  # values past the last column
                raise ManifestError(
                    f"{path}:{i + 2}: more values than the header has columns",
                    hint="quote values that contain commas, or add the column to the header",
                )
            row = {k.strip(): v for k, v in r.items() if k}
            if any(v is None for v in row.values()):
                # a short row (a truncated or shifted line): which value is which is a
                # guess, so the participant is refused rather than read without a column
                row = {**row, SHORT_ROW: True}
            out.append((i + 2, row))
        return out


def load_register(path: Path) -> ConsentRegister:
    """Read a CSV or YAML register. Bad rows are kept as `malformed`, never guessed."""
    path = Path(path)
    if path.is_dir():
        raise ManifestError(
            f"consent register {path} is a folder",
            hint="point the manifest's `consent:` at the CSV or YAML file itself",
        )
    if not path.is_file():
        from facedata.files.confine import regular_problem

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
    seen: dict[str, str] = {}  # casefolded id -> the id as first written
    for line, row in rows:
        short = bool(row.pop(SHORT_ROW, False))
        problem = _column_problem(path, line, [str(c) for c in row])
        if problem is not None:
            raise problem
        sid = str(row.get("subject_id") or "").strip()
        if not sid:
            continue  # nothing to attach the row to; it cannot admit anyone
        same = seen.setdefault(sid.casefold(), sid)
        if same != sid:  # `P001` and `p001 `: one person or two? refuse both
            reg.malformed[sid] = reg.malformed[same] = (
                f"{path.name}:{line}: subject listed twice ({same!r} and {sid!r})"
            )
            reg.records.pop(same, None)
            continue
        if short:
            reg.malformed[sid] = f"{path.name}:{line}: fewer values than the header has columns"
            reg.records.pop(sid, None)
            continue
        fields = {k: v for k, v in row.items() if not str(k).lower().startswith(NOTE_PREFIX)}
        try:
            record = ConsentRow.model_validate(fields)
        except ValidationError as exc:
            reg.malformed[sid] = f"{path.name}:{line}: {_problem(exc)}"
            continue
        if sid in reg.records or sid in reg.malformed:
            reg.malformed[sid] = f"{path.name}:{line}: subject listed twice"
            reg.records.pop(sid, None)
            continue
        reg.records[sid] = record
    return reg


def _problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    msg = str(first["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "missing":
        return "no signature date" if where == "signed" else f"no {where}"
    return msg


def write_schema(folder: Path) -> Path:
    """Write docs/consent-schema.json (generated, never hand-edited)."""
    from facedata.files.atomic import atomic_write_text

    path = Path(folder) / "consent-schema.json"
    atomic_write_text(path, consent_schema_text())
    return path


if __name__ == "__main__":
    import sys

    print(write_schema(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
