"""`facedata build`'s recipe flags, made from the recipe's own field table.

Every recipe field with a flag in `assemble.recipe_fields.FIELDS` becomes one typer
option, with the field's wording and default in its help, so the command line can
neither forget a field nor restate a default. The flags given override a recipe
file's values; those not given leave them alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from facedata.assemble.recipe_fields import FIELDS, RecipeField, flags_given
from facedata.errors import BuildError

if TYPE_CHECKING:
    from facedata.assemble.recipe import Recipe

F = TypeVar("F", bound=Callable[..., Any])


def _parameter(name: str, f: RecipeField) -> inspect.Parameter:
    decls = [f.flag, *([f.short] if f.short else [])]
    option = typer.Option(
        *decls,
        metavar=f.metavar,
        help=f.help_text(),
        show_default=False,
        file_okay=f.file_okay,
    )
    kind: Any = bool if f.switch else f.flag_type | None  # a bare switch: off unless given
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=False if f.switch else None,
        annotation=Annotated[kind, option],
    )


def with_recipe_flags(command: F) -> F:
    """Add one option per recipe flag to `command`, which takes them as `**flags`.

    The command's own parameters come first (its recipe-file argument), then the recipe
    flags in the table's order, then its keyword-only options (`--overwrite`).
    """
    own = list(inspect.signature(command, eval_str=True).parameters.values())
    head = [p for p in own if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    tail = [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY]
    flags = [_parameter(name, f) for name, f in FIELDS.items() if f.flag]
    command.__signature__ = inspect.Signature([*head, *flags, *tail])  # type: ignore[attr-defined]
    return command


def recipe_from(recipe_file: Path | None, flags: dict[str, Any]) -> tuple[Recipe, dict[str, Any]]:
    """The recipe a build runs: the file's (if any) with the flags given over it.

    Returns it with the fields the flags set, so the caller can tell a replay of the
    file as it is from a changed build.
    """
    from pydantic import ValidationError

    from facedata.assemble.recipe import Recipe, load_recipe

    given = flags_given(flags)
    if recipe_file is None and not flags.get("datasets"):
        raise BuildError("nothing to build", hint="pass --datasets a,b or a recipe YAML file")
    if given.get("datasets") == []:
        raise BuildError("--datasets names no dataset", hint="e.g. --datasets genki4k,fer2013")
    base = load_recipe(recipe_file).model_dump() if recipe_file else {}
    try:
        return Recipe.model_validate({**base, **given}), given
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise BuildError(
            f"invalid build options: {problems}", hint="see `facedata build --help`"
        ) from None
