"""Hypothesis settings for the project's fuzz tests, in one place.

Each fuzz test file runs a short budget in CI; FACEDATA_FUZZ_EXAMPLES sets a long
local run for all of them (see docs/fuzzing.md). No example database: a run does
not depend on what an earlier one found (failures are kept as tests instead).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(ci_examples: int, *allow: HealthCheck) -> settings:
    """`ci_examples` per property unless FACEDATA_FUZZ_EXAMPLES says otherwise; no
    deadline (readers touch the disk); slow examples, and any of `allow`, are fine."""
    return settings(
        max_examples=int(os.environ.get("FACEDATA_FUZZ_EXAMPLES", str(ci_examples))),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, *allow],
        database=None,
    )
