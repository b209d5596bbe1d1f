"""Hostile archives built in memory: link chains, duplicates, lies about sizes."""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile


def tar(entries: list[tuple[str, str, bytes | str]], mode: str = "w", **kw: object) -> bytes:
    """entries: (kind, name, data-or-target) with kind file | dir | sym | hard."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, **kw) as tf:  # type: ignore[call-overload]
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
                continue
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, str(data)
            tf.addfile(info)
    return buf.getvalue()


def zip_(entries: list[tuple[str, str, bytes | str]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are the point
        for kind, name, data in entries:
            info = zipfile.ZipInfo(name)
            if kind == "sym":
                info.external_attr = 0o120777 << 16
                zf.writestr(info, str(data))
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data if isinstance(data, bytes) else data.encode())
    return buf.getvalue()


# u1 -> ., u2 -> u1/.., u3 -> u2/..: each looks like it stays inside, the chain does not
# (the extraction folder sits two levels below the watched folder: <tree>/.unpack-*/)
CHAIN = [
    ("sym", "u1", "."),
    ("sym", "u2", "u1/.."),
    ("sym", "u3", "u2/.."),
    ("sym", "u4", "u3/.."),
    ("sym", "u5", "u4/.."),
    ("sym", "u6", "u5/.."),
    ("sym", "u7", "u6/.."),
]


def huge_member_tar(size: int = 1 << 50, gz: bool = False) -> bytes:
    """A tar whose one member declares `size` bytes but holds none."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo("huge.bin")
        info.size = size
        tf.addfile(info)  # header only
    return buf.getvalue()
