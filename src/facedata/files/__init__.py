"""File safety every layer uses: atomic writes, confinement, bounded parsing, locks."""
