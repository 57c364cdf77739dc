"""Package indexes (Test PyPI, PyPI): what they hold, uploading to them, trusted publishing.

Reading goes through the simple API (PEP 691 JSON where offered, PEP 503 HTML otherwise);
uploading goes through twine's Python API, in this process: its `PackageFile` (made once per
file and job, `action.dists`) and one `Repository`, so one HTTP session, per index.
`PackageIndex.publish` takes a batch: what the index held just before decides what is left
alone (the same bytes) or stops (other bytes under the name); the rest is uploaded several at a
time, and the index is read once more to confirm the whole batch.

Retries: reads and uploads are retried with exponential backoff and jitter on 5xx, 429,
timeouts and dropped connections (each upload is one attempt of twine's; we wait between
them). A 4xx is never retried: it is explained from the HTTP answer (status, the reason phrase
where PyPI puts its message, the body where pypiserver does) and what to do about it.
"""

from __future__ import annotations

import base64
import copy
import enum
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args
from urllib.parse import unquote, urlsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from twine.repository import Repository

from action import dists
from action.config import workflow_path
from action.digests import sha256_file
from action.errors import (
    ConfigError,
    DigestMismatchError,
    FileExistsOnIndexError,
    PackageIndexError,
    ReleaseError,
)
from action.logs import get_logger, mask
from action.retry import Backoff, Retrying
from action.workers import run_bounded

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from twine.package import PackageFile

__all__ = [
    "ApiToken",
    "Credentials",
    "Dist",
    "IndexConfig",
    "IndexName",
    "MintedToken",
    "Outcome",
    "PackageIndex",
    "TrustedPublishing",
    "UploadFailure",
    "mint_token",
    "open_index",
    "parse_simple",
    "parse_simple_html",
    "parse_simple_json",
    "project_of",
    "read_failure",
]

log = get_logger(__name__)
T = TypeVar("T")

IndexName = Literal["testpypi", "pypi"]

# name -> (upload URL, simple API URL, root where `/_/oidc/` lives)
_CONVENTIONAL: dict[str, tuple[str, str, str]] = {
    "pypi": ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/", "https://pypi.org/"),
    "testpypi": (
        "https://test.pypi.org/legacy/",
        "https://test.pypi.org/simple/",
        "https://test.pypi.org/",
    ),
}

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
_ACCEPT = f"{SIMPLE_JSON}, {SIMPLE_HTML};q=0.2, text/html;q=0.01"
UPLOAD_WORKERS = 4  # uploads in flight per index
TOKEN_LIFETIME = 15 * 60.0  # what PyPI gives a minted token when it does not say
REFRESH_MARGIN = 2 * 60.0  # re-mint when less than this is left


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiToken:
    """An API token (`pypi-...`), sent as the password of user `__token__`."""

    token: str = field(repr=False)
    username: str = "__token__"

    def __post_init__(self) -> None:
        if not self.token.strip():
            raise ConfigError("the package-index API token is empty",
                              hint="Set the token input from a repository or environment secret, "
                              "or use trusted publishing instead.")


@dataclass(frozen=True, kw_only=True)
class TrustedPublishing:
    """Short-lived tokens minted from the workflow's OIDC identity; the fields feed the hints."""

    repository: str = ""  # owner/name
    workflow: str = ""  # workflow file name, e.g. release.yml
    environment: str = ""  # the GitHub environment the publishing job runs in

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, environment: str = ""
    ) -> TrustedPublishing:
        """Read the repository and workflow file from the runner's variables."""
        return cls(repository=env.get("GITHUB_REPOSITORY", ""),
                   workflow=_workflow_file(env.get("GITHUB_WORKFLOW_REF", "")),
                   environment=environment)


def _workflow_file(ref: str) -> str:
    """The workflow's file name (what a trusted publisher names) from a workflow reference."""
    return PurePosixPath(workflow_path(ref)).name


Credentials = ApiToken | TrustedPublishing


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """One package index: where to upload, where to read, how to authenticate."""

    name: IndexName
    upload_url: str  # the legacy upload API, e.g. https://upload.pypi.org/legacy/
    simple_url: str  # the simple API root, ending in /
    root_url: str  # the web root, where /_/oidc/ lives (trusted publishing)
    credentials: Credentials
    json_api: bool = True  # serves /pypi/<project>/<version>/json (PyPI does; pypiserver not)

    def __post_init__(self) -> None:
        if self.name not in get_args(IndexName):
            raise ConfigError(f"unknown package index {self.name!r}",
                              hint="Use 'testpypi' or 'pypi'.")
        for what in ("upload_url", "simple_url", "root_url"):
            url = getattr(self, what)
            if urlsplit(url).scheme not in {"http", "https"} or not url.endswith("/"):
                raise ConfigError(f"{self.name}: {what} {url!r} is not an http(s) URL ending in /")

    @classmethod
    def create(
        cls,
        name: IndexName,
        *,
        credentials: Credentials,
        upload_url: str | None = None,
        simple_url: str | None = None,
        root_url: str | None = None,
        json_api: bool = True,
    ) -> IndexConfig:
        """Fill in the conventional URLs for PyPI/Test PyPI, or derive them from upload_url."""
        conventional = _CONVENTIONAL.get(name)
        if upload_url is None or (conventional and _slash(upload_url) == conventional[0]):
            if conventional is None:
                raise ConfigError(f"{name}: no upload URL given")
            upload, simple, root = conventional
        else:
            upload = _slash(upload_url)
            root = upload.removesuffix("legacy/")
            simple = root + "simple/"
        return cls(
            name=name, upload_url=upload, simple_url=_slash(simple_url or simple),
            root_url=_slash(root_url or root), credentials=credentials, json_api=json_api,
        )

    def project_url(self, project: str) -> str:
        """The simple API page of a project (name normalised, PEP 503)."""
        return f"{self.simple_url}{canonicalize_name(project)}/"


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# --- retries -------------------------------------------------------------------------------


class _TransientError(Exception):
    """A failure that may pass: 5xx, 429, a timeout, a dropped connection."""


def _retrying(what: str, attempt: Callable[[], T], backoff: Backoff) -> T:
    """The shared retry policy (action.retry) over the index's transient failures."""
    retry = Retrying(backoff=backoff, system="index", retryable=(_TransientError,),
                     give_up=_give_up)
    return retry.run(what, attempt)


def _give_up(what: str, failures: int, exc: BaseException) -> PackageIndexError:
    return PackageIndexError(
        f"{what} failed {failures} times; the last time: {exc}",
        hint="The index seems to be down or unreachable. Re-run the job later; "
        "nothing is repeated that already succeeded.",
    )


def _send(
    session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """One HTTP request; transient failures become `_TransientError`."""
    try:
        response = session.request(method, url, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:  # noqa: PLR2004 - 429 is "too many requests"
        raise _TransientError(f"{method} {url}: HTTP {response.status_code} {response.reason}")
    return response


# --- reading the simple API ----------------------------------------------------------------


def parse_simple_json(data: Any) -> dict[str, str]:
    """PEP 691 project page -> {filename: sha256}; "" where the index gives no sha256."""
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise PackageIndexError("the simple API answered JSON without a 'files' list")
    result: dict[str, str] = {}
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise PackageIndexError(f"the simple API lists a file without a name: {entry!r}")
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256", "") if isinstance(hashes, dict) else ""
        result[entry["filename"]] = str(sha256).lower()
    return result


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def parse_simple_html(text: str) -> dict[str, str]:
    """PEP 503 project page -> {filename: sha256} from the links' `#sha256=` fragments."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    result: dict[str, str] = {}
    for href in parser.hrefs:
        parts = urlsplit(href)
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        algorithm, _, digest = parts.fragment.partition("=")
        result[filename] = digest.lower() if algorithm == "sha256" else ""
    return result


def parse_simple(content_type: str, body: str) -> dict[str, str]:
    """Parse a project page by its media type (PEP 691 JSON or PEP 503 HTML)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == SIMPLE_JSON:
        try:
            return parse_simple_json(json.loads(body))
        except json.JSONDecodeError as exc:
            raise PackageIndexError(f"the simple API sent malformed JSON: {exc}") from exc
        except RecursionError:
            raise PackageIndexError("the simple API sent JSON nested too deeply") from None
    if media in {SIMPLE_HTML, "text/html"}:
        return parse_simple_html(body)
    raise PackageIndexError(f"the simple API answered with unexpected media type {media!r}")


def first_upload(data: dict[str, Any]) -> datetime | None:
    """The earliest `upload_time_iso_8601` of a JSON API release page (None: no files)."""
    urls = data.get("urls")
    times = []
    for entry in urls if isinstance(urls, list) else []:
        text = entry.get("upload_time_iso_8601") if isinstance(entry, dict) else None
        if isinstance(text, str):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                continue
            times.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(times) if times else None


def release_digests(data: dict[str, Any]) -> dict[str, str]:
    """{filename: sha256} of a JSON API release page."""
    urls = data.get("urls")
    found: dict[str, str] = {}
    for entry in urls if isinstance(urls, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        digests = entry.get("digests")
        sha256 = digests.get("sha256", "") if isinstance(digests, dict) else ""
        found[entry["filename"]] = str(sha256).lower()
    return found


def _same_release(index: str, url: str, expected: Mapping[str, str],
                  held: Mapping[str, str]) -> None:
    extra = sorted(set(held) - set(expected))
    other = sorted(n for n in expected if n in held and held[n] != expected[n])
    if not extra and not other:
        return
    lines = [f"{n}: not approved, yet the index holds it" for n in extra]
    lines += [f"{n}: the index holds sha256 {held[n]}, approved {expected[n]}" for n in other]
    raise PackageIndexError(
        f"{index}: the release ({url}) is not exactly the approved files:\n  "
        + "\n  ".join(lines),
        hint="Someone else uploaded to this release, or a file was replaced. Check the "
        "project's release on the index and who can upload to it; a published file cannot be "
        "changed, so only a new version can fix it.",
    )


# --- upload failures, from the HTTP answer --------------------------------------------------


@dataclass(frozen=True)
class UploadFailure:
    """Why the index refused an upload: its status and its own words."""

    status: int
    message: str  # the reason phrase (PyPI's message) and the body's words (pypiserver's)
    transient: bool


_PRE = re.compile(r"<pre>(.*?)</pre>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
TOO_MANY_REQUESTS = 429


def read_failure(response: requests.Response) -> UploadFailure:
    """The index's answer to a refused upload, read from the response itself."""
    status, reason = response.status_code, (response.reason or "").strip()
    body = response.text or ""
    pre = _PRE.search(body)
    text = html.unescape(pre.group(1) if pre else _TAG.sub(" ", body))
    text = " ".join(text.split())
    parts = [reason]
    if text and text != "None" and text.lower() not in reason.lower():
        parts.append(text[:500])
    transient = status >= 500 or status == TOO_MANY_REQUESTS  # noqa: PLR2004 - server errors
    return UploadFailure(status, ": ".join(p for p in parts if p), transient=transient)


# --- trusted publishing --------------------------------------------------------------------


@dataclass(frozen=True)
class MintedToken:
    """A short-lived API token from trusted publishing; `expires_at` is Unix time."""

    token: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        return self.expires_at - now > margin


def _detect_credential(audience: str) -> str | None:
    import id as oidc_id  # noqa: PLC0415 - only trusted publishing needs it

    try:
        return oidc_id.detect_credential(audience)
    except oidc_id.AmbientCredentialError as exc:
        raise ConfigError(
            f"could not get an OIDC token from GitHub: {exc}",
            hint="Trusted publishing needs `permissions: id-token: write` on the publishing job "
            "(and does not work from inside a reusable workflow).",
        ) from exc


def mint_token(
    index: IndexConfig,
    *,
    session: requests.Session | None = None,
    detect: Callable[[str], str | None] = _detect_credential,
    now: Callable[[], float] = time.time,
    backoff: Backoff | None = None,
    timeout: float = 30.0,
) -> MintedToken:
    """Exchange the workflow's OIDC identity for a short-lived upload token; mask it at once."""
    http = session or requests.Session()
    retry = backoff or Backoff()
    audience = _retrying(f"GET {index.root_url}_/oidc/audience",
                         lambda: _audience(http, index, timeout), retry)
    jwt = detect(audience)
    if not jwt:
        raise ConfigError(
            "no OIDC identity: this is not GitHub Actions or the job may not request one",
            hint="Give the publishing job `permissions: id-token: write`, or configure an API "
            "token instead of trusted publishing.",
        )
    mask(jwt)
    response = _retrying(f"POST {index.root_url}_/oidc/mint-token",
                         lambda: _send(http, "POST", f"{index.root_url}_/oidc/mint-token",
                                       json={"token": jwt}, timeout=timeout), retry)
    minted = _minted_from(response, index, jwt, now())
    log.info("index.token-minted", index=index.name,
             expires_in_seconds=round(minted.expires_at - now()))
    return minted


def _audience(http: requests.Session, index: IndexConfig, timeout: float) -> str:
    url = f"{index.root_url}_/oidc/audience"
    response = _send(http, "GET", url, timeout=timeout)
    if response.status_code == 404:  # noqa: PLR2004 - "not found"
        raise PackageIndexError(
            f"{index.name} does not offer trusted publishing ({url} is 404)",
            hint="Use an API token for this index.",
        )
    audience = _json(response).get("audience") if response.ok else None
    if not isinstance(audience, str) or not audience:
        raise PackageIndexError(f"{url} answered {response.status_code} without an audience")
    return audience


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _minted_from(
    response: requests.Response, index: IndexConfig, jwt: str, now: float
) -> MintedToken:
    data = _json(response)
    token = data.get("token")
    if not response.ok or not isinstance(token, str) or not token:
        raise _mint_error(response.status_code, data, index, jwt)
    mask(token)
    expires = data.get("expires")
    expires_at = float(expires) if isinstance(expires, (int, float)) else now + TOKEN_LIFETIME
    return MintedToken(token, expires_at)


_MINT_HINTS = {
    "invalid-publisher": "No trusted publisher on {root} matches this workflow. Add one "
    "(project settings -> Publishing; for a project that does not exist yet, a pending publisher "
    "under your account's Publishing page) with exactly these values: {claims}.",
    "invalid-payload": "The index could not read the OIDC token; this is a bug, please report it.",
    "invalid-token": "The index refused the OIDC token (expired or wrong audience). Re-run the "
    "job; if it persists, check the job's `id-token: write` permission.",
    "not-enabled": "Trusted publishing is switched off on {root}; use an API token for now.",
}


def _mint_error(
    status: int, data: dict[str, Any], index: IndexConfig, jwt: str
) -> PackageIndexError:
    errors = data.get("errors")
    listed = errors if isinstance(errors, list) else []
    pairs = [(str(e.get("code", "")), str(e.get("description", "")))
             for e in listed if isinstance(e, dict)]
    said = "; ".join(f"{code}: {text}" for code, text in pairs) or f"HTTP {status}"
    hints = [_MINT_HINTS[code] for code, _ in pairs if code in _MINT_HINTS]
    hint = " ".join(dict.fromkeys(hints)) or _publisher_hint(index, jwt)
    return PackageIndexError(
        f"{index.name} refused to mint an upload token: {said}",
        hint=hint.format(root=index.root_url, claims=_claims_text(jwt)),
    )


def jwt_claims(jwt: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (for messages and the job's own identity only)."""
    try:
        payload = jwt.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _claims_text(jwt: str) -> str:
    claims = jwt_claims(jwt)
    workflow_file = _workflow_file(str(claims.get("job_workflow_ref")
                                       or claims.get("workflow_ref") or ""))
    values = {
        "repository": claims.get("repository", "?"),
        "workflow": workflow_file or "?",
        "environment": claims.get("environment") or "(none: leave it empty)",
    }
    return ", ".join(f"{key} {value}" for key, value in values.items())


def _publisher_hint(index: IndexConfig, jwt: str = "") -> str:
    tp = index.credentials if isinstance(index.credentials, TrustedPublishing) else None
    if jwt:
        values = _claims_text(jwt)
    elif tp is not None:
        values = (f"repository {tp.repository or '?'}, workflow {tp.workflow or '?'}, "
                  f"environment {tp.environment or '(none: leave it empty)'}")
    else:
        values = "this repository, workflow file and environment"
    return (f"Register a trusted publisher on {index.root_url} (project settings -> Publishing; "
            f"a pending publisher for a new project) with {values}.")


# --- the index client ----------------------------------------------------------------------


class Outcome(enum.StrEnum):
    """What `ensure` did."""

    ALREADY_PRESENT = "already-present"
    UPLOADED = "uploaded"


class PackageIndex:
    """A client of one package index. Build it with `open_index` (tests replace that)."""

    def __init__(
        self,
        config: IndexConfig,
        *,
        session: requests.Session | None = None,
        backoff: Backoff | None = None,
        minter: Callable[[IndexConfig], MintedToken] = mint_token,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        workers: int = UPLOAD_WORKERS,
    ) -> None:
        self.config = config
        self.workers = workers
        self._lock = threading.Lock()
        self._twine: Repository | None = None
        self._session = session or requests.Session()
        self._backoff = backoff or Backoff()
        self._minter = minter
        self._clock = clock
        self._timeout = timeout
        self._minted: MintedToken | None = None
        if isinstance(config.credentials, ApiToken):
            mask(config.credentials.token)

    # reading

    def files(self, project: str) -> dict[str, str]:
        """{filename: sha256} of every file the index holds for `project`; {} when unknown."""
        url = self.config.project_url(project)
        return _retrying(f"GET {url}", lambda: self._read(url), self._backoff)

    def _read(self, url: str) -> dict[str, str]:
        response = _send(self._session, "GET", url, timeout=self._timeout,
                         headers={"Accept": _ACCEPT, "Cache-Control": "max-age=0"})
        if response.status_code == 404:  # noqa: PLR2004 - "not found": no files yet
            return {}
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}",
                hint="Check the index URL and that the simple API is readable without login.",
            )
        return parse_simple(response.headers.get("Content-Type", ""), response.text)

    def release_opened(self, project: str, version: str) -> datetime | None:
        """When the index got the release's first file (the JSON API's upload times); None
        when it has no such release (or no JSON API, as a bare pypiserver)."""
        url = f"{self.config.root_url}pypi/{canonicalize_name(project)}/{version}/json"
        return _retrying(f"GET {url}", lambda: self._opened(url), self._backoff)

    def _opened(self, url: str) -> datetime | None:
        data = self._release_json(url)
        return first_upload(data) if data is not None else None

    def _release_json(self, url: str) -> dict[str, Any] | None:
        if not self.config.json_api:
            return None
        response = _send(self._session, "GET", url, timeout=self._timeout,
                         headers={"Accept": "application/json", "Cache-Control": "max-age=0"})
        if response.status_code == 404:  # noqa: PLR2004 - "not found": no such release
            return None
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}",
                hint="Check the index URL; its JSON API must be readable without login.",
            )
        return _json(response)

    def confirm_release(self, project: str, version: str, expected: Mapping[str, str]) -> bool:
        """The release on the index (its JSON API) holds exactly `expected` ({file: sha256}):
        nothing missing, nothing more, no other bytes. A file not listed yet is waited for (the
        API is cached); anything else stops. False: the index has no JSON API to ask."""
        if not self.config.json_api:
            return False
        url = f"{self.config.root_url}pypi/{canonicalize_name(project)}/{version}/json"

        def check() -> None:
            held = release_digests(self._release_json(url) or {})
            if set(expected) - set(held):
                raise _TransientError(f"{url} does not list {sorted(set(expected) - set(held))}")
            _same_release(self.config.name, url, expected, held)

        _retrying(f"confirming {project} {version} on {self.config.name}", check, self._backoff)
        log.info("index.release-confirmed", index=self.config.name, project=project,
                 version=version, files=len(expected))
        return True

    # uploading

    def upload(self, path: Path, *, attestations: Sequence[Path] = ()) -> None:
        """Upload one file through twine's API; retry transient failures; explain a refusal."""
        what = f"uploading {path.name} to {self.config.name}"
        package = copy.copy(dists.package(path))  # shared by both indexes: add to a copy
        if attestations and not isinstance(self.config.credentials, TrustedPublishing):
            # PyPI refuses the whole upload when attestations come with an API token.
            log.warning("index.attestations-not-sent", index=self.config.name, file=path.name,
                        why="PEP 740 attestations are accepted only with trusted publishing")
            attestations = ()
        if attestations:
            package.add_attestations([str(a) for a in attestations])
        _retrying(what, lambda: self._send_upload(package, path), self._backoff)
        log.info("index.upload", index=self.config.name, file=path.name)

    def _repository(self) -> Repository:
        with self._lock:
            if self._twine is None:
                self._twine = Repository(self.config.upload_url, None, None,
                                         disable_progress_bar=True)
            return self._twine

    def _send_upload(self, package: PackageFile, path: Path) -> None:
        repository = self._repository()
        repository.session.auth = self._login()
        try:
            response = repository.upload(package, max_redirects=1)  # one attempt: we retry
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _TransientError(f"POST {self.config.upload_url}: {type(exc).__name__}: "
                                  f"{exc}") from exc
        if response.ok and not response.is_redirect:
            return
        if response.is_redirect:
            raise PackageIndexError(
                f"{self.config.name}: the upload URL {self.config.upload_url} redirects to "
                f"{response.headers.get('Location', '?')}",
                hint="Set the repository URL to the address that takes uploads (for PyPI: "
                "https://upload.pypi.org/legacy/).",
            )
        failure = read_failure(response)
        if failure.transient:
            raise _TransientError(f"HTTP {failure.status}: {failure.message}")
        raise self._explain(failure, path)

    def _login(self) -> tuple[str, str]:
        credentials = self.config.credentials
        if isinstance(credentials, ApiToken):
            return credentials.username, credentials.token
        with self._lock:  # uploads run in several threads: mint once, not once each
            if self._minted is None or not self._minted.fresh(self._clock()):
                self._minted = self._minter(self.config)
                mask(self._minted.token)
            return "__token__", self._minted.token

    def _explain(self, failure: UploadFailure, path: Path) -> PackageIndexError:
        said = failure.message or "(no message)"
        head = f"{self.config.name} refused {path.name}"
        text = f"{head}: HTTP {failure.status}: {said}"
        lowered = said.lower()
        if "older than 14 days" in lowered:
            return PackageIndexError(text, hint=(
                "The index takes no new file for a release older than 14 days, not even the "
                "same bytes again. Release the new files as a new version (for example a "
                "post-release, 1.2.3.post1)."))
        if "has already been used" in lowered:
            return PackageIndexError(text, hint=(
                "This file name was used before and then deleted; an index never accepts it "
                "again, whatever its bytes. Make a new version (for example a post-release) "
                "and release that."))
        if "already exists" in lowered or failure.status == 409:  # noqa: PLR2004 - "conflict"
            return FileExistsOnIndexError(text, hint=(
                "Compare digests: if the index holds the same sha256 as the ledger the file is "
                "already published; otherwise the name is taken by other bytes and only a new "
                "version can fix it."))
        if "only one sdist" in lowered:
            return PackageIndexError(text, hint=(
                "This release already has a source distribution under another name; an index "
                "keeps one sdist per release. Make a new version to publish a different sdist."))
        return PackageIndexError(text, hint=self._hint_for(failure.status, path))

    def _hint_for(self, status: int, path: Path) -> str:
        project = project_of(path.name)
        if status in {401, 403}:
            if isinstance(self.config.credentials, TrustedPublishing):
                return (f"The minted token may not upload to {project}. "
                        + _publisher_hint(self.config))
            return (f"The API token is invalid, expired or scoped to another project. Create a "
                    f"token for {project} at {self.config.root_url}manage/account/token/ and "
                    f"store it as a secret, or switch to trusted publishing.")
        if status == 413:  # noqa: PLR2004 - "payload too large"
            return ("The file is larger than the index allows for this project; ask the index "
                    "for a higher limit.")
        return ("Read the index's message above: it is usually invalid metadata (check with "
                "`twine check`) or a project name you do not own.")

    # provenance (PEP 740's Integrity API)

    def provenance(self, path: Path) -> dict[str, Any] | None:
        """What the index holds as the file's provenance (attestation bundles, each with the
        publisher that uploaded it), or None when it has none."""
        project, version = _project_version(path)
        url = f"{self.config.root_url}integrity/{project}/{version}/{path.name}/provenance"
        return _retrying(f"GET {url}", lambda: self._read_provenance(url), self._backoff)

    def _read_provenance(self, url: str) -> dict[str, Any] | None:
        response = _send(self._session, "GET", url, timeout=self._timeout,
                         headers={"Accept": "application/vnd.pypi.integrity.v1+json"})
        if response.status_code == 404:  # noqa: PLR2004 - "not found": no provenance
            return None
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}")
        return _json(response)

    def confirm_provenance(self, path: Path) -> None:
        """After a trusted-publishing upload with an attestation: the index must hold
        provenance for the file from this workflow's trusted publisher."""
        publisher = self.config.credentials
        if not isinstance(publisher, TrustedPublishing):
            return
        held = self.provenance(path)
        bundles = held.get("attestation_bundles") if held else None
        if not isinstance(bundles, list) or not bundles:
            raise PackageIndexError(
                f"{self.config.name} holds no provenance for {path.name}, though its "
                "attestation was sent with the upload",
                hint="The file is published. Check the index's project page; if the "
                "attestation is missing there too, report it to the index.")
        expected = {"kind": "GitHub", "repository": publisher.repository,
                    "workflow": publisher.workflow}
        for bundle in bundles:
            found = bundle.get("publisher") if isinstance(bundle, dict) else None
            if not isinstance(found, dict) or any(
                    found.get(key) != value for key, value in expected.items() if value):
                raise PackageIndexError(
                    f"the provenance of {path.name} on {self.config.name} names the publisher "
                    f"{found}, not {expected}",
                    hint="Someone else's trusted publisher attested this file. Find out who "
                    "can publish to the project (project settings -> Publishing).")
        log.info("index.provenance-confirmed", index=self.config.name, file=path.name,
                 publisher=f"{publisher.repository} {publisher.workflow}")

    # idempotency

    def ensure(
        self, path: Path, sha256: str, *, attestations: Sequence[Path] = ()
    ) -> Outcome:
        """Make the index hold exactly these bytes under this name, uploading at most once."""
        held = self.files(project_of(path.name))
        (outcome,) = self.publish([Dist(path, sha256, tuple(attestations))], held=held)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def publish(self, batch: Sequence[Dist], *,
                held: Mapping[str, str]) -> list[Outcome | ReleaseError]:
        """Make the index hold exactly these bytes under these names: per file, what was done
        or why not. `held`: what the index held just before (`files`). The files it does not
        hold are uploaded `workers` at a time, then the index is read once to confirm them."""
        where = f"{self.config.name} ({self.config.simple_url})"
        outcomes: list[Outcome | ReleaseError] = []
        for dist in batch:
            present = held.get(dist.path.name)
            try:
                if present is not None:
                    _require_same(dist.path.name, dist.sha256, present, where)
                    log.info("index.already-present", index=self.config.name,
                             file=dist.path.name)
                outcomes.append(Outcome.ALREADY_PRESENT)
            except ReleaseError as refused:
                outcomes.append(refused)
        todo = [n for n, d in enumerate(batch) if d.path.name not in held]
        sent = run_bounded(lambda n: self._upload_checked(batch[n]), todo,
                           workers=self.workers)
        landed = []
        for number, result in zip(todo, sent, strict=True):
            outcomes[number] = result if isinstance(result, ReleaseError) else Outcome.UPLOADED
            if not isinstance(result, ReleaseError):
                landed.append(batch[number])
        for dist, problem in self._confirm(landed, where).items():
            outcomes[batch.index(dist)] = problem
        return outcomes

    def _upload_checked(self, dist: Dist) -> None:
        local = sha256_file(dist.path)
        if local != dist.sha256:
            raise DigestMismatchError(dist.path.name, dist.sha256, local,
                                      where="the local file")
        try:
            self.upload(dist.path, attestations=dist.attestations)
        except FileExistsOnIndexError:
            log.info("index.exists-after-upload", index=self.config.name, file=dist.path.name)

    def _confirm(self, landed: Sequence[Dist],
                 where: str) -> dict[Dist, ReleaseError]:
        """Read the index once (again while some are not listed yet): each upload is there
        with its bytes. The uploads it contradicts, with why."""
        if not landed:
            return {}
        projects = sorted({project_of(d.path.name) for d in landed})
        problems: dict[Dist, ReleaseError] = {}

        def check() -> None:
            held: dict[str, str] = {}
            for project in projects:
                held.update(self.files(project))
            missing = [d.path.name for d in landed if d.path.name not in held]
            if missing:
                raise _TransientError(f"not listed on {where} yet: {', '.join(missing)}")
            for dist in landed:
                try:
                    _require_same(dist.path.name, dist.sha256, held[dist.path.name], where,
                                  after_upload=True)
                    log.info("index.uploaded", index=self.config.name, file=dist.path.name,
                             sha256=dist.sha256)
                except ReleaseError as problem:
                    problems[dist] = problem

        _retrying(f"confirming {len(landed)} upload(s) on {self.config.name}", check,
                  self._backoff)
        return problems


@dataclass(frozen=True, slots=True)
class Dist:
    """One file of a batch: where it is, the bytes it must be, its PEP 740 attestations."""

    path: Path
    sha256: str
    attestations: tuple[Path, ...] = ()


def _require_same(name: str, sha256: str, held: str, where: str, *,
                  after_upload: bool = False) -> None:
    if not held:
        raise PackageIndexError(
            f"{where} lists {name} without a sha256, so its bytes cannot be compared",
            hint="Use an index whose simple API publishes sha256 digests.",
        )
    if held != sha256:
        hint = ("Someone else uploaded different bytes under this name while we uploaded. "
                "Only a new version can fix it.") if after_upload else ""
        raise DigestMismatchError(name, sha256, held, where=where, hint=hint)


def _project_version(path: Path) -> tuple[str, str]:
    project_of(path.name)  # a clear error for a name that is neither
    if path.name.endswith(".whl"):
        name, version, *_ = parse_wheel_filename(path.name)
    else:
        name, version = parse_sdist_filename(path.name)
    return str(name), str(version)


def project_of(name: str) -> str:
    """The (normalised) project a dist file name belongs to: `Sample_Pure-1.0.tar.gz` -> ..."""
    try:
        if name.endswith(".whl"):
            return str(parse_wheel_filename(name)[0])
        return str(parse_sdist_filename(name)[0])
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise PackageIndexError(
            f"{name} is not a wheel or sdist file name",
            hint="Only .whl and .tar.gz distributions built by the release can be uploaded.",
        ) from exc


def open_index(config: IndexConfig, **options: Any) -> PackageIndex:
    """The factory the action uses; tests may replace it with one returning a double."""
    return PackageIndex(config, **options)

