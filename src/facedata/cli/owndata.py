"""`manifest new` (own recordings, a Hub dataset, class folders) and `forget`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facedata import storage
from facedata.cli.app import ManifestsOpt, app, console
from facedata.cli.catalog import manifest_app
from facedata.cli.options import folder_option, force_flag


@manifest_app.command("new")
def new(
    local: Annotated[Path | None, folder_option("--local", "Folder of your recordings.")] = None,
    hf: Annotated[
        str | None,
        typer.Option("--hf", help="A Hugging Face dataset (owner/name) stored as Parquet."),
    ] = None,
    folder: Annotated[
        Path | None, folder_option("--folder", "A class-folder tree ([split/]class/image).")
    ] = None,
    from_path: Annotated[
        Path | None, folder_option("--from", "With --hf: its snapshot folder (offline).")
    ] = None,
    dataset_id: Annotated[
        str | None, typer.Option("--id", help="Dataset id for the manifest.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Human-readable name.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the manifest.")] = None,
    force: Annotated[bool, force_flag("Overwrite an existing file.")] = False,
) -> None:
    """Write a manifest: for your own recordings (--local), a Hugging Face Parquet
    dataset (--hf, offline with --from SNAPSHOT) or a class-folder tree (--folder)."""
    from facedata.errors import FacedataError

    given = [x for x in (local, hf, folder) if x is not None]
    if len(given) != 1:
        raise FacedataError(
            "say what to describe: one of --local DIR, --hf REPO or --folder DIR",
            hint="e.g. `facedata manifest new --hf owner/name --from SNAPSHOT_DIR`",
        )
    if local is not None:
        from facedata.consent.owndata import new_local_manifest

        path = new_local_manifest(local, dataset_id or "own-data", name, out, force)
        console.print(f"wrote {path}; edit it, then `facedata manifest validate {path}`")
        return
    import facedata.manifest.new as newmanifest

    if hf is not None:
        if from_path is not None:
            data = newmanifest.hf_manifest(hf, from_path, dataset_id)
        else:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="facedata-hf-") as tmp:
                data = newmanifest.hf_manifest(
                    hf, newmanifest.fetch_hf_sample(hf, Path(tmp)), dataset_id
                )
        what = f"the Hugging Face dataset {hf}"
    else:
        assert folder is not None
        data = newmanifest.folder_manifest(folder, dataset_id)
        what = f"the class folders in {folder}"
    if name:
        data["name"] = name
    path = Path(out) if out else Path(f"{data['id']}.yaml")
    header = (
        f"# Written from {what}. Check every field (license tier, label map, faces),\n"
        f"# then run: facedata manifest validate {path}\n"
    )
    newmanifest.write_manifest(data, path, force, header)
    dropped = [n for block in data["labels"].values() for n in block.get("drop", {})]
    console.print(f"wrote {escape(str(path))}; check it, then `facedata manifest validate {path}`")
    if dropped:
        console.print(
            f"[yellow]note:[/] no taxonomy name for {escape(', '.join(dropped))}: listed under "
            "drop; map them by hand if they are expressions"
        )


@app.command()
def forget(
    subject: Annotated[str, typer.Option("--subject", help="Pseudonymous subject id, e.g. P017.")],
    corpora: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Corpus folders or URLs to erase from (default: every registered corpus)."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Only rows of this dataset (and of copies of its images under other ids).",
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who handles the request (logged).")
    ] = None,
    cache: Annotated[
        str | None,
        typer.Option(
            "--cache",
            metavar="URL",
            help="Also write the withdrawal to this fetch cache (s3://BUCKET/PREFIX), for "
            "builds from it on other homes; FACEDATA_CACHE_URL works too.",
        ),
    ] = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Remove a withdrawn participant's rows from corpora, atomically, and log it.

    Later builds read the log and leave the subject out until the consent register
    re-grants with a later signature.
    """
    from facedata.consent.forget import forget as run_forget
    from facedata.errors import FacedataError

    record = run_forget(
        subject,
        list(corpora or []),
        dataset=dataset,
        by=by,
        manifests=manifests or [],
        cache=cache,
    )
    if record.get("copies"):
        console.print(
            f"--dataset {escape(str(dataset))} also covers "
            f"{escape(', '.join(record['copies']))}: the same images under other ids"
        )
    for path, n in record["corpora"].items():
        console.print(f"{escape(path)}: removed {n} row(s) of subject {escape(subject)}")
    if record.get("unknown_here"):
        console.print(
            f"subject {escape(subject)} is in no corpus or register of this home: the "
            "withdrawal is recorded (ledger and fetch cache); future builds of "
            f"{escape(str(dataset))}, here or from the cache on any home, leave "
            f"{escape(subject)} out"
        )
    elif not record["corpora"] and not record.get("pending"):
        console.print("no corpus is registered or named; nothing to erase from corpora")
    for path in record["unnamed"]:
        console.print(
            f"[yellow]warning:[/] {escape(path)} also holds subject {escape(subject)} and was "
            f"not named; run `facedata forget --subject {escape(subject)}` without paths to "
            "erase from every registered corpus"
        )
    for gone in record.get("missing") or []:
        find = (
            f"`facedata corpora find DIR --id {escape(gone['id'])}`"
            if gone["id"]
            else "`facedata corpora find DIR`"
        )
        console.print(
            f"[yellow]warning:[/] registered corpus {escape(gone['path'])} is no longer there "
            f"(moved or deleted) and was not erased; if it was moved, run {find} on the folder "
            f"it went to, then `facedata forget --subject {escape(subject)}` again; if it was "
            f"deleted, `facedata corpora drop {escape(str(gone['id'] or gone['path']))}`"
        )
    for path in record["unchecked"]:
        console.print(
            f"[yellow]warning:[/] registered corpus {escape(path)} could not be read; check "
            "whether it holds the subject (rebuild or restore it, then forget again)"
        )
    for m in record.get("models") or []:
        if m.get("mark") is None:
            console.print(
                f"[yellow]warning:[/] models trained on {escape(subject)} could not be marked: "
                f"{escape(str(m.get('problem')))}; restore the model registry, then forget again"
            )
            continue
        gone = "" if m["exists"] else " (folder gone; marked in the registry)"
        problem = f" ({escape(m['problem'])})" if m.get("problem") else ""
        console.print(
            f"[yellow]model:[/] {escape(m['path'])} was trained on rows of subject "
            f"{escape(subject)}; marked for retraining{gone}{problem}"
        )
    console.print(
        f"deleted {len(record['frames_deleted'])} cached frame folder(s); withdrawal logged "
        "(later builds leave the subject out)"
    )
    if "cache_withdrawals" in record:
        n = len(record["cache_withdrawals"])
        console.print(
            f"withdrawal written to the fetch cache ({n} dataset folder(s))"
            if n
            else "[yellow]warning:[/] no dataset here holds the subject: the withdrawal was "
            "not written to the fetch cache (name the dataset with --dataset)"
        )
    pending = record.get("pending") or []
    if pending:
        where = "; ".join(f"{storage.shown(p['corpus'])}: {p['problem']}" for p in pending)
        raise FacedataError(
            f"subject {subject} is NOT yet erased from {len(pending)} corpus(es) on object "
            f"storage, which could not be reached or written ({where}); the erasure is "
            "pending: it is logged, kept with the registered corpus and applied by the next "
            "`facedata forget` that reaches the store (a build of that corpus leaves the "
            "subject out)",
            hint=f"when the store answers again, run `facedata forget --subject {subject}` "
            "without paths (or naming the URL); `facedata corpora list` shows what is pending",
        )
