"""Write a manifest for a dataset facedata does not know, from what its files say.

`facedata manifest new --hf REPO` reads a Hugging Face dataset (a snapshot folder
with `--from`, or the card and the smallest Parquet shard from the Hub): its columns,
the ClassLabel names in the Parquet schema and the card's dataset_info, its row
count and license line. `--folder DIR` reads a class-folder tree (`[split/]class/img`).
The class names are matched to the taxonomy by a short list of spellings; a name
with no match is written under `drop`, so nothing is labelled by a guess. The license
tier is always written as `unknown` (a commercial build refuses it) until a person
reads the terms: a card's license line is a claim, not a clearance.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text

# Spellings sources use -> the taxonomy's expression names.
SYNONYMS = {
    "neutral": "neutral",
    "neutrality": "neutral",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "disgust": "disgust",
    "disgusted": "disgust",
    "anger": "anger",
    "angry": "anger",
    "contempt": "contempt",
}
SMILE_WORDS = {
    "smile": 1,
    "smiling": 1,
    "smiles": 1,
    "positive": 1,
    "non_smile": 0,
    "nonsmile": 0,
    "non-smile": 0,
    "not_smiling": 0,
    "no_smile": 0,
    "negative": 0,
}
_ID = re.compile(r"[^a-z0-9._-]+")


def _slug(text: str) -> str:
    slug = _ID.sub("-", text.lower()).strip("-._")
    return slug or "dataset"


def label_block(names: list[str]) -> tuple[str, dict[str, Any]]:
    """(head, labels.<head> block) for class names, matched by spelling, never guessed."""
    keys = [n.strip().lower() for n in names]
    if keys and all(k in SMILE_WORDS for k in keys):
        return "smile", {"codes": {n: SMILE_WORDS[k] for n, k in zip(names, keys, strict=True)}}
    codes = {n: SYNONYMS[k] for n, k in zip(names, keys, strict=True) if k in SYNONYMS}
    drop = {n: "no taxonomy match: map it by hand" for n in names if n not in codes}
    block: dict[str, Any] = {"codes": codes}
    if drop:
        block["drop"] = drop
    return "expression", block


def _card(root: Path) -> dict[str, Any]:
    card = root / "README.md"
    if not card.is_file():
        return {}
    text = card.read_bytes()[: 1 << 20].decode("utf-8", "replace")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    try:
        meta = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def describe_hf(root: Path, config: str | None = None) -> dict[str, Any]:
    """What a Hugging Face snapshot folder says: columns, class names, rows, license."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from facedata.read.hfparquet import card_names, parquet_files, schema_names, split_of

    files = parquet_files(root, config)
    if not files:
        raise FacedataError(
            f"no .parquet file under {root}",
            hint="pass the snapshot folder of a Parquet dataset (data/*.parquet), e.g. from "
            "`hf download REPO --repo-type dataset --local-dir DIR`",
        )
    try:
        schema = pq.read_schema(files[0])
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    except (OSError, pa.ArrowException) as exc:
        raise FacedataError(
            f"{files[0]} is not a readable Parquet file ({exc})",
            hint="the snapshot is incomplete: download it again",
        ) from None
    names = {**card_names(root, config), **schema_names(schema)}
    image = next(
        (
            f.name
            for f in schema
            if pa.types.is_struct(f.type) and {"bytes", "path"} <= {c.name for c in f.type}
        ),
        None,
    )
    bools = [f.name for f in schema if pa.types.is_boolean(f.type)]
    side = None
    if image is not None:
        first = pq.ParquetFile(files[0]).read_row_group(0, columns=[image]).slice(0, 1)
        cell = first.column(0).to_pylist()[0] if first.num_rows else None
        if isinstance(cell, dict) and cell.get("bytes"):
            side = _side(cell["bytes"])
    return {
        "side": side,
        "columns": [f.name for f in schema],
        "image": image,
        "names": names,
        "bools": bools,
        "rows": rows,
        "splits": sorted({s for f in files if (s := split_of(f, root))}),
        "card": _card(root),
    }


SMALL_SIDE = 96  # face crops this small are padded and upscaled before detection


def _side(data: bytes | Path) -> int | None:
    """The longer side of an encoded image, or None where it cannot be read."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as img:
            return max(img.size)
    except Exception:  # any undecodable sample: no size hint, detection as usual
        return None


def _faces(side: int | None) -> dict[str, Any]:
    if side is not None and side <= SMALL_SIDE:
        return {"align": "detect", "precropped": True}
    return {"align": "detect"}


def hf_manifest(repo: str, root: Path, dataset_id: str | None = None) -> dict[str, Any]:
    """A manifest for the Hub dataset `repo` whose snapshot is in `root`."""
    info = describe_hf(root)
    if info["image"] is None:
        raise FacedataError(
            f"{repo}: no image column (a struct of bytes and path) in {', '.join(info['columns'])}",
            hint="facedata reads image datasets; write format.options.image by hand if the "
            "images are stored another way",
        )
    options: dict[str, Any] = {"image": info["image"]}
    labels: dict[str, Any] = {}
    smile_col = next((b for b in info["bools"] if b.lower() in ("smiling", "smile")), None)
    if info["names"]:
        column, names = next(iter(info["names"].items()))
        head, block = label_block(names)
        options["labels"] = {head: column}
        options["names"] = {column: names}
        labels[head] = block
    elif smile_col:
        options["labels"] = {"smile": smile_col}
        labels["smile"] = {"codes": {"True": 1, "False": 0}}
    else:
        raise FacedataError(
            f"{repo}: no ClassLabel column and no Smiling column among "
            f"{', '.join(info['columns'])}",
            hint="write format.options.labels and labels by hand (see docs/manifests.md)",
        )
    card = info["card"]
    lic = card.get("license")
    lic_text = ", ".join(lic) if isinstance(lic, list) else str(lic) if lic else "none stated"
    did = dataset_id or _slug(repo.split("/")[-1])
    return {
        "id": did,
        "name": f"{repo} (Hugging Face)",
        "homepage": f"https://huggingface.co/datasets/{repo}",
        "description": f"Written by `facedata manifest new --hf {repo}` from its files: "
        f"{info['rows']} rows, columns {', '.join(info['columns'])}. Check every field.",
        "tasks": sorted(labels),
        "images": info["rows"],
        "license": {
            "id": "LicenseRef-" + _slug(repo).replace(".", "-"),
            "tier": "unknown",
            "derivatives": "unknown",
            "redistribution": "unknown",
            "terms_url": f"https://huggingface.co/datasets/{repo}",
            "notes": f"The card's license line says: {lic_text}. That is the uploader's "
            "claim: read the terms (and the original dataset's, for a re-upload) and set "
            "the tier; until then a commercial build refuses it.",
        },
        "citation": f"@misc{{{_slug(repo).replace('-', '_')}, title = {{{repo}}}, "
        f"howpublished = {{\\url{{https://huggingface.co/datasets/{repo}}}}}}}",
        "sources": [
            {
                "id": "hf",
                "kind": "huggingface",
                "official": False,
                "repo_id": repo,
                "notes": "A Hub upload; mark it official only if its authors made it.",
            }
        ],
        "format": {"reader": "hfparquet", "root": ".", "options": options},
        "labels": labels,
        "faces": _faces(info["side"]),
    }


def folder_manifest(folder: Path, dataset_id: str | None = None) -> dict[str, Any]:
    """A manifest for a class-folder tree: `[split/]class/image`."""
    from facedata.read._common import IMAGE_EXTENSIONS, normalise_split

    def dirs(p: Path) -> list[Path]:
        return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))

    tops = dirs(folder)
    if not tops:
        raise FacedataError(f"{folder} has no class folders", hint="pass the folder of classes")
    split_dirs = {d.name: normalise_split(d.name) for d in tops}
    options: dict[str, Any] = {}
    if all(split_dirs.values()):
        options["splits"] = {name: split for name, split in split_dirs.items()}
        classes = sorted({c.name for d in tops for c in dirs(d)})
    else:
        classes = [d.name for d in tops]
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    images = len(found)
    side = _side(found[0]) if found else None
    head, block = label_block(classes)
    options["head"] = head
    did = dataset_id or _slug(folder.name)
    return {
        "id": did,
        "name": f"{folder.name} (class folders)",
        "description": f"Written by `facedata manifest new --folder` from {folder}: "
        f"{images} images in classes {', '.join(classes)}. Check every field.",
        "tasks": [head],
        "images": images,
        "license": {
            "id": "LicenseRef-" + did,
            "tier": "unknown",
            "derivatives": "unknown",
            "redistribution": "unknown",
            "notes": "Unknown until a person reads the dataset's terms: a commercial build "
            "refuses it.",
        },
        "citation": f"@misc{{{did.replace('-', '_')}, title = {{{folder.name}}}}}",
        "sources": [
            {
                "id": "folder",
                "kind": "manual",
                "official": False,
                "access": {
                    "level": "open",
                    "instructions": f"Register the folder: `facedata fetch {did} --from {folder}`.",
                },
            }
        ],
        "format": {"reader": "imagefolder", "root": ".", "options": options},
        "labels": {head: block},
        "faces": _faces(side),
    }


def write_manifest(data: dict[str, Any], out: Path, force: bool, header: str) -> Path:
    """Validate the manifest, then write it (temp file, then rename)."""
    from facedata.manifest.schema import Manifest

    if out.is_dir():
        raise FacedataError(
            f"--out {out} is a folder", hint=f"name the manifest file, e.g. {out / data['id']}.yaml"
        )
    if out.exists() and not force:
        raise FacedataError(f"{out} already exists", hint="pass --force to overwrite it")
    Manifest.model_validate(data)  # a writer bug must not leave an invalid file behind
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise FacedataError(
            f"cannot write {out}: {exc.strerror or exc}", hint="choose another --out"
        ) from None
    return out


def fetch_hf_sample(repo: str, into: Path) -> Path:
    """The card and the smallest Parquet shard of a Hub dataset, into `into`."""
    from huggingface_hub import HfApi, hf_hub_download

    from facedata.fetch.hf import endpoint

    ep = endpoint()
    try:
        info = HfApi(endpoint=ep).dataset_info(repo, revision="main", files_metadata=True)
    except Exception as exc:  # the Hub's errors are many; all mean "could not read it"
        raise FacedataError(
            f"cannot read {repo} on {ep}: {exc}",
            hint="check the name and your network, or download a snapshot and pass it with --from",
        ) from None
    shards = sorted(
        (s for s in info.siblings or [] if s.rfilename.endswith(".parquet")),
        key=lambda s: (s.size or 0, s.rfilename),
    )
    if not shards:
        raise FacedataError(
            f"{repo} has no .parquet file", hint="facedata reads Hub datasets stored as Parquet"
        )
    wanted = [shards[0].rfilename]
    if any(s.rfilename == "README.md" for s in info.siblings or []):
        wanted.append("README.md")
    for name in wanted:
        hf_hub_download(
            repo, name, repo_type="dataset", revision=info.sha, endpoint=ep, local_dir=into
        )
    return into
