"""Kaggle datasets and competitions through the official client (kagglesdk).

The client asks Kaggle which version to take and where the bytes are (a signed,
short-lived URL); the transfer itself goes through `obtain`, so a Kaggle download
resumes, is hashed and pinned like any other file. The version is pinned too: a
later fetch asks for the same version, not whatever is current.

Credentials are looked up where Kaggle's own tools look, in the same order:
KAGGLE_API_TOKEN, ~/.kaggle/access_token, KAGGLE_USERNAME + KAGGLE_KEY,
~/.kaggle/kaggle.json (KAGGLE_CONFIG_DIR moves ~/.kaggle).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import requests

import facedata.files.jsontext as jsontext
from facedata.errors import AccessRequiredError, FetchError
from facedata.fetch.http import OFFLINE_HINT
from facedata.fetch.integrity import expected_for
from facedata.fetch.job import Fetched, FetchJob
from facedata.fetch.obtain import Candidate, cached, obtain
from facedata.fetch.store import LockEntry, SourceLock, now, partial_dir
from facedata.fetch.tree import Placement
from facedata.manifest.schema import FileSpec, Manifest, Source

SETTINGS_URL = "https://www.kaggle.com/settings/api"
CREDENTIAL_PLACES = (
    "KAGGLE_API_TOKEN, ~/.kaggle/access_token, KAGGLE_USERNAME + KAGGLE_KEY, "
    "or ~/.kaggle/kaggle.json"
)


@dataclass(frozen=True)
class Credentials:
    where: str  # shown in messages: which credential Kaggle accepted or refused
    token: str | None = None
    username: str | None = None
    key: str | None = None


def _config_dir() -> Path:
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle").expanduser()


def find_credentials() -> Credentials:
    """The first credential present, or a FetchError naming every place looked at."""
    token = os.environ.get("KAGGLE_API_TOKEN", "").strip()
    if token:
        p = Path(token).expanduser()
        if p.is_file():
            return Credentials(f"the file {p} (KAGGLE_API_TOKEN)", token=p.read_text().strip())
        return Credentials("KAGGLE_API_TOKEN", token=token)
    for name in ("access_token", "access_token.txt"):
        p = _config_dir() / name
        if p.is_file() and p.read_text().strip():
            return Credentials(str(p), token=p.read_text().strip())
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if user and key:
        return Credentials("KAGGLE_USERNAME + KAGGLE_KEY", username=user, key=key)
    if user or key:
        missing = "KAGGLE_KEY" if user else "KAGGLE_USERNAME"
        raise FetchError(
            f"{'KAGGLE_USERNAME' if user else 'KAGGLE_KEY'} is set but {missing} is missing",
            hint=f"set both, or use an API token (KAGGLE_API_TOKEN) from {SETTINGS_URL}",
        )
    p = _config_dir() / "kaggle.json"
    if p.is_file():
        try:
            data = jsontext.loads(p.read_text())
            return Credentials(str(p), username=data["username"], key=data["key"])
        except (ValueError, KeyError, TypeError):
            raise FetchError(
                f'{p} is not a Kaggle API key file (expected {{"username": ..., "key": ...}})',
                hint=f"download a fresh one from {SETTINGS_URL}",
            ) from None
    raise FetchError(
        "no Kaggle credentials found",
        hint=f"create an API token at {SETTINGS_URL} and put it in {CREDENTIAL_PLACES}",
    )


def _client(creds: Credentials):  # noqa: ANN202 - kagglesdk is untyped
    from kagglesdk import KaggleClient

    return KaggleClient(
        username=creds.username,
        password=creds.key,
        api_token=creds.token,
        user_agent="facedata",
    )


def _session(client) -> requests.Session | None:  # noqa: ANN001
    """The client's requests session (made when the client is entered). It is private
    to kagglesdk, so everything that uses it is best effort: None if it moves."""
    return getattr(client.http_client(), "_session", None)


def _bound(client) -> None:  # noqa: ANN001
    """kagglesdk sends without a timeout and reads its JSON answers whole: its session
    gets facedata's bounds."""
    from facedata.fetch.bounded import bound_requests_session

    session = _session(client)
    if session is not None:
        bound_requests_session(session)


def _http_error(exc: requests.HTTPError, src: Source, creds: Credentials) -> FetchError:
    code = exc.response.status_code if exc.response is not None else 0
    what = src.kaggle or f"competition {src.kaggle_competition}"
    if code == 401:
        return FetchError(
            f"Kaggle rejected the credential from {creds.where} (HTTP 401)",
            hint=f"it is wrong or expired: create a new API token at {SETTINGS_URL} and replace "
            f"it ({CREDENTIAL_PLACES})",
        )
    if code == 403 and src.kaggle_competition:
        url = f"https://www.kaggle.com/competitions/{src.kaggle_competition}/rules"
        return AccessRequiredError(
            f"Kaggle refused the data of {what}: its rules have not been accepted (HTTP 403)",
            hint=f"open {url} in a browser, signed in as the account of {creds.where}, accept "
            "the rules, then run the command again",
        )
    if code == 403:
        return FetchError(
            f"Kaggle refused access to {what} with the credential from {creds.where} (HTTP 403)",
            hint="the dataset may be private or removed; check it on kaggle.com, or try another "
            "source with --source",
        )
    if code == 404:
        version = f" version {src.kaggle_version}" if src.kaggle_version else ""
        return FetchError(
            f"Kaggle has no {what}{version} (HTTP 404)",
            hint="check the name (and version) in the manifest against kaggle.com",
        )
    return FetchError(f"Kaggle answered HTTP {code} for {what}: {exc}", hint="try again later")


def _location(client, call, request) -> str:  # noqa: ANN001
    """Kaggle answers a download with a redirect to a signed URL; return the URL only.

    The client would follow the redirect and start streaming the file, which wastes
    bytes when our own transfer resumes a `.part` with a Range request instead. Its
    session is private, so this is best effort: if the attribute ever goes away the
    redirect is followed and the opened response closed (a socket buffer's worth lost).
    """
    session = _session(client)
    if session is None:
        resp = call(request)
        resp.close()
        return resp.url
    saved = session.max_redirects
    session.max_redirects = 0
    try:
        resp = call(request)  # no redirect happened: the answer is the file itself
        resp.close()
        return resp.url
    except requests.TooManyRedirects as exc:
        where = exc.response.headers.get("Location") if exc.response is not None else None
        if not where:
            raise FetchError(
                "Kaggle answered a download with a redirect to nowhere (no Location)",
                hint="try again later; if it persists, download the file in a browser and "
                "register it with `facedata fetch ID --from PATH`",
            ) from None
        url = requests.compat.urljoin(exc.response.url, where)
        from facedata.manifest.schema import check_url

        try:
            return check_url(url)
        except ValueError as bad:
            raise FetchError(
                f"Kaggle redirected the download to {url!r}: {bad}",
                hint="only http(s) links are followed; try again later",
            ) from None
    finally:
        session.max_redirects = saved


def _resolve(client, src: Source, pinned: SourceLock | None):  # noqa: ANN001, ANN202
    """The signed URL of the archive and which dataset version it is."""
    if src.kaggle_competition:
        from kagglesdk.competitions.types.competition_api_service import (
            ApiDownloadDataFilesRequest,
        )

        req = ApiDownloadDataFilesRequest()
        req.competition_name = src.kaggle_competition
        return _location(
            client, client.competitions.competition_api_client.download_data_files, req
        ), None
    from kagglesdk.datasets.types.dataset_api_service import (
        ApiDownloadDatasetRequest,
        ApiGetDatasetRequest,
    )

    assert src.kaggle is not None
    owner, slug = src.kaggle.split("/")
    version = src.kaggle_version
    if version is None and pinned is not None and pinned.version:
        version = version_number(pinned.version, "the lock file", pinned=True)
    if version is None:
        greq = ApiGetDatasetRequest()
        greq.owner_slug, greq.dataset_slug = owner, slug
        answer = client.datasets.dataset_api_client.get_dataset(greq)
        version = version_number(getattr(answer, "current_version_number", None), "Kaggle")
    dreq = ApiDownloadDatasetRequest()
    dreq.owner_slug, dreq.dataset_slug = owner, slug
    dreq.dataset_version_number = version
    return _location(client, client.datasets.dataset_api_client.download_dataset, dreq), version


MAX_VERSION = 1_000_000


def version_number(value: object, where: str, pinned: bool = False) -> int:
    """A dataset version as Kaggle numbers them: a whole number from 1 up. `where` said
    it (Kaggle's answer, or the lock file, which stores it as digits); anything else
    (a string, a float, a bool, a path) is refused before it reaches a URL or the lock."""
    if pinned and isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_VERSION:
        return value
    shown = repr(value)[:60]
    if pinned:
        raise FetchError(
            f"{where} pins Kaggle version {shown}, which is not a version number",
            hint="the lock file was edited or damaged; fetch again with --force to pin the "
            "current version",
        )
    raise FetchError(
        f"{where} answered with dataset version {shown}, which is not a version number",
        hint="the endpoint did not answer as Kaggle does; try again later, or pin "
        "`kaggle_version` in the manifest",
    )


def archive_name(src: Source) -> str:
    if src.kaggle_competition:
        return f"{src.kaggle_competition}.zip"
    assert src.kaggle is not None
    return f"{src.kaggle.split('/')[1]}.zip"


def fetch_kaggle(job: FetchJob) -> Fetched:
    """Download (or reuse) the source's archive; it is unpacked at the tree root."""
    manifest, src, pinned, notes, force = job
    name = archive_name(src)
    ref = src.kaggle or src.kaggle_competition
    kind = "kaggle" if src.kaggle else "kaggle-competition"
    spec: FileSpec | None = next((f for f in src.files if f.name == name), None)
    known = str(src.kaggle_version) if src.kaggle_version else (pinned.version if pinned else None)
    if pinned is not None and pinned.version == known and not force:
        pin = pinned.entry(name)
        if pin and (hit := cached(expected_for(spec, pin))):  # offline: the pinned bytes are here
            return [Placement(name, hit.blob, True)], _record(manifest, src, pinned.version, pin)
    creds = find_credentials()
    with _client(creds) as client:  # kept open: its session carries the file's response
        _bound(client)
        try:
            url, version = _resolve(client, src, pinned)
        except requests.HTTPError as exc:
            raise _http_error(exc, src, creds) from None
        except requests.RequestException as exc:
            raise FetchError(
                f"cannot reach Kaggle: {exc}",
                hint=f"check the connection and try again; {OFFLINE_HINT}",
            ) from None
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a malformed answer
            raise FetchError(
                f"Kaggle's answer about {ref} cannot be read ({type(exc).__name__}: {exc})"[:300],
                hint="the endpoint did not answer as Kaggle does; try again later",
            ) from None
        vtag = str(version) if version else None
        pin = pinned.entry(name) if pinned and pinned.version == vtag else None
        origin = f"{kind}:{ref}" + (f"@v{version}" if version else "")
        got = obtain(
            name,
            [Candidate(url, origin)],
            partial_dir(manifest.id, src.id),
            expected_for(spec, pin),
            notes,
            force=force,
            origin=origin,
        )
    pinned_at = pin.pinned_at if pin and pin.sha256 == got.sha256 else now()
    entry = LockEntry(name, origin, got.size, got.sha256, src.official, pinned_at)
    return [Placement(name, got.blob, True)], _record(manifest, src, vtag, entry)


def _record(manifest: Manifest, src: Source, version: str | None, entry: LockEntry) -> SourceLock:
    kind = "kaggle" if src.kaggle else "kaggle-competition"
    ref = src.kaggle or src.kaggle_competition
    return SourceLock(
        manifest.id, src.id, src.kind, src.official, f"{kind}:{ref}", version, now(), [entry]
    )
