"""One build's context: what every step of a build reads, made once and passed down.

A build decides a few things once (the recipe, the policy instant, the catalog and
clearances it read) and keeps a few accumulators (the tally, the dedup index, the
subject leak check). Every step takes this one object instead of a dozen arguments,
so a new setting reaches the step that needs it without touching the ones between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from facedata.assemble.dedup import Deduper
from facedata.assemble.splits import LeakCheck
from facedata.assemble.tally import Tally
from facedata.assemble.worker import WorkSettings

if TYPE_CHECKING:
    import pyarrow as pa

    from facedata.assemble.recipe import Recipe
    from facedata.corpus import LabelCodec
    from facedata.gate.licensing import Clearance
    from facedata.manifest.catalog import Catalog

Progress = Callable[[dict[str, int]], None]
MAX_LISTED = 1000  # image errors listed by name in corpus.json; all are counted


@dataclass
class BuildContext:
    """The recipe, the policy instant, what was read before the first sample, where
    progress goes, and the accumulators the merge fills."""

    recipe: Recipe
    catalog: Catalog
    clearances: list[Clearance]
    now: dt.datetime  # the one instant the build decides at (`created`)
    today: dt.date  # its date: every license, clearance and consent decision's date
    progress: Progress | None = None
    argv: list[str] | None = None
    max_listed: int = MAX_LISTED
    tally: Tally = field(init=False)
    dedup: Deduper = field(init=False)
    leaks: LeakCheck = field(init=False)

    def __post_init__(self) -> None:
        self.tally = Tally.on(self.today)
        self.dedup = Deduper(self.recipe.near_dup_distance, self.recipe.label_conflicts)
        self.leaks = LeakCheck()

    @classmethod
    def start(
        cls,
        recipe: Recipe,
        *,
        today: dt.date | None = None,
        progress: Progress | None = None,
        argv: list[str] | None = None,
    ) -> BuildContext:
        """Read the catalog and the clearances the recipe names, at this instant."""
        from facedata.gate.licensing import load_clearances, policy_now
        from facedata.manifest.catalog import Catalog

        now = policy_now()
        return cls(
            recipe=recipe,
            catalog=Catalog.load(recipe.manifests),
            clearances=load_clearances(recipe.clearances),
            now=now,
            today=today or now.date(),
            progress=progress,
            argv=argv,
        )

    @property
    def out(self) -> Path:
        return Path(self.recipe.out)

    @cached_property
    def expressions(self) -> list[str]:
        return list(self.catalog.taxonomy.expressions)

    @cached_property
    def schema(self) -> pa.Schema:
        from facedata.corpus import arrow_schema

        return arrow_schema(self.expressions, self.recipe.image_mode)

    @cached_property
    def codec(self) -> LabelCodec:
        from facedata.corpus import LabelCodec

        return LabelCodec(self.expressions)

    @cached_property
    def settings(self) -> WorkSettings:
        """What a worker needs to turn a sample into a row."""
        shared = {f.name for f in fields(WorkSettings)} & set(type(self.recipe).model_fields)
        return WorkSettings(**{name: getattr(self.recipe, name) for name in shared})

    def report(self) -> None:
        """Tell the progress display how far the funnel is."""
        if self.progress is not None:
            self.progress(self.tally.flow.progress())
