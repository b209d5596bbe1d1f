"""Manifests that try to expand without bound, recurse, or point readers outside.

Every case is a ManifestError naming the file (and line where there is one), and
`facedata list` over a folder holding such a file ends cleanly and quickly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from facedata.errors import ManifestError
from facedata.files.yamlfile import load_yaml
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import load_manifest
from tests.fetch.conftest import MINIMAL
from tests.helpers.cli import run_cli

LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)

HOSTILE_YAML = {
    "billion-laughs": (LAUGHS, "expands to over|aliases"),
    "recursive-alias": ("a: &a [1, *a]\n", "recursive"),
    "recursive-mapping": ("a: &a {b: *a}\n", "recursive"),
    "deep-nesting": ("[" * 5000 + "]" * 5000 + "\n", "nested over"),
    "deep-mapping": (
        "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
        "nested over",
    ),
    "complex-key": ("? [a, b]\n: 1\n", "plain value"),
    "mapping-key": ("{a: 1}: 2\n", "plain value"),
    "huge-int": (f"images: {'9' * 5000}\n", "number 5,000 characters"),
    "huge-float": (f"images: {'9' * 5000}.5\n", "number"),
}


@pytest.mark.parametrize("text, why", HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_hostile_yaml_is_a_manifest_error(tmp_path, text, why):
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError, match=why) as err:
        load_yaml(path)
    assert str(path) in err.value.message


@pytest.mark.parametrize("key", ["billion-laughs", "recursive-alias", "deep-nesting", "huge-int"])
def test_facedata_list_survives_a_hostile_manifest(tmp_path, capsys, key, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "evil.yaml").write_text(HOSTILE_YAML[key][0])
    res = run_cli(capsys, "list", "--manifests", str(folder))
    assert "Traceback" not in res.err
    assert res.code == 1 and "evil.yaml" in res.err, res.err


def test_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("notes: '" + "x" * (5 * 1024 * 1024) + "'\n")
    with pytest.raises(ManifestError, match="over the limit"):
        load_yaml(path)


def test_a_few_anchors_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1}\none: *b\ntwo: *b\n")
    assert load_yaml(path).data == {"base": {"x": 1}, "one": {"x": 1}, "two": {"x": 1}}


def _write(tmp_path: Path, fmt: dict) -> Path:
    doc = {
        "id": "evil",
        **MINIMAL,
        "format": fmt,
        "sources": [
            {
                "id": "m",
                "kind": "manual",
                "official": True,
                "access": {"level": "agreement", "instructions": "ask"},
            }
        ],
    }
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "fmt, field",
    [
        ({"reader": "imagefolder", "root": "../../.."}, "format.root"),
        ({"reader": "imagefolder", "root": "/"}, "format.root"),
        ({"reader": "imagefolder", "root": "/etc"}, "format.root"),
        ({"reader": "imagefolder", "root": "*/../../*"}, "format.root"),
        ({"reader": "imagefolder", "root": "**"}, "format.root"),
        ({"reader": "pixels_csv", "options": {"file": "../../../etc/passwd"}}, "options.file"),
        ({"reader": "pixels_csv", "options": {"file": "/etc/passwd"}}, "options.file"),
        ({"reader": "pixels_csv", "options": {"size": "abc"}}, "options.size"),
        ({"reader": "pixels_csv", "options": {"usage": ["x"]}}, "options.usage"),
        ({"reader": "pixels_csv", "options": {"mode": "CMYK"}}, "options.mode"),
        ({"reader": "imagefolder", "options": {"splits": "x"}}, "options.splits"),
        ({"reader": "imagefolder", "options": {"extensions": 3}}, "options.extensions"),
        ({"reader": "imagefolder", "options": {"splits": {"../x": "train"}}}, "options.splits"),
        ({"reader": "genki", "options": {"pattern": "file.jpg"}}, "options.pattern"),
        ({"reader": "genki", "options": {"pattern": "../{n}.jpg"}}, "options.pattern"),
        ({"reader": "genki", "options": {"pattern": "{n:zz}.jpg"}}, "options.pattern"),
        ({"reader": "ckplus", "options": {"peak_frames": "many"}}, "options.peak_frames"),
        ({"reader": "celeba", "options": {"images": "/home"}}, "options.images"),
        ({"reader": "someday", "options": {"anything": "../../x"}}, "options.anything"),
    ],
)
def test_format_paths_and_option_types_are_checked_at_load(tmp_path, fmt, field):
    path = _write(tmp_path, fmt)
    with pytest.raises(ManifestError, match=field.replace(".", r"\.")) as err:
        load_manifest(path, load_taxonomy())
    assert f"{path}:" in err.value.message  # file:line


def test_valid_options_still_load(tmp_path):
    path = _write(
        tmp_path,
        {
            "reader": "pixels_csv",
            "root": "fer*",
            "options": {"file": "fer2013/fer2013.csv", "size": 48, "usage": {"A": "train"}},
        },
    )
    assert load_manifest(path, load_taxonomy()).format.options["size"] == 48


def _odd_yaml(path: Path, odd: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if odd == "fifo":
        os.mkfifo(path)  # a read would wait for a writer forever
    else:
        os.symlink("/dev/zero", path)  # a read would never end
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("odd", ["fifo", "dev-zero"])
@pytest.mark.parametrize("role", ["manifest folder", "recipe", "clearances"])
def test_a_yaml_path_that_is_a_pipe_or_device_is_refused(tmp_path, capsys, monkeypatch, odd, role):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    if role == "manifest folder":
        _odd_yaml(tmp_path / "manifests" / "evil.yaml", odd)
        args = ["list", "--manifests", str(tmp_path / "manifests")]
    elif role == "recipe":
        args = ["build", str(_odd_yaml(tmp_path / "recipe.yaml", odd))]
    else:
        path = _odd_yaml(tmp_path / "clearances.yaml", odd)
        out = ["--out", str(tmp_path / "c")]
        args = ["build", "--datasets", "genki4k", *out, "--clearances", str(path)]
    res = run_cli(capsys, *args)
    assert "Traceback" not in res.err
    kind = "a FIFO" if odd == "fifo" else "a character device"
    assert res.code == 1 and f"is not a regular file ({kind})" in res.err, res.err
    assert not (tmp_path / "c").exists()
