"""The registry of trained models: which models exist, so an erasure reaches them.

Beside the corpus registry, `$FACEDATA_HOME/models.json` records each model `train`
wrote (absolute folder, terms, the salted subject digests, corpus fingerprint),
written atomically under a lock. `forget --subject X` tests every registered model's
digests and marks each trained on X, in the registry and in the model folder
(`MARKS.json`, read by `predict`): who, when, which subject, and that it must be
retrained. The digests live in the registry too, so a model folder that was moved
is still named. A model deleted since is reported as gone and dropped on the next
write; retraining into the folder replaces it whole, marks included.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from filelock import FileLock

import facedata.files.jsontext as jsontext
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.learn.terms import learnt_from
from facedata.paths import home
from facedata.project import from_project, home_project, in_project

REGISTRY_NAME = "models.json"
MARKS = "MARKS.json"
RETRAIN = "retrain"


def registry_path() -> Path:
    return home() / REGISTRY_NAME


def _lock() -> FileLock:
    home().mkdir(parents=True, exist_ok=True)
    return FileLock(str(home() / f".{REGISTRY_NAME}.guard"), timeout=60)


def read_models() -> list[dict[str, Any]]:
    """Every registered model, deleted ones included (see `exists`)."""
    path = registry_path()
    return jsontext.read_state(
        path,
        _models,
        [],
        unreadable=f"the model registry {path} is unreadable",
        hint="it lists the models `forget` must reach; restore it from a backup, or delete "
        "it and retrain (each `facedata train` registers its model)",
    )


def _models(raw: Any) -> list[dict[str, Any]]:
    """The registry document's entries, each path resolved in this project."""
    models = raw["models"]
    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("path"), str) for m in models
    ):
        raise ValueError("`models` is not a list of model entries")
    root = home_project(registry_path().parent)
    for m in models:  # a copied or moved project folder: its own models
        m["path"] = from_project(m["path"], m.get("in_project"), root)
    return [_clean(m) for m in models]


def _clean(m: dict[str, Any]) -> dict[str, Any]:
    """An entry whose lists are lists: a hand-edited registry never ends in a traceback."""
    for key in ("marks", "heads", "datasets", "clearances"):
        if not isinstance(m.get(key), list):
            m[key] = []
    m["marks"] = [k for k in m["marks"] if isinstance(k, dict)]
    for key in ("subjects", "corpus"):
        if not isinstance(m.get(key), dict):
            m[key] = {}
    return m


def _write(models: list[dict[str, Any]]) -> None:
    root = home_project(registry_path().parent)
    models = [{**m, "in_project": in_project(Path(m["path"]), root)} for m in models]
    atomic_write_text(registry_path(), json.dumps({"models": models}, indent=2) + "\n")


def exists(entry: dict[str, Any]) -> bool:
    return (Path(entry["path"]) / "model.onnx").is_file()


def register(out: Path, terms: dict[str, Any]) -> dict[str, Any]:
    """Record (or replace) the model trained into `out`; a retrain clears old marks."""
    entry = {
        "path": str(Path(out).resolve()),
        "trained": terms["trained"],
        "statement": terms["statement"],
        "banner": terms["banner"],
        "tier": terms["tier"],
        "heads": terms["heads"],
        "datasets": terms["datasets"],
        "corpus": terms["corpus"],
        "subjects": terms["subjects"],
        "clearances": terms["clearances"],
        "marks": [],
    }
    with _lock():
        kept = [m for m in read_models() if m["path"] != entry["path"] and exists(m)]
        _write([*kept, entry])
    return entry


def marks_in(folder: Path) -> list[dict[str, Any]]:
    """Marks written into a model folder by `forget` (a damaged file counts as a mark)."""
    path = Path(folder) / MARKS
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        marks = data.get("marks") if isinstance(data, dict) else None
        if isinstance(marks, list):
            return [m for m in marks if isinstance(m, dict)]
    except (OSError, ValueError, RecursionError):
        pass
    return [{"subject_id": "?", "action": RETRAIN, "reason": f"{MARKS} is unreadable"}]


def learnt_by_any(subject_id: str) -> bool:
    """Did a model registered in this home learn from `subject_id`? A model trained on
    a corpus this home never built (a copy) still makes the id one `forget` must mark."""
    try:
        return any(learnt_from(m, subject_id) for m in read_models())
    except (FacedataError, OSError):
        return False


def mark_models(subject_id: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Mark every registered model trained on `subject_id`; return what was marked.

    Each result says the folder, whether it still exists, and the mark written.
    """
    mark = {
        "subject_id": subject_id,
        "dataset": entry.get("dataset"),
        "by": entry.get("by"),
        "when": entry.get("when") or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reason": entry.get("reason") or "consent withdrawn",
        "action": RETRAIN,
    }
    if not registry_path().is_file():
        return []
    try:
        return _mark(subject_id, entry, mark)
    except (FacedataError, OSError) as exc:  # the withdrawal must still be logged
        text = exc.message if isinstance(exc, FacedataError) else str(exc)
        return [{"path": str(registry_path()), "exists": False, "mark": None, "problem": text}]


def _mark(subject_id: str, entry: dict[str, Any], mark: dict[str, Any]) -> list[dict[str, Any]]:
    hits = []
    with _lock():
        models = read_models()
        for m in models:
            if not learnt_from(m, subject_id) or not _in_scope(m, entry):
                continue
            if any(_same_mark(k, mark) for k in m.get("marks") or []):
                continue  # already marked for this subject (forget and train both mark)
            m.setdefault("marks", []).append(mark)
            folder = Path(m["path"])
            present, problem = exists(m), None
            if present:
                try:
                    old = marks_in(folder)
                    atomic_write_text(
                        folder / MARKS, json.dumps({"marks": [*old, mark]}, indent=2) + "\n"
                    )
                except OSError as exc:  # a read-only folder: the registry still holds it
                    problem = f"cannot write {folder / MARKS}: {exc.strerror or exc}"
            hits.append({"path": m["path"], "exists": present, "mark": mark, "problem": problem})
        if hits:
            _write(models)
    return hits


def _same_mark(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """One mark per subject: a model already told to retrain without them needs no
    second mark (a repeated forget would count one withdrawal twice)."""
    return a.get("subject_id") == b.get("subject_id")


def _in_scope(model: dict[str, Any], entry: dict[str, Any]) -> bool:
    """A withdrawal scoped to a dataset reaches models that learnt from that dataset."""
    dataset = entry.get("dataset")
    if not dataset:
        return True
    scope = {dataset, *(entry.get("copies") or [])}
    return bool(scope & set(model.get("datasets") or []))


def entries_for(folder: Path, terms: Any = None) -> list[dict[str, Any]]:
    """Registry entries of the model in `folder`: registered at that path, or the same
    model (its subject salt is unique to one training) moved or copied elsewhere."""
    salt = (terms or {}).get("subjects", {}) if isinstance(terms, dict) else {}
    salt = salt.get("salt") if isinstance(salt, dict) else None
    try:
        key = str(Path(folder).resolve())
        models = read_models()
    except (FacedataError, OSError):
        return []
    return [
        m
        for m in models
        if m["path"] == key
        or (salt and isinstance(m.get("subjects"), dict) and m["subjects"].get("salt") == salt)
    ]
