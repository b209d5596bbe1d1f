"""Detectors that cross to worker processes as their recipe, never as their runtime.

A loaded TFLite interpreter or ONNX Runtime session does not pickle, and a lock
must not be shared between processes: a detector sent to a worker drops both, and
the worker loads its own runtime on first use.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar


class PicklesAsRecipe:
    """Mixin: pickling leaves out the runtime held in the attribute named `_RUNTIME`
    and gives the copy a fresh lock (`_lock`) for loading it again."""

    _RUNTIME: ClassVar[str]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state[self._RUNTIME] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
