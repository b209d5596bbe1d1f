"""Withdrawals on the fetch cache filed under another id of the same bytes.

A person forgotten under one id stays out of the same photos or recordings under any
other: a build of own recordings registered under a new id reads the withdrawals
naming those recordings wherever they are filed, and train, predict and export read
those filed under every copy of a corpus's datasets, scoped to the dataset they hold for.
"""

from __future__ import annotations

import pytest

from facedata.consent.withdrawals import Withdrawal
from facedata.storage import cachewithdrawals
from facedata.storage.location import StorageError, cache_location
from facedata.storage.remote import connect
from tests.helpers.extras import needs
from tests.storage.conftest import S3

pytestmark = needs("moto", "boto3")

URL = "s3://faces-bucket/cache"
MINE = "ab" * 32  # sha256 of one of the admitted recordings


class _Manifest:
    def __init__(self, dataset: str) -> None:
        self.id = dataset


class _Admitted:
    """What `for_build` reads of an admitted source: its id and its copies."""

    def __init__(self, dataset: str, copies: tuple[str, ...] = ()) -> None:
        self.manifest = _Manifest(dataset)
        self.copies = copies


def _withdrawal(subject: str, dataset: str | None, recordings: tuple[str, ...] = ()) -> Withdrawal:
    return Withdrawal(subject, dataset, "2026-03-01T10:00:00+00:00", "home A", "", recordings)


def test_a_build_of_own_recordings_reads_a_withdrawal_naming_them_under_another_id(
    s3: S3,
) -> None:
    loc = cache_location(URL)
    cachewithdrawals.record(loc, {"own-data"}, [_withdrawal("P001", "own-data", (MINE,))])
    cachewithdrawals.record(loc, {"other"}, [_withdrawal("Q009", "other", ("cd" * 32,))])
    got = cachewithdrawals.for_build([_Admitted("team-b-data")], loc, {MINE})
    assert [w.subject_id for w in got] == ["P001"]
    # without the recordings' hashes only its own folder (empty) is read
    assert cachewithdrawals.for_build([_Admitted("team-b-data")], loc) == []


def test_a_damaged_withdrawal_under_any_id_stops_a_build_of_own_recordings(s3: S3) -> None:
    # it cannot say whose recordings it names: skipping it could bring someone back
    s3.put("cache/withdrawals/own-data/" + "0" * 64 + ".json", b'{"subject_id": "x"}')
    with pytest.raises(StorageError, match="does not hash to its name"):
        cachewithdrawals.for_build([_Admitted("team-b-data")], cache_location(URL), {MINE})


def test_names_that_cannot_be_a_dataset_are_not_read(s3: S3) -> None:
    names = cachewithdrawals.names_for("celeba-local", ["celeba-mirror", "../up", ""])
    assert names == {"celeba-local", "celeba-mirror"}
    with pytest.raises(StorageError):
        cachewithdrawals.names_for("../up", [])
    s3.put("cache/withdrawals/a/b/" + "1" * 64 + ".json", b"{}")  # too deep: never read
    assert cachewithdrawals.read_every(connect(cache_location(URL))) == []


def test_train_side_reads_a_copys_withdrawals_scoped_to_the_corpus_dataset(
    s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facedata.gate import filetwins

    loc = cache_location(URL)
    cachewithdrawals.record(loc, {"celeba-mirror"}, [_withdrawal("7", "celeba-mirror")])
    cachewithdrawals.record(loc, {"unrelated"}, [_withdrawal("8", "unrelated")])
    monkeypatch.setattr(
        filetwins, "copies_of", lambda datasets, _loc: {"celeba-local": {"celeba-mirror"}}
    )
    got = cachewithdrawals.for_datasets({"celeba-local"}, loc)
    assert [(w.subject_id, w.dataset) for w in got] == [("7", "celeba-local")]
