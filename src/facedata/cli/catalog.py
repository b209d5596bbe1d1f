"""Catalog commands: list, info, licenses, manifest validate."""
