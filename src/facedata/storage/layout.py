"""How a corpus is laid out on object storage, and how that maps to a local folder.

    PREFIX/corpus.json                      the record: the commit point, written last
    PREFIX/v/VERSION/data/*.parquet         the shards of that version
    PREFIX/v/VERSION/README.md, LICENSES/.. every other file of the corpus folder

A remote record is the local record with each shard path under `v/VERSION/` and a
`storage` entry naming the version and the other files (with sizes and hashes, so a
reader never has to trust a listing of the bucket). Nothing of a version is ever
overwritten: a publish writes a fresh version, then the record that names it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import facedata.files.confine as confine
from facedata.corpus.record import REBUILD, CorpusError
from facedata.corpus.shards import CORPUS_JSON
from facedata.files.digest import is_sha256
from facedata.storage.location import Location

VERSIONS = "v"
_VERSION = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def new_version(now: dt.datetime | None = None) -> str:
    """A version name no other publish picks, sortable by when it was made."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def is_version(name: str) -> bool:
    return bool(_VERSION.fullmatch(name))


def made(version: str) -> dt.datetime | None:
    """When the version was made; None for a name that only looks like one (month 13):
    listings are written by anyone."""
    try:
        return dt.datetime.strptime(version[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def root_of(version: str) -> str:
    return f"{VERSIONS}/{version}"


def remote_record(
    local: dict[str, Any], version: str, files: list[dict[str, Any]], loc: Location
) -> dict[str, Any]:
    """The record as published: shard paths under the version, no local path, no secret."""
    from facedata.storage.location import redact

    root = root_of(version)
    data = dict(local)
    data["shards"] = [{**s, "path": f"{root}/{s['path']}"} for s in local.get("shards") or []]
    data["storage"] = {"url": loc.url, "version": version, "root": root, "files": files}
    if isinstance(data.get("recipe"), dict):
        data["recipe"] = {**data["recipe"], "out": loc.url}
    if isinstance(data.get("command"), list):
        data["command"] = [redact(str(a)) for a in data["command"]]
    return data


def local_record(remote: dict[str, Any], where: str) -> tuple[dict[str, Any], str, list[dict]]:
    """The record of a remote corpus in local form, its version and its other files.

    The record came from the store: every path it names is checked to be a plain
    relative name under its own version before anything is downloaded."""
    storage = remote.get("storage")
    version = storage.get("version") if isinstance(storage, dict) else None
    if not isinstance(version, str) or not is_version(version):
        raise CorpusError(
            f"{where} is not a published facedata corpus (its record names no version)",
            hint="publish a corpus there with `facedata build --out URL`",
        )
    root = root_of(version) + "/"
    shards = []
    for shard in remote.get("shards") or []:
        path = shard.get("path") if isinstance(shard, dict) else None
        if not isinstance(path, str) or not path.startswith(root):
            raise CorpusError(
                f"{where} is a damaged corpus: shard {str(path)[:200]!r} is outside its "
                f"version {root}",
                hint=REBUILD,
            )
        rel = path[len(root) :]
        confine.check_name(rel, f"shard path in {where}")
        if not is_sha256(shard.get("sha256")):  # nothing is downloaded unchecked
            raise CorpusError(
                f"{where} is a damaged corpus: shard {rel[:200]!r} has no sha256", hint=REBUILD
            )
        shards.append({**shard, "path": rel})
    seen = {s["path"] for s in shards}
    if len(seen) != len(shards):
        raise CorpusError(f"{where} is a damaged corpus: a shard is named twice", hint=REBUILD)
    files = []
    for item in storage.get("files") or []:
        rel = item.get("path") if isinstance(item, dict) else None
        size = item.get("bytes") if isinstance(item, dict) else None
        if not isinstance(rel, str) or not isinstance(size, int) or size < 0:
            raise CorpusError(f"{where} is a damaged corpus: a bad file entry", hint=REBUILD)
        confine.check_name(rel, f"file in {where}")
        if rel in seen or rel == CORPUS_JSON:
            raise CorpusError(
                f"{where} is a damaged corpus: {rel[:200]!r} is named twice", hint=REBUILD
            )
        if not is_sha256(item.get("sha256")):
            raise CorpusError(
                f"{where} is a damaged corpus: file {rel[:200]!r} has no sha256", hint=REBUILD
            )
        seen.add(rel)
        files.append(item)
    return {**remote, "shards": shards}, version, files
