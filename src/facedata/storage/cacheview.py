"""A build's inputs from the fetch cache on object storage: the driver's view of a tree.

A build reads a tree's listing from the store instead of the local cache, and lays
out a VIEW of it under `$FACEDATA_HOME/remote/cache/<digest>/` for the readers to
walk: every label file (anything that is not an image by its extension) downloaded
and verified, every image a sparse placeholder of its size (zeros, never read here).
The view is named by the store, the tree and the listing's own sha256, so a second
push makes a new view and an unchanged one is reused as it is.

The readers then run unchanged, and `inputs.remote` turns each image they yield under
a view into a reference to its object, which the build's workers read from the store
wherever they run. The provenance a build records (each pinned file and its sha256)
is the listing's lock record: the same as a build from the local cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from facedata.fetch.core import FetchResult, select_sources
from facedata.fetch.store import link_or_copy
from facedata.manifest.schema import Manifest
from facedata.paths import home
from facedata.read._common import IMAGE_EXTENSIONS
from facedata.read.blob import register_blob_resolver
from facedata.storage.cachetree import (
    HINT,
    MAX_LISTING_BYTES,
    Listing,
    ListingError,
    object_key,
    parse_listing,
    tree_key,
)
from facedata.storage.location import Location
from facedata.storage.objects import ObjectBlob, local_object
from facedata.storage.remote import Store, connect, endpoint, region


@dataclass
class CacheView(FetchResult):
    """A tree of the fetch cache as a build reads it: `root` is the local view."""

    store: str = ""  # the cache's address for workers: URL and endpoint, no credential
    objects: dict[str, tuple[int, str]] = field(default_factory=dict)  # relpath -> size, sha
    prefixes: tuple[str, ...] = ()  # the view's root as readers may name it, with "/"

    def relative(self, path: str | os.PathLike[str]) -> str | None:
        """`path`'s place in the tree when it lies in this view, else None."""
        text = os.fspath(path)
        for prefix in self.prefixes:
            if text.startswith(prefix):
                rel = text[len(prefix) :]
                return rel if rel in self.objects else None
        return None


def worker_address(loc: Location) -> str:
    """`loc` as workers reach it: with the endpoint and region this process resolved
    (from the URL or the environment), so nodes need only their credentials."""
    options = list(loc.options)
    url = endpoint(loc)
    if url and not (loc.option("endpoint") or loc.option("endpoint_url")):
        # an endpoint from the environment may carry user-info: never in an address
        # (S3 signs with the node's own credentials; the user-info is not used)
        options.append(("endpoint", _without_userinfo(url)))
    where = region(loc)
    if where and not loc.option("region"):
        options.append(("region", where))
    return Location(loc.scheme, loc.bucket, loc.key, options=tuple(options)).address


def _without_userinfo(url: str) -> str:
    """`url` without any `user:password@` before its host."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"


# every image a tree may hold, also those no reader picks by default: such a file in a
# view is a placeholder, never downloaded by the driver as if it were a label file
VIEW_IMAGE_EXTENSIONS = IMAGE_EXTENSIONS | {".tiff", ".webp", ".jfif"}


def is_image_name(rel: str) -> bool:
    """Workers read these from the store; the driver never opens them."""
    return os.path.splitext(rel)[1].lower() in VIEW_IMAGE_EXTENSIONS


def view_root(loc: Location, dataset: str, source: str, listing_sha256: str) -> Path:
    key = "\0".join((loc.address, dataset, source, listing_sha256))
    return home() / "remote" / "cache" / hashlib.sha256(key.encode()).hexdigest()[:32]


def make_view(loc: Location, store: Store, listing: Listing, listing_sha256: str) -> Path:
    """Lay out (or reuse) the view of `listing`; label files downloaded and verified.

    Laid out in a private folder and renamed into place: two builds that need the same
    view at once both succeed (the second finds the first's, whole, and uses it)."""
    lock = listing.lock
    target = view_root(loc, lock.dataset, lock.source, listing_sha256)
    if target.is_dir() and _whole(target, listing):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        for rel, (size, sha) in sorted(listing.files.items()):
            dst = tmp / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if is_image_name(rel):
                with open(dst, "xb") as fh:
                    fh.truncate(size)  # sparse: no disk, no download
            else:
                shown = f"{loc.url}:{lock.dataset}/{lock.source}/{rel}"
                link_or_copy(local_object(store, object_key(sha), size, sha, shown), dst)
        try:
            os.rename(tmp, target)
        except OSError:
            if target.is_dir() and _whole(target, listing):
                return target  # another build laid it out meanwhile
            stale = target.with_name(f".{target.name}.{os.getpid()}.old")
            os.rename(target, stale)  # a damaged view: replaced, never used
            os.rename(tmp, target)
            shutil.rmtree(stale, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _whole(root: Path, listing: Listing) -> bool:
    """A view laid out before: every file there with its listed size."""
    try:
        return all((root / rel).stat().st_size == size for rel, (size, _) in listing.files.items())
    except OSError:
        return False


def remote_fetched(manifest: Manifest, source_id: str | None, loc: Location) -> CacheView | None:
    """The first source of `manifest` whose tree is on the cache at `loc`, as a view; None
    when none is. A listing that is there and unsafe is refused, not skipped."""
    store = connect(loc)
    for src in select_sources(manifest, source_id):
        if src.is_own_data:
            continue
        rel = tree_key(manifest.id, src.id)
        size = store.size(rel)
        if size is None:
            continue
        if size > MAX_LISTING_BYTES:
            raise ListingError(
                f"the cache listing {loc.url}/{rel} is refused: it is {size:,} bytes, over "
                f"the {MAX_LISTING_BYTES:,} allowed",
                hint=HINT,
            )
        raw = store.read_bytes(rel, MAX_LISTING_BYTES)
        if raw is None:
            continue
        listing = parse_listing(raw, f"{loc.url}/{rel}", manifest.id, src.id)
        root = make_view(loc, store, listing, hashlib.sha256(raw).hexdigest())
        prefixes = tuple(
            dict.fromkeys(f"{p.rstrip('/')}/" for p in (str(root), os.path.realpath(root)))
        )
        view = CacheView(
            manifest.id,
            src,
            root,
            listing.lock.files,
            cached=True,
            store=worker_address(loc),
            objects={rel: (size, sha) for rel, (size, sha) in listing.files.items()},
            prefixes=prefixes,
        )
        for prefix in prefixes:
            _VIEWS[prefix] = view
        return view
    return None


# the views this process laid out, by root prefix: how a reader that must know an
# image's content (a byte-identical copy under two labels) learns it without reading
_VIEWS: dict[str, CacheView] = {}


def listed_sha256(path: str | os.PathLike[str]) -> str | None:
    """The sha256 the cache's listing gives for `path` when it lies in a view (whose
    images are placeholders, never to be hashed), else None."""
    text = os.fspath(path)
    for prefix, view in _VIEWS.items():
        if text.startswith(prefix):
            rel = view.relative(text)
            return view.objects[rel][1] if rel is not None else None
    return None


def view_blob(path: str) -> ObjectBlob | None:
    """A label file of a view as the workers read it, from the store (read/blob.py):
    the view is this driver's alone."""
    for prefix, view in _VIEWS.items():
        if path.startswith(prefix):
            rel = view.relative(path)
            if rel is None:
                return None
            size, sha = view.objects[rel]
            return ObjectBlob(view.store, object_key(sha), size, sha, rel)
    return None


register_blob_resolver(view_blob)
