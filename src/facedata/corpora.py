"""The registry of built corpora: which corpora exist, so `forget` can reach all of them.

A withdrawal must reach every copy of a person's rows, including corpora nobody
named on the command line. Each build records its output (absolute path, purpose,
datasets, creation time and policy date) in `$FACEDATA_HOME/corpora.json`, written
atomically under a lock. Corpora deleted since are tolerated: they are reported as
gone, never an error, and dropped from the registry on the next write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .atomic import atomic_write_text
from .corpus.shards import CORPUS_JSON
from .errors import FacedataError
from .paths import home

REGISTRY_NAME = "corpora.json"


def registry_path() -> Path:
    return home() / REGISTRY_NAME


@dataclass(frozen=True)
class Registered:
    path: Path
    purpose: str
    datasets: tuple[str, ...]
    created: str
    policy_date: str | None = None

    @property
    def exists(self) -> bool:
        return (self.path / CORPUS_JSON).is_file()

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "purpose": self.purpose,
            "datasets": list(self.datasets),
            "created": self.created,
            "policy_date": self.policy_date,
        }


def _lock() -> FileLock:
    home().mkdir(parents=True, exist_ok=True)
    return FileLock(str(home() / f".{REGISTRY_NAME}.guard"), timeout=60)


def read_registry() -> list[Registered]:
    """Every registered corpus, deleted ones included (check `.exists`)."""
    path = registry_path()
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [
            Registered(
                Path(e["path"]),
                str(e.get("purpose") or "research"),
                tuple(e.get("datasets") or ()),
                str(e.get("created") or ""),
                e.get("policy_date"),
            )
            for e in raw["corpora"]
        ]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise FacedataError(
            f"the corpus registry {path} is unreadable: {exc}",
            hint="it lists the corpora `forget` must reach; restore it from a backup, or delete "
            "it and name each corpus on the command line (`facedata forget --subject ID DIR...`); "
            "the next build re-registers its corpus",
        ) from None


def register(out: Path, corpus: dict) -> Registered:
    """Record (or refresh) the corpus built at `out`."""
    entry = Registered(
        Path(out).resolve(),
        str(corpus.get("purpose") or "research"),
        tuple(d["id"] for d in corpus.get("datasets") or []),
        str(corpus.get("created") or ""),
        corpus.get("policy_date"),
    )
    with _lock():
        kept = [r for r in read_registry() if r.path != entry.path and r.exists]
        kept.append(entry)
        body = {"corpora": [r.to_dict() for r in kept]}
        atomic_write_text(registry_path(), json.dumps(body, indent=2) + "\n")
    return entry


def live_corpora() -> list[Registered]:
    """Registered corpora that still exist on disk."""
    return [r for r in read_registry() if r.exists]
