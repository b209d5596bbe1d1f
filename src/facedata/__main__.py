"""`python -m facedata` runs the CLI (handy where the console script is not on PATH)."""

from facedata.cli import main

main()
