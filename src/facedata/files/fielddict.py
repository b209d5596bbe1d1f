"""A record's fields as plain JSON values, for the `to_dict` of facedata's records.

Decisions, detector decisions and withdrawals are written into corpus.json, logs and
ledgers field by field. Spelling each field out again in every `to_dict` let a new
field be forgotten in the file; here every field goes, in declaration order (the
order the files have always had), tuples as lists and clearances dumped as JSON.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import BaseModel


def field_dict(record: Any) -> dict[str, Any]:
    """Every field of the dataclass `record`, by name, as a JSON value."""
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


__all__ = ["field_dict"]
