"""TrainingDataPro facial-emotion sample: one folder per person, one image per emotion.

The Hub card shows it "wide" (one row per person, eight image columns); on disk
data/images.zip holds `<set_id>/<emotion>.<ext>` and a small CSV gives per-person
age, gender and country. The loading script is not run (newer `datasets` versions
refuse scripts), so the zip and CSV are read directly. The code is the file stem
(`surprised`, not `surprise`), the subject id the person's folder.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import TrainingDataProOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import is_image, open_csv, rel
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample


def _people(root: Path) -> dict[str, dict[str, str]]:
    """set_id -> {age, gender, country} from the metadata CSV, where there is one."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(root.rglob("*.csv")):
        with open_csv(path) as fh:
            reader = csv.DictReader(fh)
            if "set_id" not in [f.strip() for f in reader.fieldnames or []]:
                continue
            for row in reader:
                # a row longer than the header puts its extra fields in a list under None
                row = {
                    (k or "").strip(): v.strip() if isinstance(v, str) else ""
                    for k, v in row.items()
                }
                out[row["set_id"]] = {k: row[k] for k in ("age", "gender", "country") if row.get(k)}
    return out


@register(TrainingDataProOptions)
def read_trainingdatapro(
    manifest: Manifest, source: Source, root: Path, options: TrainingDataProOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    emotions = set(options.emotions)
    folders = sorted(
        {
            p.parent
            for p in root.rglob("*")
            if p.is_file()
            and is_image(p)
            and p.stem.lower() in emotions
            and "__MACOSX" not in p.parts
        }
    )
    if not folders:
        raise ReaderError(
            f"{ds}: no per-person folders of <emotion>.jpg found under {root}",
            hint="unpack data/images.zip; each person's folder holds anger.jpg, happy.jpg, ...",
        )
    people = _people(root)
    for folder in folders:
        person = folder.name
        meta = people.get(person, {})
        for path in sorted(p for p in folder.iterdir() if p.is_file() and is_image(p)):
            key = rel(path, root)
            yield Sample(
                ds,
                key,
                FileImage(path),
                {"expression": path.stem.lower()},
                subject_id=person,
                extra=dict(meta),
                where=key,
            )
