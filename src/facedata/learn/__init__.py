"""The consumer side of a corpus: a PyTorch dataset, a small dual-head trainer and the
predictor that reads faces the way the build aligned them.

Everything here needs the optional extra (`pip install "facedata[torch]"`); the rest
of facedata never imports torch, so this package imports it only in its modules,
never here, and `facedata --help` stays fast and torch-free.
"""

from __future__ import annotations

EXTRA_HINT = 'install the training extra: pip install "facedata[torch]" (CPU: torch==2.13.0)'


def require_torch():  # noqa: ANN201 - returns the torch module
    """torch, or a facedata error saying how to get it (never an ImportError traceback)."""
    try:
        import torch
    except ImportError:
        from facedata.errors import FacedataError

        raise FacedataError("PyTorch is not installed", hint=EXTRA_HINT) from None
    return torch
