"""What a build's workers read for a sample whose tree came from the fetch cache.

Readers walk a view (see cacheview) and yield `FileImage` / `ZipMemberImage` paths in
it; the driver's view holds only placeholders for images, so before a sample leaves
the driver its image becomes a reference to the object on the store, which any node
reads and verifies itself. A sample of any other tree passes through untouched.
"""

from __future__ import annotations

from typing import Any

from facedata.read.sample import (
    FileImage,
    ObjectImage,
    ObjectZipMemberImage,
    Sample,
    ZipMemberImage,
)
from facedata.storage.cachetree import object_key


def is_view(fetched: Any) -> bool:
    """Whether a source's tree is a view of the fetch cache: its label files are on the
    driver only, its images on the store."""
    from facedata.storage.cacheview import CacheView

    return isinstance(fetched, CacheView)


def remote(item: Sample, fetched: Any) -> Sample:
    """`item` with its image read from the store when `fetched` is a cache view."""
    if not is_view(fetched):
        return item
    image = item.image
    if isinstance(image, FileImage):
        rel = fetched.relative(image.path)
        if rel is not None:
            size, sha = fetched.objects[rel]
            item.image = ObjectImage(fetched.store, object_key(sha), size, sha, rel)
    elif isinstance(image, ZipMemberImage):
        rel = fetched.relative(image.archive)
        if rel is not None:
            size, sha = fetched.objects[rel]
            item.image = ObjectZipMemberImage(
                fetched.store, object_key(sha), size, sha, rel, image.member
            )
    return item
