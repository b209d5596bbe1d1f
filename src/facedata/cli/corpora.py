"""`facedata corpora`: the registry of built corpora, and finding moved ones by id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from facedata.cli.app import app, console
from facedata.cli.options import JsonInsteadFlag
from facedata.errors import FacedataError

if TYPE_CHECKING:
    from facedata.corpus.registry import Registered

corpora_app = typer.Typer(
    help="Corpora built here: list them, find moved ones by id.", no_args_is_help=True
)
app.add_typer(corpora_app, name="corpora")


@corpora_app.command("list")
def list_corpora(
    as_json: JsonInsteadFlag = False,
) -> None:
    """Every registered corpus with its id, and whether it is still where it was built."""
    from rich.table import Table

    from facedata.cli.tables import show_table
    from facedata.corpus.registry import read_registry

    entries = read_registry()
    if as_json:
        rows = [{**r.to_dict(), "state": _state(r)} for r in entries]
        print(json.dumps(rows, indent=2))
        return
    if not entries:
        console.print("no corpus is registered under this FACEDATA_HOME")
        return
    table = Table("id", "path", "purpose", "datasets", "created", "state")
    for r in entries:
        state = {"missing": "[yellow]missing (moved or deleted)[/]"}.get(_state(r), _state(r))
        if r.pending:
            state = f"[yellow]{escape(state)}[/]"
        table.add_row(
            escape(str(r.id or "-")),
            escape(r.where),
            escape(r.purpose),
            escape(",".join(r.datasets)),
            escape(r.created),
            state,
        )
    show_table(console, table)


def _state(r: Registered) -> str:
    """ok / missing for a folder; remote (and erasures still pending) for a URL."""
    if r.url is not None:
        return f"remote, {len(r.pending)} erasure(s) pending" if r.pending else "remote"
    return "ok" if r.exists else "missing"


@corpora_app.command("find")
def find(
    folder: Annotated[Path, typer.Argument(help="Folder to search (links are not followed).")],
    corpus_id: Annotated[
        str | None, typer.Option("--id", help="Only the corpus with this id.")
    ] = None,
) -> None:
    """Find corpora under FOLDER by id; a registered corpus found moved is re-registered
    there, so `forget` reaches it again."""
    from facedata.corpus.registry import find_corpora, relocate

    if not folder.is_dir():
        raise FacedataError(f"{folder} is not a folder", hint="pass the folder to search")
    found = find_corpora(folder, corpus_id)
    for cid, path in found:
        console.print(f"{escape(str(cid or '-'))}  {escape(str(path))}")
    for old, new in relocate(found):
        console.print(
            f"re-registered {escape(str(old.id))}: {escape(str(old.path))} -> {escape(str(new))}"
        )
    if not found:
        console.print(
            f"no corpus{' with that id' if corpus_id else ''} under {escape(str(folder))}"
        )


@corpora_app.command("drop")
def drop(
    corpus_id: Annotated[
        str, typer.Argument(help="Id (or registered path) of a corpus deleted on purpose.")
    ],
) -> None:
    """Forget the registry entry of a corpus that was deleted (only while it is missing)."""
    from facedata.corpus.registry import drop as drop_entry
    from facedata.storage import refuse_keyed

    refuse_keyed(corpus_id)  # never echoed: a URL with keys in it is refused
    gone = drop_entry(corpus_id)
    if not gone:
        raise FacedataError(
            f"no missing registered corpus has id {corpus_id!r}",
            hint="`facedata corpora list` shows ids; a corpus still in place is not dropped",
        )
    for r in gone:
        console.print(f"dropped {escape(str(r.id))} ({escape(r.where)}) from the registry")
