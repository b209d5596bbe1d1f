"""One date: every policy and consent decision uses the build's UTC date, whatever the zone.

Run as separate processes with the local zone a day behind (Etc/GMT+12) and ahead
(Pacific/Kiritimati, UTC+14) of UTC: at any hour at least one of them has a local date
other than UTC's, so code comparing with the local date fails one of these.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import DETECTOR_CLEARANCE, LONG_AGO, UTC_TODAY, corpus, drops, run_in_zone, subjects

ZONES = ["Etc/GMT+12", "Pacific/Kiritimati"]
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize("tz", ZONES)
def test_clearance_expired_yesterday_in_utc_is_not_used(team, tz):
    clear = team.clearances(DETECTOR_CLEARANCE.replace("2099-12-31", str(UTC_TODAY - DAY)))
    out = team.out("c")
    args = ["build", "--commercial", "--datasets", "own-data", "--out", str(out)]
    res = run_in_zone(tz, [*args, "--clearances", str(clear)], {})
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"expired on {UTC_TODAY - DAY}" in " ".join(res.stderr.split())
    assert not out.exists()


@pytest.mark.parametrize("tz", ZONES)
def test_consent_and_expiry_are_judged_on_the_utc_date(team, tz):
    team.consent(
        f"P001,research;commercial,{UTC_TODAY},\n"  # signed today (UTC): admitted
        f"P002,research;commercial,{LONG_AGO},{UTC_TODAY}\n"  # withdrawn today (UTC)
        f"P003,research;commercial,{UTC_TODAY + DAY},\n"  # signs tomorrow (UTC)
    )
    clear = team.clearances(DETECTOR_CLEARANCE.replace("2099-12-31", str(UTC_TODAY)))
    out = team.out("c")
    args = ["build", "--commercial", "--datasets", "own-data", "--out", str(out)]
    res = run_in_zone(tz, [*args, "--clearances", str(clear)], {})
    assert res.returncode == 0, res.stdout + res.stderr
    assert subjects(out) == {"P001"}
    d = drops(out)
    assert d["own-data: consent: withdrawn"] == 1
    assert d["own-data: consent: not yet signed"] == 1
    c = corpus(out)
    assert c["policy_date"] == str(UTC_TODAY) == c["created"][:10]
    assert c["consent"]["own-data"]["date"] == str(UTC_TODAY)
