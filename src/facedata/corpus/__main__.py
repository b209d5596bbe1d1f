"""`python -m facedata.corpus [FOLDER]`: regenerate the corpus format documents
(default docs/), so the published schema is never hand-edited."""

from __future__ import annotations

import sys
from pathlib import Path

from facedata.corpus.docs import write_documents

USAGE = (
    "usage: python -m facedata.corpus [FOLDER]  (writes the corpus format documents; default docs/)"
)

if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(USAGE, file=sys.stderr if args and args[0] not in ("-h", "--help") else sys.stdout)
        sys.exit(0 if args and args[0] in ("-h", "--help") else 2)
    for path in write_documents(Path(args[0] if args else "docs")):
        print(path)
