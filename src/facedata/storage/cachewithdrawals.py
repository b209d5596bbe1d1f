"""Withdrawals that travel with the fetch cache: a person forgotten on one home stays
out of a build on any other home that reads the same cache.

A home's withdrawal ledger lives in its FACEDATA_HOME; a build on another home, from the
fetch cache, into a NEW corpus would never see it. So when a fetch cache is configured,
`forget` also writes each withdrawal to the cache, and `fetch --cache` pushes the home's
ledger withdrawals of the pushed dataset:

    PREFIX/withdrawals/<dataset>/<sha256 of the entry>.json

one write-once object per withdrawal (no appends, so two homes never race), named by
the sha256 of its own bytes (the same withdrawal pushed twice is one object). A build
with a fetch cache configured reads the withdrawals of every dataset it admits (own
data included, wherever each is read from) and of every dataset sharing its bytes,
and applies them as it applies the ledger's.

The store is hostile: the listing is bounded, each object is bounded, must hash to its
name and parse as a withdrawal. An object that fails those checks stops the build, as a
damaged ledger line does: skipping it could bring back a person who asked to leave.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterable, Mapping

from facedata.consent.withdrawals import Withdrawal, parse_withdrawal, read_ledger
from facedata.storage.location import Location, StorageError
from facedata.storage.remote import Conflict, Store, connect

FOLDER = "withdrawals"
MAX_BYTES = 64 << 10  # one withdrawal is a few hundred bytes
_NAME = re.compile(r"[0-9a-f]{64}\.json")
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HINT = (
    "the fetch cache's withdrawals record who asked to be forgotten, so nothing is built "
    "from it while one is damaged; remove or restore that object by hand, then build again"
)


def render(withdrawal: Withdrawal) -> bytes:
    """A withdrawal's bytes on the store: canonical, so the same one has the same name."""
    return json.dumps(withdrawal.to_dict(), sort_keys=True, separators=(",", ":")).encode()


def key_of(dataset: str, raw: bytes) -> str:
    return f"{FOLDER}/{dataset}/{hashlib.sha256(raw).hexdigest()}.json"


def _checked_dataset(dataset: str) -> str:
    if not _DATASET.fullmatch(dataset) or dataset in (".", ".."):
        raise StorageError(
            f"{dataset!r} cannot name a folder of withdrawals on the fetch cache",
            hint="dataset ids are letters, digits, '.', '_' and '-'",
        )
    return dataset


def write(store: Store, dataset: str, withdrawals: Iterable[Withdrawal]) -> list[str]:
    """Write each withdrawal under `dataset` once; the keys written or already there."""
    _checked_dataset(dataset)
    keys: list[str] = []
    for w in withdrawals:
        raw = render(w)
        key = key_of(dataset, raw)
        if store.size(key) != len(raw):
            # written meanwhile: by its name, the same bytes (checked when read)
            with contextlib.suppress(Conflict):
                store.create_bytes(key, raw)
        keys.append(key)
    return keys


def record(loc: Location, datasets: Iterable[str], withdrawals: Iterable[Withdrawal]) -> list[str]:
    """`forget`: write the withdrawals under every dataset they concern."""
    store = connect(loc)
    items = list(withdrawals)
    return [key for ds in sorted(set(datasets)) for key in write(store, ds, items)]


def of_ledger(dataset: str) -> list[Withdrawal]:
    """This home's ledger withdrawals that hold for `dataset` (its own, and every-dataset
    ones): what `fetch --cache` pushes with the dataset's tree."""
    return [w for w in read_ledger() if w.applies(dataset)]


def read(store: Store, dataset: str) -> list[Withdrawal]:
    """Every withdrawal the cache holds for `dataset`, each checked (see module doc)."""
    _checked_dataset(dataset)
    # bounded (MAX_LISTING)
    return [w for _ds, w in _parsed(store, store.listing(f"{FOLDER}/{dataset}"))]


def read_every(store: Store, skip: Iterable[str] = ()) -> list[tuple[str, Withdrawal]]:
    """Every withdrawal on the cache, with the dataset folder it is filed under, but
    those under the folders in `skip` (already read). One bounded listing of the whole
    `withdrawals/` folder (MAX_LISTING objects at most, else refused): what own
    recordings registered under another id need, since the id they were forgotten under
    is not known here."""
    passed = set(skip)
    listed = [
        (rel, size)
        for rel, size in store.listing(FOLDER)
        if rel.count("/") == 2 and rel.split("/")[1] not in passed
    ]
    return _parsed(store, listed)


def _parsed(store: Store, listed: Iterable[tuple[str, int]]) -> list[tuple[str, Withdrawal]]:
    """(folder, withdrawal) of each listed object that has a withdrawal's name, each
    bounded, hashing to its name and parsing: one that does not stops the caller."""
    found: list[tuple[str, Withdrawal]] = []
    for rel, size in sorted(listed):
        where = f"{store.loc.url}/{rel}"
        parts = rel.split("/")
        if len(parts) != 3 or not _DATASET.fullmatch(parts[1]) or not _NAME.fullmatch(parts[2]):
            continue  # not a withdrawal's name: never written by facedata, never read
        name = parts[2]
        if size > MAX_BYTES:
            raise StorageError(f"the withdrawal {where} is {size:,} bytes: not one", hint=HINT)
        raw = store.read_bytes(rel, MAX_BYTES)
        if raw is None:
            continue  # deleted since the listing
        if hashlib.sha256(raw).hexdigest() != name[: -len(".json")]:
            raise StorageError(f"the withdrawal {where} does not hash to its name", hint=HINT)
        try:
            found.append((parts[1], parse_withdrawal(json.loads(raw.decode("utf-8")), where)))
        except (ValueError, UnicodeDecodeError) as exc:
            raise StorageError(f"the withdrawal {where} is unreadable: {exc}", hint=HINT) from None
    return found


def naming(found: Iterable[tuple[str, Withdrawal]], recordings: Iterable[str]) -> list[Withdrawal]:
    """The withdrawals in `found` (from `read_every`) that name any of `recordings`
    (sha256 of own data's media files): the same recordings registered under another
    id share no tree with the original, only their bytes, and a withdrawal names those.
    One definition for the build (`for_build`) and for train, predict and export
    (`for_datasets`)."""
    mine = {h for h in recordings if isinstance(h, str)}
    if not mine:
        return []
    return [w for _ds, w in found if mine & set(w.recordings)]


def names_for(dataset: str, copies: Iterable[str]) -> set[str]:
    """The dataset ids whose withdrawals on the cache hold for `dataset`: its own, and
    those of each id of the same bytes (`copies`, as the gate finds them). A copy's id
    comes from the store: one no dataset can have holds no withdrawal, and is passed
    over; the dataset's own id must be a folder name (see `_checked_dataset`)."""
    return {_checked_dataset(dataset), *(c for c in copies if _DATASET.fullmatch(c))}


def for_datasets(
    datasets: Iterable[str],
    loc: Location,
    recordings: Mapping[str, Iterable[str]] | None = None,
) -> list[Withdrawal]:
    """The cache's withdrawals that hold for each of `datasets` (a corpus's or a
    model's), each scoped to the dataset it holds for: those filed under its own id,
    and under every id sharing its bytes (found now, on the cache and here: the copy
    may have reached the cache after the corpus was built). What train, predict and
    export read; a build reads the same through `for_build`.

    `recordings` (sha256 of each own-data dataset's media files, by id): a withdrawal
    filed under any other id that names one of them holds for that dataset too, as a
    build finds it (`naming`): own recordings registered under another id."""
    from dataclasses import replace

    from facedata.gate.filetwins import copies_of

    wanted = sorted(set(datasets))
    if not wanted:
        return []
    for ds in wanted:
        _checked_dataset(ds)  # refused before anything is read
    copies = copies_of(wanted, loc)
    store = connect(loc)
    filed: dict[str, list[Withdrawal]] = {}
    found: list[Withdrawal] = []
    for ds in wanted:
        for name in sorted(names_for(ds, copies.get(ds, set()))):
            if name not in filed:
                filed[name] = read(store, name)
            found += [w if w.dataset is None else replace(w, dataset=ds) for w in filed[name]]
    mine = {ds: set(hashes) for ds, hashes in (recordings or {}).items() if ds in wanted}
    if any(mine.values()):
        every = read_every(store, filed)  # one bounded listing, the folders read above skipped
        for ds in sorted(mine):
            found += [
                w if w.dataset is None else replace(w, dataset=ds) for w in naming(every, mine[ds])
            ]
    return found


def for_build(
    admitted: Iterable[object], loc: Location | None, recordings: Iterable[str] = ()
) -> list[Withdrawal]:
    """The withdrawals on the fetch cache at `loc` (None: no cache, none) of every admitted
    dataset, however it is read (own data where it lies too: a person forgotten on the
    home that recorded them stays out of a copy of the recordings elsewhere), and of
    each dataset that shares its bytes (`copies`, ids this catalog may not know).

    `recordings` (sha256 of the admitted own data's media files): a withdrawal filed
    under any other id that names one of them is read too. Own recordings copied and
    registered under a new id share no tree with the original, only their bytes, and
    the withdrawal names those bytes (`recordings`)."""
    if loc is None:
        return []
    names: set[str] = set()
    for adm in admitted:
        manifest = getattr(adm, "manifest", None)
        names |= names_for(str(getattr(manifest, "id", "")), getattr(adm, "copies", ()))
    if not names:
        return []
    store = connect(loc)
    found = [w for dataset in sorted(names) for w in read(store, dataset)]
    mine = set(recordings)
    if mine:
        found += naming(read_every(store, names), mine)
    return found
