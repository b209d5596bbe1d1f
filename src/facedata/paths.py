"""Where facedata keeps things on disk.

Everything derives from `FACEDATA_HOME` so tests, CI and air-gapped sites can point
the whole cache somewhere else with one variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from facedata import settings


def home() -> Path:
    """The cache root: `$FACEDATA_HOME`, else `~/.cache/facedata`."""
    env = settings.text("FACEDATA_HOME")
    if not env:
        return Path.home() / ".cache" / "facedata"
    path = Path(env).expanduser()
    if os.path.exists(path) and not os.path.isdir(path):
        from facedata.errors import DiskError

        raise DiskError(
            f"FACEDATA_HOME={env} is a file, not a folder",
            hint="point FACEDATA_HOME at a folder (it is created if missing), or unset it to "
            "use ~/.cache/facedata",
        )
    return path


def builtin_manifest_dir() -> Path:
    """The manifests shipped with facedata (repo checkout first, then the wheel copy)."""
    here = Path(__file__).resolve()
    repo = here.parents[2] / "manifests"
    if (repo / "taxonomy.yaml").is_file():
        return repo
    return here.parent / "_manifests"
