"""`python -m facedata.corpus [FOLDER]`: regenerate the corpus format documents
(default docs/), so the published schema is never hand-edited."""

from __future__ import annotations

import sys
from pathlib import Path

from .docs import write_documents

if __name__ == "__main__":
    for path in write_documents(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
