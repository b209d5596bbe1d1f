"""Catalog commands: list, info, licenses, manifest validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from facedata.cli.app import ManifestsOpt, app, console, load_catalog
from facedata.cli.options import JsonFlag, file_option
from facedata.cli.tables import show_table
from facedata.errors import FacedataError, ManifestError
from facedata.files.sanitize import terminal

if TYPE_CHECKING:
    from facedata.manifest.catalog import Catalog


def shown(value: object) -> str:
    """Manifest text for the terminal: no escape sequences, no rich markup."""
    return escape(terminal(value))


ClearancesOpt = Annotated[
    Path | None,
    file_option("--clearances", "Clearance file (YAML) admitting refused sources."),
]


@app.command("list")
def list_(
    commercial: Annotated[
        bool,
        typer.Option("--commercial", help="Show why a commercial build admits or refuses each."),
    ] = False,
    as_json: JsonFlag = False,
    clearances: ClearancesOpt = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Every known dataset: size, labels, license tier, access, commercial verdict, fetched."""
    from facedata.gate.licensing import load_clearances
    from facedata.manifest.listing import dataset_rows

    catalog = load_catalog(manifests)
    rows = dataset_rows(catalog, load_clearances(clearances))
    have = _fetched(catalog)
    for r in rows:
        r["fetched"] = have.get(r["id"])
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="facedata datasets")
    body = []
    short = console.is_terminal  # a pipe gets every name whole
    for r in rows:
        name = terminal(r["name"], newlines=False)
        cells = [
            shown(r["id"]),
            escape(name if len(name) <= 26 or not short else name[:25] + "…"),
            f"{r['images']:,}" if r["images"] else "?",
            shown("+".join(r["labels"])),
            shown(r["tier"]),
            shown(r["access"]),
            "[green]yes[/]" if r["commercial"] else "[red]no[/]",
            f"[green]{shown(r['fetched'])}[/]" if r["fetched"] else "–",
        ]
        body.append(cells)
    columns = ("id", "name", "images", "labels", "license tier", "access", "commercial", "fetched")
    for col in columns:
        table.add_column(col, overflow="fold")
    for cells in body:
        table.add_row(*cells)
    show_table(console, table)
    if not any(r["fetched"] for r in rows):
        console.print(
            "nothing fetched yet: `facedata fetch ID` (or `facedata demo` to try it offline)",
            highlight=False,
        )
    if commercial:
        console.print("[bold]commercial build[/] (fails closed; clear a source with --clearances):")
        for r in rows:
            verdict = "[green]admitted[/]" if r["commercial"] else "[red]refused[/]"
            console.print(f"  {shown(r['id'])}: {verdict}: {shown(r['commercial_reason'])}")


def _fetched(catalog: Catalog) -> dict[str, str]:
    """Dataset id -> the source id its cache holds (no network, no hashing)."""
    from facedata.fetch import fetched

    out = {}
    for m in catalog:
        hit = fetched(m)
        if hit is not None:
            out[m.id] = hit.source.id
    return out


@app.command()
def info(
    dataset: Annotated[str, typer.Argument(help="Dataset id, see `facedata list`.")],
    manifests: ManifestsOpt = None,
) -> None:
    """Sources, license terms, attribution, citation, and how to get access."""
    from facedata.gate.licensing import decide

    m = load_catalog(manifests).get(dataset)
    lic = m.license
    version = f", version {shown(m.version)}" if m.version else ""  # not a stray "1"
    console.print(f"[bold]{shown(m.name)}[/] ([cyan]{m.id}[/]){version}")
    if m.homepage:
        console.print(f"homepage: {shown(m.homepage)}")
    if m.description:
        console.print(shown(m.description.strip()))
    console.print(f"labels: {', '.join(m.tasks)}   images: {m.images or 'unknown'}")
    terms = [
        f"license: {lic.id}   tier: {lic.tier}",
        f"derivatives: {lic.derivatives}   redistribution: {lic.redistribution}",
        f"terms: {lic.terms_url or 'none published'}",
    ]
    if lic.notes:
        terms.append(lic.notes.strip())
    if lic.text:
        terms.append(f'"{lic.text.strip()}"')
    for purpose in ("research", "commercial"):
        d = decide(m, m.sources[0], purpose)
        terms.append(f"{purpose} build: {'admitted' if d.admitted else 'refused'}: {d.reason}")
    console.print(Panel(shown("\n".join(terms)), title="license terms"))
    for i, s in enumerate(m.sources, 1):
        where = s.address
        kind = "official" if s.official else "unofficial mirror"
        body = [f"{s.kind}, {kind}, access: {s.access.level}"]
        if where:
            body.append(where)
        for f in s.files:
            digest = (
                f"sha256 {f.sha256}"
                if f.sha256
                else f"md5 {f.md5}"
                if f.md5
                else "hash pinned on first fetch"
            )
            note = "" if f.verified else " (expected, unverified)"
            in_set = any(f.name in fs.files for fs in s.file_sets)
            need = " [one of the file sets]" if in_set else " [optional]" if f.optional else ""
            body.append(f"  {f.name}  {f.size or '?'} B  {digest}{note}{need}")
        if s.file_sets:
            sets = "; or ".join(" + ".join(fs.files) for fs in s.file_sets)
            body.append(f"  any one complete file set: {sets}")
        if s.access.instructions:
            body.append("how to get access: " + s.access.instructions.strip())
        for extra in (s.access.request_url, s.access.contact):
            if extra:
                body.append(f"  {extra}")
        if s.notes:
            body.append(s.notes.strip())
        console.print(Panel(shown("\n".join(body)), title=f"source {i}: {s.id}"))
    if m.attribution:
        console.print(Panel(shown(m.attribution.strip()), title="required attribution"))
    console.print(Panel(shown(m.citation.strip()), title="citation (BibTeX)"))


@app.command()
def licenses(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the LICENSES.md table.")
    ] = False,
    as_json: JsonFlag = False,
    manifests: ManifestsOpt = None,
) -> None:
    """The license table of every dataset (the content of LICENSES.md)."""
    from facedata.manifest.listing import licenses_markdown

    catalog = load_catalog(manifests)
    if markdown:
        typer.echo(terminal(licenses_markdown(catalog)), nl=False)
        return
    if as_json:
        rows = [
            {
                "id": m.id,
                "license": m.license.id,
                "tier": m.license.tier,
                "derivatives": m.license.derivatives,
                "redistribution": m.license.redistribution,
                "terms": m.license.terms_url,
            }
            for m in catalog
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="dataset licenses")
    for col in ("id", "license", "tier", "derivatives", "redistribution", "terms"):
        table.add_column(col, overflow="fold")
    for m in catalog:
        lic = m.license
        table.add_row(
            *(shown(v) for v in (m.id, lic.id, lic.tier, lic.derivatives, lic.redistribution)),
            shown(lic.terms_url or ""),
        )
    show_table(console, table)


manifest_app = typer.Typer(help="Work with manifest files.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")


@manifest_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders to check.")],
) -> None:
    """Check user manifests against the schema, the taxonomy and each other."""
    from facedata.label.taxonomy import load_taxonomy
    from facedata.manifest.catalog import Catalog
    from facedata.manifest.schema import load_manifest

    taxonomy = load_taxonomy()
    files: list[Path] = []
    for p in paths:
        files += sorted([*p.glob("*.yaml"), *p.glob("*.yml")]) if p.is_dir() else [p]
    files = [f for f in files if f.name != "taxonomy.yaml"]
    if not files:
        raise ManifestError(
            "no manifest files found", hint="pass .yaml files or folders holding them"
        )
    errors: list[str] = []
    loaded = []
    for f in files:
        try:
            loaded.append(load_manifest(f, taxonomy))
        except FacedataError as exc:
            errors.append(str(exc))
    if not errors:
        try:
            mine = {m.path.resolve() for m in loaded if m.path}
            others = [m for m in Catalog.load() if m.path and m.path.resolve() not in mine]
            Catalog([*others, *loaded], taxonomy)
        except FacedataError as exc:
            errors.append(str(exc))
    if errors:
        raise ManifestError("\n".join(errors), hint="fix the fields named above and validate again")
    for m in loaded:
        console.print(f"[green]ok[/] {shown(m.path)}: {m.id} ({len(m.sources)} sources)")
