"""A real manifest turned into a locally registered copy, for builds on generated files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def write_local_copy(folder: Path, base: str, new_id: str, why: str, **override: Any) -> Path:
    """`manifests/BASE.yaml` as `new_id` with one `manual` source, written to `folder`,
    so `fetch --from` registers generated files and the real reader runs on them."""
    data = yaml.safe_load((REPO / "manifests" / f"{base}.yaml").read_text())
    data.update(id=new_id, **override)
    if base == "fer2013":  # the Kaggle source names its CSV in a file set
        data["format"].setdefault("options", {})["file"] = "fer2013/fer2013.csv"
    data["sources"] = [
        {
            "id": "local-copy",
            "kind": "manual",
            "official": True,
            "access": {"level": "open", "instructions": f"generated for {why}"},
        }
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{new_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
