"""facedata: license-aware acquisition of smile and facial-expression datasets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("facedata")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
