"""Obtain one file into the blob store: reuse, mirror, download, check, publish.

Shared by the HTTP and Kaggle sources, so both get the same guarantees: a cached
blob with the expected hash is reused without touching the network; a file that
fails a strict check is discarded (never published) and, if it had been resumed from
an earlier run's bytes, fetched once more from scratch; only a checked file is
renamed into the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from facedata import settings
from facedata.errors import FetchError, IntegrityError
from facedata.fetch.integrity import Expected, check, strict_sha
from facedata.fetch.store import blob_path, ingest

if TYPE_CHECKING:  # the HTTP stack loads when something is downloaded, not for builds
    import requests

    from facedata.fetch import http


@dataclass(frozen=True)
class Candidate:
    """A place to try: the URL, and the identity of its content across runs."""

    url: str
    key: str
    mirror: bool = False


@dataclass
class Obtained:
    blob: Path
    sha256: str
    size: int
    origin: str
    downloaded: int  # bytes that crossed the network in this run


def part_path(part_dir: Path, name: str, key: str) -> Path:
    """One `.part` per (file, content identity): trying a mirror never clobbers a resume."""
    tag = hashlib.sha256(key.encode()).hexdigest()[:10]
    return part_dir / f"{Path(name).name}.{tag}.part"


def mirror_candidates(dataset: str, name: str, sha256: str | None) -> list[Candidate]:
    """`FACEDATA_MIRROR` lookups: by content hash first, then by dataset and name."""
    base = settings.mirror()
    if not base:
        return []
    out = []
    if sha256:
        out.append(Candidate(f"{base}/sha256/{sha256}", f"sha256:{sha256}", True))
    out.append(Candidate(f"{base}/{dataset}/{name}", f"{base}/{dataset}/{name}", True))
    return out


def cached(checks: list[Expected]) -> Obtained | None:
    sha = strict_sha(checks)
    if sha and blob_path(sha).is_file():
        path = blob_path(sha)
        return Obtained(path, sha, path.stat().st_size, "cache", 0)
    return None


def obtain(
    name: str,
    candidates: list[Candidate],
    part_dir: Path,
    checks: list[Expected],
    notes: list[str],
    *,
    force: bool = False,
    session: requests.Session | None = None,
    origin: str | None = None,
) -> Obtained:
    """Bring `name` into the blob store from the first candidate that works."""
    from facedata.fetch import http

    if not force and (hit := cached(checks)):
        return hit
    want_md5 = any(e.md5 for e in checks)
    errors: list[str] = []
    for cand in candidates:
        part = part_path(part_dir, name, cand.key)
        if force:
            http.discard(part)
        try:
            got = _download_checked(name, cand, part, checks, notes, session, want_md5)
        except FetchError as exc:
            if not cand.mirror:
                raise
            errors.append(f"{cand.url}: {exc.message}")
            continue
        if cand.mirror:
            notes.append(f"{name}: obtained from the mirror {cand.url}")
        blob = ingest(part, got.sha256)
        http.discard(part)
        return Obtained(blob, got.sha256, got.size, origin or cand.url, got.transferred)
    raise FetchError(
        f"no place to get {name} from: " + "; ".join(errors),
        hint="check FACEDATA_MIRROR and the manifest's url",
    )


def _download_checked(
    name: str,
    cand: Candidate,
    part: Path,
    checks: list[Expected],
    notes: list[str],
    session: requests.Session | None,
    want_md5: bool,
) -> http.Downloaded:
    from facedata.fetch import http

    strict = next((e.size for e in checks if e.strict and e.size is not None), None)
    soft = next((e.size for e in checks if not e.strict and e.size is not None), None)
    for fresh in (False, True):
        try:
            got = http.download(
                cand.url,
                part,
                name=name,
                key=cand.key,
                session=session,
                md5=want_md5,
                max_size=strict,
                soft_size=soft,
            )
        except http.SizeExceeded as exc:
            http.discard(part)
            exp = next((e for e in checks if e.size is not None), None)
            if exp is None:
                raise
            want = f"; expected sha256 {exp.sha256}" if exp.sha256 else ""
            raise IntegrityError(
                f"{name}: size is at least {exc.size:,} bytes, expected {exp.size:,}{want} "
                f"(from {exp.why}); the download was stopped and discarded",
                hint="if the publisher changed the file, check it, then correct the manifest "
                "or remove the pin from the lock file; otherwise the server sends the wrong file",
            ) from None
        try:
            if got.goog_md5 and got.md5 and got.goog_md5 != got.md5:
                raise IntegrityError(
                    f"{name}: md5 is {got.md5} but the server stated {got.goog_md5}; "
                    "the file was discarded",
                    hint="the transfer was corrupted: run the same command again",
                )
            check(name, got.sha256, got.size, got.md5, checks, notes)
        except IntegrityError:
            http.discard(part)
            if got.resumed_from and not fresh:
                notes.append(f"{name}: resumed bytes did not check out; downloading afresh")
                continue
            raise
        return got
    raise AssertionError("unreachable")
