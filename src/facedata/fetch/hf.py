"""Hugging Face Hub datasets through `huggingface_hub`, pinned to a commit.

The first fetch resolves the manifest's revision (a branch, usually `main`) to a
commit and pins it; later fetches ask for that commit, so a push to the repo cannot
change a corpus silently. The Hub states a sha256 for LFS files, which is checked
too. The endpoint is read from HF_ENDPOINT at call time (not import time) and passed
per call, so tests and private hubs need no process-wide state.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from facedata.errors import AccessRequiredError, FetchError
from facedata.fetch.bounded import bounded_hub_client, limits, limits_for
from facedata.fetch.http import SizeExceeded, size_cap
from facedata.fetch.integrity import Expected, check, expected_for
from facedata.fetch.job import Fetched, FetchJob
from facedata.fetch.obtain import cached
from facedata.fetch.store import LockEntry, SourceLock, file_sha256, ingest, now, partial_dir
from facedata.fetch.tree import Placement
from facedata.fetch.unpack import is_archive_name
from facedata.files.confine import name_problem
from facedata.manifest.schema import Source

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # plain HTTP: resumable, testable

DEFAULT_ENDPOINT = "https://huggingface.co"
SKIP = {".gitattributes"}


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def _errors() -> tuple[type[BaseException], ...]:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    return (HfHubHTTPError, httpx2.HTTPError, OSError)


def _translate(exc: BaseException, src: Source, ep: str, revision: str) -> FetchError:
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"{ep}/datasets/{src.repo_id}"
    if isinstance(exc, GatedRepoError):
        return AccessRequiredError(
            f"{src.repo_id} is a gated dataset on the Hugging Face Hub",
            hint=f"sign in at {page}, accept its access conditions, then give facedata a token "
            "of that account: set HF_TOKEN, or run `hf auth login` (stores it in "
            "~/.cache/huggingface/token)",
        )
    if isinstance(exc, RepositoryNotFoundError):
        return FetchError(
            f"the Hub has no dataset {src.repo_id} visible to you",
            hint=f"check the repo_id in the manifest ({page}); if it is private, set HF_TOKEN to "
            "a token with access",
        )
    if isinstance(exc, RevisionNotFoundError):
        return FetchError(
            f"{src.repo_id} has no revision {revision!r}",
            hint="fix `revision` in the manifest (a branch, tag or commit)",
        )
    return FetchError(f"Hugging Face Hub error for {src.repo_id}: {exc}", hint="try again later")


MAX_LISTING_BYTES = 64 * 1024 * 1024  # the Hub's JSON file list of one repo, decoded
_COMMIT = re.compile(r"[0-9a-f]{40}")


def is_commit_id(value: object) -> bool:
    """A git commit id: 40 lowercase hex digits, nothing else (it becomes part of URLs,
    cache paths and the lock file, so `../../..` must never pass as one)."""
    return isinstance(value, str) and _COMMIT.fullmatch(value) is not None


def _malformed(src: Source, ep: str, problem: str) -> FetchError:
    return FetchError(
        f"the Hub's listing of {src.repo_id} ({ep}) {problem}",
        hint="the endpoint did not answer as the Hugging Face Hub does; check HF_ENDPOINT "
        "and try again later. Nothing was downloaded",
    )


def _checked_listing(info: Any, src: Source, ep: str) -> tuple[str, dict[str, Any]]:
    """The commit and the files by name of a Hub listing, each checked for what it is
    before anything is pinned or downloaded: the listing is a stranger's JSON."""
    commit = getattr(info, "sha", None)
    if not is_commit_id(commit):
        raise _malformed(
            src, ep, f"names commit {str(commit)[:60]!r}, not a commit id (40 hex digits)"
        )
    listed = getattr(info, "siblings", None)
    if listed is None:
        listed = []
    if not isinstance(listed, list):
        raise _malformed(src, ep, f"holds a file list that is a {type(listed).__name__}")
    siblings: dict[str, Any] = {}
    for sib in listed:
        name = getattr(sib, "rfilename", None)
        if not isinstance(name, str):
            raise _malformed(src, ep, f"lists a file whose name is {type(name).__name__}")
        if name in siblings:
            raise _malformed(src, ep, f"lists {name[:80]!r} twice")
        size = getattr(sib, "size", None)
        if size is not None and (not isinstance(size, int) or size < 0):
            raise _malformed(src, ep, f"gives {name[:80]!r} the size {str(size)[:40]!r}")
        siblings[name] = sib
    folders = {"/".join(n.split("/")[:i]) for n in siblings for i in range(1, n.count("/") + 1)}
    if clash := sorted(folders & set(siblings)):
        raise _malformed(src, ep, f"lists {clash[0][:80]!r} both as a file and as a folder")
    return commit, siblings


@bounded_hub_client()  # every Hub call below runs on facedata's bounded client
def fetch_hf(job: FetchJob) -> Fetched:
    """Download the listed repo files (all of them when none are listed) at one commit."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    manifest, src, pinned, notes, force = job
    assert src.repo_id is not None
    ep = endpoint()
    if pinned is not None and pinned.version and not is_commit_id(pinned.version):
        raise FetchError(
            f"the lock file pins {src.repo_id} to {str(pinned.version)[:60]!r}, "
            "which is not a commit id (40 hex digits)",
            hint=f"the lock file was edited or damaged; run `facedata fetch {manifest.id} "
            "--force` to pin the current commit again",
        )
    use_pin = pinned is not None and pinned.version and src.revision in ("main", pinned.version)
    revision = pinned.version if use_pin and pinned else src.revision
    staging = partial_dir(manifest.id, src.id) / "hf"
    try:
        with limits(limits_for(f"the file list of {src.repo_id}", MAX_LISTING_BYTES, ep)):
            info = HfApi(endpoint=ep).dataset_info(
                src.repo_id, revision=revision, files_metadata=True
            )
    except _errors() as exc:
        raise _translate(exc, src, ep, revision) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # parsed, wrong shape
        raise _malformed(src, ep, f"cannot be read ({type(exc).__name__}: {exc})") from None
    commit, siblings = _checked_listing(info, src, ep)
    specs = {f.name: f for f in src.files}
    names = list(specs) or sorted(n for n in siblings if n not in SKIP)
    placements: list[Placement] = []
    entries: list[LockEntry] = []
    for name in names:
        if problem := name_problem(name):  # names listed by the Hub are a stranger's text
            raise FetchError(
                f"{src.repo_id}@{commit} lists a file named {name[:80]!r}: {problem}",
                hint="the repository holds a name that would leave the cache; it was not "
                "downloaded. Pin the files to fetch in the manifest's `files`",
            )
        spec = specs.get(name)
        sib = siblings.get(name)
        if sib is None:
            if spec is not None and spec.optional:
                notes.append(f"{name}: optional, not in {src.repo_id}@{commit}; skipped")
                continue
            raise FetchError(
                f"{src.repo_id}@{commit} has no file {name}",
                hint="the repo layout changed: fix the file list in the manifest",
            )
        pin = pinned.entry(name) if pinned and pinned.version == commit else None
        checks = expected_for(spec, pin)
        lfs = getattr(sib, "lfs", None)
        if lfs is not None and getattr(lfs, "sha256", None):
            checks.insert(0, Expected(lfs.sha256, lfs.size, None, True, "the Hub's LFS metadata"))
        hit = None if force else cached(checks)
        if hit is not None:
            blob, sha, size = hit.blob, hit.sha256, hit.size
        else:
            # no body may be larger than the manifest, the pin or the Hub says
            strict = [e.size for e in checks if e.strict and e.size is not None]
            soft = [e.size for e in checks if not e.strict and e.size is not None]
            listed = getattr(sib, "size", None)
            cap = size_cap(min(strict, default=None), max(soft, default=None), listed)
            try:
                with limits(limits_for(f"{src.repo_id}/{name}", cap, ep)):
                    path = hf_hub_download(
                        src.repo_id,
                        name,
                        repo_type="dataset",
                        revision=commit,
                        endpoint=ep,
                        local_dir=staging,
                        force_download=force,
                    )
            except EntryNotFoundError:
                raise FetchError(f"{src.repo_id}@{commit} has no file {name}") from None
            except SizeExceeded:
                # what arrived is not the listed file: a resume would only add to it
                shutil.rmtree(staging, ignore_errors=True)
                raise
            except _errors() as exc:
                raise _translate(exc, src, ep, revision) from None
            sha, size = file_sha256(Path(path))
            try:
                check(name, sha, size, None, checks, notes)
            except FetchError:
                Path(path).unlink(missing_ok=True)
                raise
            blob = ingest(Path(path), sha)
        origin = f"hf:{src.repo_id}@{commit}/{name}"
        pinned_at = pin.pinned_at if pin and pin.sha256 == sha else now()
        entries.append(LockEntry(name, origin, size, sha, src.official, pinned_at))
        unpack = spec.unpack if spec and spec.unpack is not None else is_archive_name(name)
        placements.append(Placement(name, blob, unpack))
    shutil.rmtree(staging, ignore_errors=True)
    record = SourceLock(
        manifest.id,
        src.id,
        src.kind,
        src.official,
        f"hf:{src.repo_id}",
        commit,
        now(),
        entries,
    )
    return placements, record
