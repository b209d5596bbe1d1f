"""A project folder that carries its own cache: `facedata.toml` in the current folder.

`facedata demo` writes a folder with a private cache and its own manifests, so that
the user's cache is never touched. A command run from inside that folder must find
them without the person exporting FACEDATA_HOME and FACEDATA_MANIFESTS by hand, so
the folder holds a marker::

    # facedata.toml
    home = "cache"              # FACEDATA_HOME for commands run in this folder
    manifests = ["manifests"]   # added to FACEDATA_MANIFESTS

The marker is read only from the current folder itself, never from a parent: a
`facedata.toml` planted in /tmp, a shared drive or a home folder above the one the
person stands in could otherwise redirect every command run below it (its cache,
its consent registers, its manifests). For the same reason a marker is ignored
unless the person running facedata owns it and nobody else may write to it, and its
paths are relative and must stay inside the marker's own folder. An explicit
FACEDATA_HOME or FACEDATA_MANIFESTS in the environment always wins.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from facedata.errors import ManifestError, UnsafePathError
from facedata.files.confine import inside, name_problem, read_regular

MARKER = "facedata.toml"
MARKER_MAX_BYTES = 64 * 1024  # two lines are expected


@dataclass(frozen=True)
class Project:
    """A folder with its own cache and manifests."""

    root: Path
    home: Path
    manifests: tuple[Path, ...]


def marker_text(home: str = "cache", manifests: tuple[str, ...] = ("manifests",)) -> str:
    """The marker a project folder holds (written by `facedata demo`)."""
    listed = ", ".join(f'"{m}"' for m in manifests)
    return (
        "# facedata commands run in this folder use this project's own cache and\n"
        "# manifests (paths relative to this folder, and inside it). Only this folder:\n"
        "# a marker in a parent folder is never read.\n"
        f'home = "{home}"\n'
        f"manifests = [{listed}]\n"
    )


def _inside(root: Path, value: object, what: str, marker: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(
            f"{marker}: `{what}` must be a folder name", hint=f'write e.g. {what} = "cache"'
        )
    rel = Path(value)
    # NUL bytes, unencodable or over-long names are refused before the file system
    # sees them; absolute paths and '..' are judged below by where they lead.
    problem = None if rel.is_absolute() else name_problem(value.replace("..", "_"))
    if problem:
        raise ManifestError(
            f"{marker}: `{what}` is unusable: {problem}",
            hint='write e.g. home = "cache" and manifests = ["manifests"]',
        )
    try:
        target = (root / rel).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a link loop, a NUL byte
        raise ManifestError(
            f"{marker}: `{what}` = {value!r} cannot be resolved ({exc})",
            hint="point it at a plain folder inside the project",
        ) from None
    if rel.is_absolute() or (target != root and root not in target.parents):
        raise ManifestError(
            f"{marker}: `{what}` = {value!r} leaves the project folder",
            hint="a project's cache and manifests live inside its own folder",
        )
    return target


def _trusted(path: Path) -> bool:
    """Owned by whoever runs facedata, and writable by nobody else."""
    try:
        st = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def find_project(folder: Path | None = None) -> Project | None:
    """The project whose marker is in `folder` (default: the current folder), if any."""
    try:
        root = (folder or Path.cwd()).resolve()
    except OSError:  # the current folder was deleted under us
        return None
    marker = root / MARKER
    if not marker.is_file() or not _trusted(marker) or not _trusted(root):
        return None
    try:
        # The marker itself is confined like any file we did not author: a link that
        # leads out of the folder, or a marker of megabytes, is not read.
        raw = read_regular(inside(root, marker, str(marker)), MARKER_MAX_BYTES)
        if len(raw) > MARKER_MAX_BYTES:
            raise ValueError(f"over {MARKER_MAX_BYTES:,} bytes")
        data = tomllib.loads(raw.decode("utf-8"))
    except UnsafePathError as exc:
        raise ManifestError(
            f"{marker}: not read: {exc.message}",
            hint="a project marker is a plain file in the project folder, not a link out of it",
        ) from None
    except (
        OSError,
        ValueError,  # UnicodeDecodeError and TOMLDecodeError included
        RecursionError,
    ) as exc:
        raise ManifestError(
            f"{marker}: not a readable project marker ({exc})",
            hint='it holds two lines: home = "cache" and manifests = ["manifests"]',
        ) from None
    home = _inside(root, data.get("home", "cache"), "home", marker)
    listed = data.get("manifests", [])
    if not isinstance(listed, list):
        raise ManifestError(
            f"{marker}: `manifests` must be a list", hint='write manifests = ["manifests"]'
        )
    manifests = tuple(_inside(root, m, "manifests", marker) for m in listed)
    return Project(root, home, manifests)


def home_project(home_dir: Path) -> Path | None:
    """The project folder whose own cache `home_dir` is (`facedata demo`'s), if any."""
    here = Path(home_dir).resolve()
    try:
        project = find_project(here.parent)
    except ManifestError:
        return None
    return project.root if project is not None and project.home == here else None


def in_project(path: Path, root: Path | None) -> str | None:
    """`path` relative to the project folder, for the registries of its cache."""
    path = Path(path)
    return path.relative_to(root).as_posix() if root and path.is_relative_to(root) else None


def from_project(recorded: str, rel: object, root: Path | None) -> str:
    """Where a registry entry of a project's cache points now: inside the folder the
    cache is in, wherever that folder was copied or moved to. Registries hold absolute
    paths; without this, `forget` in a copy of the demo reached the original's corpora
    and models, and a moved demo found none of its own."""
    if root is None or not isinstance(rel, str) or Path(rel).is_absolute():
        return recorded
    if ".." in Path(rel).parts:
        return recorded
    return str(root / rel)


def apply_project(environ: dict[str, str] | os._Environ[str] = os.environ) -> Project | None:
    """Point FACEDATA_HOME / FACEDATA_MANIFESTS at the current folder's project.

    Only where the environment does not already name them: an explicit setting wins.
    """
    project = find_project()
    if project is None:
        return None
    if not environ.get("FACEDATA_HOME"):
        environ["FACEDATA_HOME"] = str(project.home)
    if project.manifests and not environ.get("FACEDATA_MANIFESTS"):
        environ["FACEDATA_MANIFESTS"] = os.pathsep.join(str(m) for m in project.manifests)
    return project


def project_hint(name: str) -> str | None:
    """For a dataset or folder the cache does not know: `name` is a project folder here."""
    folder = Path(name)
    try:
        if not (folder / MARKER).is_file():
            return None
    except OSError:  # a path longer than the system allows: no hint, never a traceback
        return None
    try:
        project = find_project(folder)
    except ManifestError:
        return None
    if project is None:
        return None
    return (
        f"{name} is a project folder with its own cache: run the command from inside it "
        f"(cd {_quote(str(folder))}), or set {_env_line(project)}"
    )


def _env_line(project: Project) -> str:
    """Both settings a command needs to work on `project` from elsewhere: its cache
    alone would not find the datasets declared in its manifests."""
    line = f"FACEDATA_HOME={_quote(str(project.home))}"
    if project.manifests:
        joined = os.pathsep.join(str(m) for m in project.manifests)
        line += f" FACEDATA_MANIFESTS={_quote(joined)}"
    return line


# A failed command in a big folder (a home with thousands of entries) looks at this
# many of them at most: the hint is a courtesy, never a slow path.
SCAN_LIMIT = 512


def dataset_hint(ids: list[str], folder: Path | None = None) -> str | None:
    """For a dataset id the cache does not know: a project folder just below `folder`
    (default: the current one) declares it, as `facedata demo`'s `own-data` is."""
    wanted = {i.strip() for i in ids if i.strip() and "/" not in i and "\\" not in i}
    if not wanted:
        return None
    try:
        entries = list(os.scandir(folder or Path.cwd()))[:SCAN_LIMIT]
    except OSError:
        return None
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if not (Path(entry.path) / MARKER).is_file():
                continue
        except OSError:
            continue
        try:
            project = find_project(Path(entry.path))
        except ManifestError:
            continue
        if project is None:
            continue
        found = sorted(i for i in wanted for m in project.manifests if (m / f"{i}.yaml").is_file())
        if found:
            return (
                f"{', '.join(found)} is declared by the project folder {entry.name}: run the "
                f"command from inside it (cd {_quote(entry.name)}), or set {_env_line(project)}"
            )
    return None


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
