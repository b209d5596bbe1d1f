"""facedata: license-aware acquisition of smile and facial-expression datasets."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata costs ~10 ms that `facedata --help`
    # should not pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("facedata")
        except PackageNotFoundError:  # running from a source tree without an install
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'facedata' has no attribute {name!r}")
