"""YOLO detection exports (Ultralytics layout: data.yaml names, <split>/images/ beside
<split>/labels/, ultralytics docs/en/datasets/detect/index.md): the class of each
image's boxes, named by the export's own data.yaml."""

from __future__ import annotations

import pytest

from facedata.errors import ReaderError
from tests.fixtures import layouts

from .conftest import manifest_for, read


def test_every_image_gets_the_class_its_data_yaml_names(tmp_path):
    exp = layouts.make_affectnet_yolo(tmp_path / "y")
    got = read(manifest_for(exp), exp.root)
    assert {k: s.codes for k, s in got.samples.items()} == {
        k: s.codes for k, s in exp.samples.items()
    }
    assert {k: s.split for k, s in got.samples.items()} == {
        k: s.split for k, s in exp.samples.items()
    }
    assert got.drop_counts == exp.reader_drops


def test_an_export_with_another_class_order_still_reads_right(tmp_path):
    """The order is read from data.yaml (here reversed, and as a {index: name} map)."""
    exp = layouts.make_affectnet_yolo(tmp_path / "y")
    names = list(reversed(layouts._YOLO_NAMES))
    for label in exp.root.rglob("labels/*.txt"):
        lines = label.read_text().splitlines()
        flipped = [
            f"{names.index(layouts._YOLO_NAMES[int(x.split()[0])])} 0.5 0.5 1 1" for x in lines
        ]
        label.write_text("".join(f"{line}\n" for line in flipped))
    listed = "".join(f"  {i}: {n}\n" for i, n in enumerate(names))
    (exp.root / "data.yaml").write_text(f"nc: 8\nnames:\n{listed}")
    got = read(manifest_for(exp), exp.root)
    assert {k: s.codes for k, s in got.samples.items()} == {
        k: s.codes for k, s in exp.samples.items()
    }


def test_an_export_without_class_names_is_refused(tmp_path):
    exp = layouts.make_affectnet_yolo(tmp_path / "y")
    (exp.root / "data.yaml").write_text("nc: 8\ntrain: train/images\n")
    with pytest.raises(ReaderError, match="no class `names`") as err:
        read(manifest_for(exp), exp.root)
    assert "cannot be labelled" in (err.value.hint or "")
