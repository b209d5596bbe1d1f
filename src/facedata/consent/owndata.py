"""Set-up help for own recorded data: a manifest written from the template."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.paths import builtin_manifest_dir

TEMPLATE = "templates/own-data.yaml"


def new_local_manifest(
    folder: Path,
    dataset_id: str,
    name: str | None = None,
    out: Path | None = None,
    force: bool = False,
) -> Path:
    """Write a manifest for `folder` from the template; refuse to overwrite unless forced."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FacedataError(
            f"{folder} is not a folder", hint="pass the folder holding your recordings"
        )
    if not re.match(r"^[a-z0-9][a-z0-9._-]*$", dataset_id):
        raise FacedataError(
            f"invalid id {dataset_id!r}", hint="use lowercase letters, digits, '.', '_' or '-'"
        )
    out = Path(out) if out else folder / f"{dataset_id}.yaml"
    if out.is_dir():
        raise FacedataError(
            f"--out {out} is a folder", hint=f"name the manifest file, e.g. {out / dataset_id}.yaml"
        )
    if out.exists() and not force:
        raise FacedataError(f"{out} already exists", hint="pass --force to overwrite it")
    data = yaml.safe_load((builtin_manifest_dir() / TEMPLATE).read_text())
    data["id"] = dataset_id
    data["name"] = name or f"{dataset_id} (own recordings)"
    consent = next(
        (p.name for p in (folder / "consent.csv", folder / "consent.yaml") if p.is_file()),
        "consent.csv",
    )
    src = data["sources"][0]
    src["path"] = Path(_relpath(folder, out.parent)).as_posix()
    src["consent"] = Path(_relpath(folder / consent, out.parent)).as_posix()
    header = (
        f"# Own recorded data in {folder}. Check every field, then run\n"
        f"#   facedata manifest validate {out}\n"
        f"# Expected next to it: annotations.csv and {consent}.\n"
    )
    try:
        atomic_write_text(out, header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    except OSError as exc:
        raise FacedataError(
            f"cannot write {out}: {exc.strerror or exc} ({exc.filename})",
            hint="pass --out a file path in a folder you can write to",
        ) from None
    return out


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(Path(target).resolve(), Path(start).resolve())
