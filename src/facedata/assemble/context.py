"""One build's context: what every step of a build reads, made once and passed down.

A build decides a few things once (the recipe, the policy instant, the catalog and
clearances it read) and keeps a few accumulators (the tally, the dedup index, the
subject leak check). Every step takes this one object instead of a dozen arguments,
so a new setting reaches the step that needs it without touching the ones between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .dedup import Deduper
from .splits import LeakCheck
from .tally import Tally
from .worker import WorkSettings

if TYPE_CHECKING:
    import pyarrow as pa

    from ..catalog import Catalog
    from ..corpus import LabelCodec
    from ..licensing import Clearance
    from .recipe import Recipe

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
        from ..catalog import Catalog
        from ..licensing import load_clearances, policy_now

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
        from ..corpus import arrow_schema

        return arrow_schema(self.expressions, self.recipe.image_mode)

    @cached_property
    def codec(self) -> LabelCodec:
        from ..corpus import LabelCodec

        return LabelCodec(self.expressions)

    @cached_property
    def settings(self) -> WorkSettings:
        """What a worker needs to turn a sample into a row."""
        r = self.recipe
        return WorkSettings(
            size=r.size,
            image_format=r.image_format,
            image_mode=r.image_mode,
            keep_unaligned=r.keep_unaligned,
            detector=r.detector,
            detect_side=r.detect_side,
            decode_side=r.decode_side,
        )

    def report(self) -> None:
        """Tell the progress display how far the funnel is."""
        if self.progress is not None:
            self.progress(self.tally.flow.progress())
