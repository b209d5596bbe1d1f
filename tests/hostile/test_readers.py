"""Label files and trees that point readers outside the dataset, or at things that hang.

A hostile row is a counted drop ("unsafe path", "outside dataset"), never a read; a
hostile file is a ReaderError; nothing outside the dataset is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facedata.errors import ReaderError
from facedata.read import read_source
from facedata.read.sample import Drop, FileImage, Sample, parse_pixels
from tests.fixtures.layouts import make_celeba, make_fer2013, make_fer2013_folders
from tests.formats.conftest import manifest_for
from tests.helpers.photos import face_variant

CRLF = "\r\n"


def _read(exp, root: Path | None = None, **options):
    m = manifest_for(exp, **options)
    return list(read_source(m, m.sources[0], root or exp.root))


def _outside_photo(folder: Path) -> Path:
    """A user's own photo beside the dataset: it must never enter a corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "private.jpg"
    face_variant(7, (64, 64), "RGB").save(p)
    return p


@pytest.mark.parametrize(
    "name, reason",
    [
        ("../../../private/private.jpg", "unsafe path"),
        ("/etc/passwd", "unsafe path"),
        ("a" * 300 + ".jpg", "unsafe path"),
    ],
    ids=["dotdot", "absolute", "overlong"],
)
def test_celeba_rows_with_hostile_paths_are_dropped(tmp_path, name, reason):
    exp = make_celeba(tmp_path / "celeba")
    _outside_photo(tmp_path / "private")
    attr = exp.root / "Anno" / "list_attr_celeba.txt"
    values = " ".join(["1"] * 40)
    attr.write_bytes(attr.read_bytes() + f"{name} {values}{CRLF}".encode())
    items = _read(exp)
    drops = [d for d in items if isinstance(d, Drop) and d.reason == reason]
    assert len(drops) == 1
    samples = [s for s in items if isinstance(s, Sample)]
    assert len(samples) == len(exp.samples)
    assert all(str(tmp_path / "private") not in str(s.image.path) for s in samples)


def test_a_symlinked_class_folder_leading_outside_is_not_read(tmp_path):
    exp = make_fer2013_folders(tmp_path / "fer")
    photo = _outside_photo(tmp_path / "private")
    (exp.root / "train" / "happy" / "sneaky").symlink_to(photo.parent)
    (exp.root / "train" / "happy" / "linked.jpg").symlink_to(photo)
    (exp.root / "train" / "contempt").symlink_to(photo.parent)
    items = _read(exp)
    samples = [s for s in items if isinstance(s, Sample)]
    assert all(
        os.path.realpath(s.image.path).startswith(os.path.realpath(exp.root)) for s in samples
    )
    assert any(d.reason == "outside dataset" for d in items if isinstance(d, Drop))


def test_a_link_inside_the_dataset_is_read_by_its_real_path(tmp_path):
    exp = make_fer2013_folders(tmp_path / "fer")
    first = sorted((exp.root / "train" / "happy").iterdir())[0]
    (exp.root / "train" / "happy" / "alias.jpg").symlink_to(first)
    items = _read(exp)
    alias = next(s for s in items if isinstance(s, Sample) and s.key.endswith("alias.jpg"))
    assert isinstance(alias.image, FileImage) and not alias.image.path.is_symlink()
    assert alias.image.read_bytes() == first.read_bytes()


def test_a_fifo_as_label_file_is_an_error_not_a_hang(tmp_path):
    exp = make_fer2013(tmp_path / "fer")
    csv_path = exp.root / "fer2013" / "fer2013.csv"
    csv_path.unlink()
    os.mkfifo(csv_path)
    with pytest.raises(ReaderError, match="FIFO|not found"):
        _read(exp)


def test_a_fifo_as_image_is_refused_when_read(tmp_path):
    fifo = tmp_path / "img.jpg"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="FIFO") as err:
        FileImage(fifo).read_bytes()
    assert "facedata.errors" in type(err.value).__module__


def test_csv_field_over_the_limit_is_a_reader_error(tmp_path):
    exp = make_fer2013(tmp_path / "fer")
    csv_path = exp.root / "fer2013" / "fer2013.csv"
    with open(csv_path, "a") as fh:
        fh.write('0,"' + "1" * (17 * 1024 * 1024) + '",Training\n')
    with pytest.raises(ReaderError, match="CSV"):
        _read(exp)


@pytest.mark.parametrize(
    "text, why",
    [
        (" ".join(["99999999999999999999999"] * 4), "outside 0..255"),
        (" ".join(["-1"] * 4), "outside 0..255"),
        ("1 2 x 4", "not an integer"),
    ],
)
def test_pixel_values_that_overflow_are_a_drop_reason(text, why):
    assert why in parse_pixels(text, 4)


def test_format_root_that_is_an_outward_link_is_refused(tmp_path):
    exp = make_fer2013_folders(tmp_path / "fer")
    (exp.root / "escape").symlink_to(tmp_path)
    m = manifest_for(exp)
    fmt = m.format.model_copy(update={"root": "escape"})
    m = m.model_copy(update={"format": fmt})
    with pytest.raises(ReaderError, match="not found"):
        list(read_source(m, m.sources[0], exp.root))


def test_option_path_leading_out_through_a_link_is_refused(tmp_path):
    exp = make_fer2013(tmp_path / "fer")
    outside = tmp_path / "outside.csv"
    outside.write_text("emotion,pixels,Usage\n")
    (exp.root / "out.csv").symlink_to(outside)
    with pytest.raises(ReaderError):
        _read(exp, file="out.csv")


def test_metadata_row_longer_than_its_header_is_not_a_crash(tmp_path):
    """Found by the fuzzer: csv.DictReader files extra fields as a list under None."""
    from tests.fixtures.layouts import make_trainingdatapro

    exp = make_trainingdatapro(tmp_path / "tdp")
    meta = exp.root / "data" / "facial-emotion-recognition-dataset.csv"
    meta.write_text("set_id,age,gender,country\n1,2,34,Male,Ukraine\n")
    items = _read(exp)
    assert any(isinstance(s, Sample) for s in items)


def test_image_files_are_read_as_regular_files_only(tmp_path):
    """A worker reads every image through read_regular: a link is followed to its file,
    a FIFO or a folder is refused by name (never a hang), and reads stop at the limit."""
    import os

    from facedata.errors import UnsafePathError
    from facedata.files.confine import read_regular

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 1000)
    (tmp_path / "link.jpg").symlink_to(photo)
    assert read_regular(tmp_path / "link.jpg", 10_000) == b"x" * 1000
    assert read_regular(photo, 10) == b"x" * 11  # limit + 1: the caller sees "too big"
    os.mkfifo(tmp_path / "pipe.jpg")
    for bad, word in ((tmp_path / "pipe.jpg", "FIFO"), (tmp_path, "folder")):
        with pytest.raises(UnsafePathError, match=f"not a regular file \\(a {word}\\)"):
            read_regular(bad, 10_000)
