"""GitHub: the release of a tag as the event store and the artifact store, through PyGithub.

The API base is `GITHUB_API_URL` (GitHub Enterprise included); nothing here names github.com.
Upload URLs and download redirects are taken from what the API answers.

Releases. Drafts are invisible to get-release-by-tag, so a tag's release is found by listing
releases. Once a draft exists it is addressed by its id. Two or more drafts for one tag stop
the run (`DuplicateDraftsError`, with links); none is ever picked silently. A draft that this
run has just created and that lost a creation race to another run's draft (a lower id) is
deleted again at once; it is empty.

The log. A single current snapshot `release-state.<NNNNNN>.jsonl` (see `base.py`). An append
uploads the next name, then lists the assets once and confirms that (1) the asset under that
name is ours, complete, with our digest and (2) no complete snapshot with a higher number
exists (a writer that loaded a stale log can find its name free because the snapshot it should
have collided with was already replaced: it must not fork the log). Only then are older
snapshots deleted. Otherwise `LogConflictError`: reload, re-plan, retry.

Cut-off uploads (`starter` assets) and the rule chosen for them:
- a starter under a name that our own interrupted attempt was writing is ours: removed at once
  and the upload retried;
- a file's starter found before uploading is removed and the file uploaded;
- a snapshot's starter that we did not create is removed only once its `updated_at` is older
  than `starter_grace` (default 120 s; a snapshot is at most a few hundred KiB); a younger one
  raises `LogConflictError` (another writer may still be uploading it).
Safety does not rest on the grace period: success is decided by the confirmation above, so
removing a live writer's starter can only make that writer retry, never lose an event.
Readers ignore starters and never delete anything.

Retries. PyGithub runs with `retry=None`: its default retries a POST after a dropped
connection (two drafts) and retries 5xx without waiting. Here reads, PATCH and DELETE are
retried with exponential backoff and jitter on 5xx, timeouts and dropped connections; the
writes that are not idempotent (create a draft, upload an asset) are retried only after
listing what exists. Primary and secondary rate limits are waited out (`retry-after`,
`x-ratelimit-reset`), logged with how long and why.

Pacing and concurrency (`GitHubTuning`). A PyGithub `Requester` shares one connection object
that is not thread-safe, so each worker thread has its own client, and PyGithub's own per-client
throttle (0.25 s per request, 1 s per write, per client) is off. One pacer shared by all threads
takes its place (`action.pacing`): at most 80 writes in any minute and 500 in any hour, GitHub's
documented limits for content-creating requests; a batch of uploads is planned against the
hourly budget first, and waits on it are logged. Reads are not paced: the primary budget is
read from the answers and waited out. A pool of `concurrency` (4) workers moves several files
at a time: 20 files of 5 MiB to the double with 50 ms latency took 1.67 s one at a time, 0.73 s
with 4 workers and 0.56 s with 8 (benchmarks/bench_assets.py); 4 takes most of the gain while
keeping a 2-core runner's hashing and GitHub's concurrency budget (100) comfortable.

Streaming. Uploads send the open file (requests streams it with a Content-Length). Downloads
do not go through PyGithub: its `getStream` does not pass `stream=True` to requests and so
reads a whole asset into memory; a requests session per thread streams the bytes to disk in
1 MiB blocks, hashing as it goes.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import io
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ParamSpec, Self, TypeVar
from urllib.parse import quote

import github
import requests
from github import GithubException

from action.digests import sha256_file
from action.errors import (
    ConfigError,
    DigestMismatchError,
    DuplicateDraftsError,
    GitHubError,
    ImmutableReleaseError,
    LogConflictError,
    LogError,
    ReleaseError,
    ReleaseNotFoundError,
)
from action.logs import get_logger, mask
from action.pacing import Throttling, WritePacer
from action.retry import Backoff
from action.stores.base import (
    SNAPSHOT,
    AssetInfo,
    ReleaseInfo,
    StoredLog,
    backfill_name,
    checked_asset_name,
    snapshot_name,
    snapshot_seq,
)
from action.tags import TagInfo
from statemachine.log import parse

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "Approval",
    "GitHubStore",
    "GitHubTuning",
    "backfill_name",
    "open_github_store",
]

log = get_logger("action.stores.github")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

OCTET = "application/octet-stream"
BLOCK = 1 << 20
API_VERSION = "2022-11-28"
USER_AGENT = "release-action"
COLLISIONS = 4  # rounds of "422 already_exists -> look -> retry" before giving up
VANISHED_ROUNDS = 3  # re-listings when a snapshot disappears between listing and download
TAG_DEPTH = 5  # annotated tags pointing at annotated tags, peeled at most this deep
HTTP_ERROR = 400
HTTP_NOT_FOUND = 404
HTTP_UNPROCESSABLE = 422
RATE_STATUSES = (403, 429)
SERVER_ERROR = 500
SECONDARY_DEFAULT_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GitHubTuning:
    """How hard the store pushes GitHub. Production defaults; tests make them fast."""

    concurrency: int = 4
    writes_per_minute: int | None = 80  # GitHub's limits for content-creating requests
    writes_per_hour: int | None = 500
    timeout: int = 30
    attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_rate_limit_wait: float = 900.0
    starter_grace: float = 120.0
    per_page: int = 100

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.attempts < 1:
            raise ConfigError("GitHub tuning: concurrency and attempts must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    """One entry of a run's environment-review log."""

    login: str
    state: str  # approved, rejected, pending
    comment: str
    environments: tuple[str, ...]
    # GitHub's review log has no time of its own; this is the newest `updated_at` of the
    # reviewed environments, None when absent. Record the time you observed it as well.
    at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Remote:
    """An asset as listed, with what the protocol's AssetInfo leaves out."""

    info: AssetInfo
    updated_at: datetime
    url: str


@dataclass(frozen=True, kw_only=True)
class _Upload:
    name: str
    size: int
    sha256: str
    snapshot: bool
    open: Callable[[], BinaryIO]

    @classmethod
    def of_file(cls, path: Path, name: str) -> _Upload:
        return cls(name=name, size=path.stat().st_size, sha256=sha256_file(path),
                   snapshot=SNAPSHOT.fullmatch(name) is not None, open=lambda: path.open("rb"))

    @classmethod
    def of_bytes(cls, name: str, data: bytes) -> _Upload:
        return cls(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   snapshot=True, open=lambda: io.BytesIO(data))


class _HttpError(Exception):
    """A non-2xx answer to a request made without PyGithub (downloads)."""

    def __init__(self, status: int, headers: Mapping[str, str], message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.message = message


class _TruncatedError(Exception):
    """Downloaded bytes do not match the asset's size or digest (a cut stream)."""


class _VanishedError(Exception):
    """An asset listed a moment ago is gone (a newer snapshot replaced it)."""


RETRYABLE = (GithubException, _HttpError, requests.RequestException, _TruncatedError, OSError)


# --- failures: which ones pass, and how long to wait --------------------------------------


def _status(exc: BaseException) -> tuple[int, dict[str, str], str] | None:
    """(status, lower-case headers, GitHub's message) of an HTTP failure, else None."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        return exc.status, headers, str(data.get("message", ""))
    if isinstance(exc, _HttpError):
        return exc.status, exc.headers, exc.message
    return None


def _rate_limit_wait(exc: BaseException, now: float) -> tuple[float, str] | None:
    """Seconds to wait and why, when `exc` is GitHub's primary or secondary rate limit."""
    answered = _status(exc)
    if answered is None or answered[0] not in RATE_STATUSES:
        return None
    _status_code, headers, message = answered
    if "retry-after" in headers:
        return float(headers["retry-after"]), "secondary rate limit (retry-after)"
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        wait = max(float(headers["x-ratelimit-reset"]) - now, 0.0) + 1.0
        return wait, "primary rate limit (x-ratelimit-reset)"
    if "secondary rate limit" in message.lower():
        return SECONDARY_DEFAULT_WAIT, "secondary rate limit (no retry-after: one minute)"
    return None


def _transient(exc: BaseException) -> bool:
    answered = _status(exc)
    if answered is not None:
        return answered[0] >= SERVER_ERROR
    return isinstance(exc, requests.RequestException | _TruncatedError | ConnectionError)


def _describe(exc: BaseException) -> str:
    answered = _status(exc)
    if answered is not None:
        return f"HTTP {answered[0]} {answered[2]}".strip()
    return f"{type(exc).__name__}: {exc}"


def _already_exists(exc: GithubException) -> bool:
    errors = exc.data.get("errors", []) if isinstance(exc.data, dict) else []
    return exc.status == HTTP_UNPROCESSABLE and any(
        isinstance(e, dict) and e.get("code") == "already_exists" for e in errors
    )


def _immutable(exc: GithubException) -> bool:
    answered = _status(exc)
    return answered is not None and answered[0] == HTTP_UNPROCESSABLE and (
        "immutable" in answered[2].lower()
    )


def _as_release_error(what: str, exc: BaseException) -> ReleaseError:
    status, _headers, message = _status(exc) or (0, {}, str(exc))
    if status == 401:  # noqa: PLR2004 - unauthorised
        return GitHubError(f"GitHub refused the token (401 {message}) during {what}",
                           hint="Pass a valid token in the `github-token` input "
                           "(default: the workflow's GITHUB_TOKEN).")
    if status == 403:  # noqa: PLR2004 - forbidden
        return GitHubError(f"GitHub forbade {what} (403 {message})",
                           hint="The token needs `contents: write` for releases and "
                           "`actions: read` for approvals; set them under `permissions:`.")
    return GitHubError(f"GitHub answered {status} {message} to {what}",
                       hint="Nothing was changed by this call. Check the repository name and "
                       "GITHUB_API_URL; re-run the job if GitHub was having trouble.")


def _translated(func: Callable[P, R]) -> Callable[P, R]:
    """Public methods turn GitHub's leftover refusals into the project's error family."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (GithubException, _HttpError) as exc:
            raise _as_release_error(func.__name__.replace("_", " "), exc) from exc

    return wrapper


# --- pacing and retrying --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Retrier:
    backoff: Backoff
    max_rate_limit_wait: float

    def run(
        self, what: str, attempt: Callable[[], T], *, settle: Callable[[], T | None] | None = None
    ) -> T:
        """`attempt` until it succeeds. After a failure that may have been applied (a write
        whose answer was lost), `settle` looks at what exists and returns the result if the
        write did land; None means: try again."""
        failures, waited = 0, 0.0
        while True:
            try:
                return attempt()
            except RETRYABLE as exc:
                limit = _rate_limit_wait(exc, time.time())
                if limit is not None:
                    waited = self._wait_out(what, limit, waited, exc)
                    continue
                if not _transient(exc):
                    raise
                failures += 1
                self._back_off(what, exc, failures)
            if settle is not None and (landed := settle()) is not None:
                log.info("github.write_landed", what=what)
                return landed

    def _wait_out(
        self, what: str, limit: tuple[float, str], waited: float, exc: BaseException
    ) -> float:
        seconds, why = limit
        if waited + seconds > self.max_rate_limit_wait:
            raise GitHubError(
                f"{what}: GitHub's {why} would keep us waiting {seconds:.0f} s more "
                f"(already waited {waited:.0f} s)",
                hint="Another workflow may be using up the token's budget. Re-run the job "
                "later; nothing that succeeded is repeated.",
            ) from exc
        log.warning("github.rate_limited", what=what, why=why, wait_seconds=round(seconds, 1))
        self.backoff.sleep(seconds)
        return waited + seconds

    def _back_off(self, what: str, exc: BaseException, failures: int) -> None:
        if failures >= self.backoff.attempts:
            raise GitHubError(
                f"{what} failed {failures} times; the last time: {_describe(exc)}",
                hint="GitHub seems unreachable or failing. Re-run the job later; nothing "
                "that succeeded is repeated.",
            ) from exc
        delay = self.backoff.delay(failures - 1)
        log.warning("github.retry", what=what, reason=_describe(exc), attempt=failures,
                    wait_seconds=round(delay, 2))
        self.backoff.sleep(delay)


# --- JSON -> records ------------------------------------------------------------------------


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _release(data: Mapping[str, Any]) -> ReleaseInfo:
    return ReleaseInfo(
        release_id=int(data["id"]),
        tag=str(data["tag_name"]),
        draft=bool(data["draft"]),
        immutable=bool(data.get("immutable") or False),
        url=str(data["html_url"]),
        body=str(data.get("body") or ""),
    )


def _remote(data: Mapping[str, Any], release_id: int) -> _Remote:
    digest = data.get("digest")
    sha = digest.removeprefix("sha256:") if isinstance(digest, str) else None
    info = AssetInfo(
        asset_id=int(data["id"]),
        name=checked_asset_name(str(data["name"]), release=str(release_id)),
        size=int(data["size"]),
        sha256=sha if digest and digest.startswith("sha256:") else None,
        complete=data.get("state") == "uploaded",
    )
    return _Remote(info=info, updated_at=_timestamp(str(data["updated_at"])),
                   url=str(data.get("browser_download_url", "")))


def _snapshots(remotes: Iterable[_Remote]) -> list[tuple[int, _Remote]]:
    """Snapshot assets, newest (highest number) first."""
    found = [(snapshot_seq(r.info.name), r) for r in remotes]
    return sorted(((seq, r) for seq, r in found if seq is not None),
                  key=lambda pair: pair[0], reverse=True)


def _check_snapshot(data: bytes, seq: int, info: AssetInfo) -> None:
    """The chain validates and holds at least the events the name promises."""
    events = parse(data)
    if len(events) < seq:
        raise LogError(len(events) + 1, f"{info.name} should hold events 1..{seq} at least, "
                       f"but ends after {len(events)}")


def _duplicates_error(tag: str, drafts: Sequence[Mapping[str, Any]]) -> DuplicateDraftsError:
    lines = [
        f"  - id {d['id']}, created {d['created_at']}, {len(d.get('assets') or [])} assets"
        f"{', holds the state log' if _has_log(d) else ''}: {d['html_url']}"
        for d in sorted(drafts, key=lambda d: int(d["id"]))
    ]
    keep = next((d for d in sorted(drafts, key=lambda d: int(d["id"])) if _has_log(d)), None)
    advice = (f"Keep the draft that holds the state log (id {keep['id']}) and delete the others"
              if keep else "Keep the oldest draft (lowest id) and delete the others")
    return DuplicateDraftsError(
        f"{len(drafts)} draft releases claim tag {tag}; none is picked silently:\n"
        + "\n".join(lines),
        hint=f"{advice} on the releases page, then re-run the job.",
    )


def _has_log(release: Mapping[str, Any]) -> bool:
    return any(SNAPSHOT.fullmatch(str(a.get("name", ""))) for a in release.get("assets") or [])


# --- the store ------------------------------------------------------------------------------


class _Local(threading.local):
    client: github.Github | None = None
    session: requests.Session | None = None


class GitHubStore:
    """The GitHub release of a tag: its log and its files (see the module's docstring)."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        repository: str,
        tuning: GitHubTuning | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.tuning = tuning or GitHubTuning()
        self.repository = repository
        self._api = api_url.rstrip("/")
        self._token = token
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pacer = WritePacer(self.tuning.writes_per_minute, self.tuning.writes_per_hour,
                                 sleep=sleep)
        backoff = Backoff(attempts=self.tuning.attempts, base=self.tuning.backoff_base,
                          cap=self.tuning.backoff_cap, sleep=sleep, jitter=jitter)
        self._retrier = _Retrier(backoff=backoff,
                                 max_rate_limit_wait=self.tuning.max_rate_limit_wait)
        self._local = _Local()
        self._opened: list[github.Github | requests.Session] = []
        self._lock = threading.Lock()
        self._upload_urls: dict[int, str] = {}
        self._listing: dict[int, dict[int, _Remote]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.tuning.concurrency, thread_name_prefix="github-transfer"
        )

    # -- lifecycle -----------------------------------------------------------------------

    def throttled(self) -> Throttling:
        """How long this store's writes waited for GitHub's limits."""
        return self._pacer.throttled()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            opened, self._opened = self._opened, []
        for item in opened:
            item.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    @property
    def _repo(self) -> str:
        return f"/repos/{self.repository}"

    def _requester(self) -> Any:
        """This thread's PyGithub requester (a requester's connection is not thread-safe)."""
        if self._local.client is None:
            client = github.Github(
                base_url=self._api,
                auth=github.Auth.Token(self._token),
                timeout=self.tuning.timeout,
                per_page=self.tuning.per_page,
                retry=None,  # our own policy: see the module's docstring
                seconds_between_requests=None,  # paced across threads by `_Pacer`
                seconds_between_writes=None,
            )
            self._remember(client)
            self._local.client = client
        return self._local.client.requester

    def _session(self) -> requests.Session:
        """This thread's session for streamed downloads."""
        if self._local.session is None:
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {self._token}",
                                    "User-Agent": USER_AGENT,
                                    "X-GitHub-Api-Version": API_VERSION})
            self._remember(session)
            self._local.session = session
        return self._local.session

    def _remember(self, item: github.Github | requests.Session) -> None:
        with self._lock:
            self._opened.append(item)

    def _call(self, verb: str, url: str, *, params: dict[str, Any] | None = None,
              body: Any = None) -> tuple[dict[str, Any], Any]:
        """One API request, paced; no retry."""
        if verb != "GET":
            self._pacer.wait()
        headers, data = self._requester().requestJsonAndCheck(verb, url, parameters=params,
                                                              input=body)
        return dict(headers), data

    def _get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._retrier.run(f"GET {url}", lambda: self._call("GET", url, params=params))[1]

    def _get_all(self, url: str) -> list[dict[str, Any]]:
        """Every page of a list, following the Link header."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] | None = {"per_page": self.tuning.per_page}
        next_url: str | None = url
        while next_url is not None:
            headers, page = self._page(next_url, params)
            items += page
            next_url, params = _next_link(headers.get("link", "")), None
        return items

    def _page(self, url: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
        return self._retrier.run(f"GET {url}", lambda: self._call("GET", url, params=params))

    # -- releases ------------------------------------------------------------------------

    def _releases(self) -> list[dict[str, Any]]:
        releases = self._get_all(f"{self._repo}/releases")
        for data in releases:
            self._note(data)
        return releases

    def _note(self, data: Mapping[str, Any]) -> ReleaseInfo:
        self._upload_urls[int(data["id"])] = str(data["upload_url"]).split("{", 1)[0]
        return _release(data)

    def _drafts_for(self, tag: str, *, name: str | None = None) -> list[dict[str, Any]]:
        """The drafts of `tag` (the backfill drafts only, with `name`; never them, without)."""
        return [
            r for r in self._releases()
            if r["draft"] and r["tag_name"] == tag
            and ((r.get("name") == name) if name else not _is_backfill(r))
        ]

    @_translated
    def find_release(self, tag: str) -> ReleaseInfo | None:
        """The published release of `tag`, else its single draft; several drafts: raise."""
        releases = self._releases()
        published = [r for r in releases if not r["draft"] and r["tag_name"] == tag]
        if published:
            return _release(published[0])
        drafts = [r for r in releases
                  if r["draft"] and r["tag_name"] == tag and not _is_backfill(r)]
        if len(drafts) > 1:
            raise _duplicates_error(tag, drafts)
        return _release(drafts[0]) if drafts else None

    @_translated
    def get_release(self, release_id: int) -> ReleaseInfo:
        try:
            return self._note(self._get(f"{self._repo}/releases/{release_id}"))
        except GithubException as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            raise ReleaseNotFoundError(
                f"release {release_id} of {self.repository} does not exist (any more)",
                hint="It was deleted. Delete the state log's record of it by starting over "
                "with a new draft, or restore the release.",
            ) from exc

    @_translated
    def create_draft(self, tag: str, *, commit: str, name: str, body: str) -> ReleaseInfo:
        """Create the draft of `tag` at `commit`: never two (a lost answer is looked for
        before retrying; a race with another run is settled by the lower id)."""
        created = self._create(tag, commit=commit, name=name, body=body, backfill=False)
        return self._settle_race(tag, created, name=None)

    @_translated
    def find_backfill_draft(self, tag: str, lane: str) -> ReleaseInfo | None:
        existing = self._drafts_for(tag, name=backfill_name(tag, lane))
        if len(existing) > 1:
            raise _duplicates_error(f"{tag} (backfill {lane})", existing)
        return _release(existing[0]) if existing else None

    @_translated
    def ensure_backfill_draft(self, tag: str, lane: str, *, commit: str, body: str) -> ReleaseInfo:
        """The separate draft `<tag> backfill <lane>` that takes a backfill lane's files and
        log when the release is published and immutable. It stays a draft."""
        name = backfill_name(tag, lane)
        existing = self._drafts_for(tag, name=name)
        if len(existing) > 1:
            raise _duplicates_error(f"{tag} (backfill {lane})", existing)
        if existing:
            return _release(existing[0])
        created = self._create(tag, commit=commit, name=name, body=body, backfill=True)
        return self._settle_race(tag, created, name=name)

    def _create(self, tag: str, *, commit: str, name: str, body: str,
                backfill: bool) -> ReleaseInfo:
        payload = {"tag_name": tag, "target_commitish": commit, "name": name, "body": body,
                   "draft": True}

        def post() -> ReleaseInfo:
            created = self._note(self._call("POST", f"{self._repo}/releases", body=payload)[1])
            with self._lock:
                self._listing[created.release_id] = {}  # a new release has no assets
            return created

        def settle() -> ReleaseInfo | None:
            drafts = self._drafts_for(tag, name=name if backfill else None)
            if len(drafts) > 1:
                raise _duplicates_error(tag, drafts)
            return _release(drafts[0]) if drafts else None

        created = self._retrier.run(f"create the draft of {tag}", post, settle=settle)
        log.info("github.draft_created", tag=tag, release_id=created.release_id, url=created.url)
        return created

    def _settle_race(self, tag: str, created: ReleaseInfo, *, name: str | None) -> ReleaseInfo:
        drafts = self._drafts_for(tag, name=name)
        if len(drafts) <= 1:
            return created
        winner = min(drafts, key=lambda d: int(d["id"]))
        if int(winner["id"]) == created.release_id:
            return created  # the other run deletes its own
        self._delete_release(created.release_id)
        log.warning("github.draft_race_lost", tag=tag, deleted=created.release_id,
                    kept=int(winner["id"]))
        if len(drafts) > 2:  # noqa: PLR2004 - ours and one other is a race; more is not
            raise _duplicates_error(tag, [d for d in drafts
                                          if int(d["id"]) != created.release_id])
        return _release(winner)

    def _delete_release(self, release_id: int) -> None:
        url = f"{self._repo}/releases/{release_id}"
        try:
            self._retrier.run(f"DELETE {url}", lambda: self._call("DELETE", url))
        except GithubException as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise

    @_translated
    def update_body(self, release_id: int, body: str) -> None:
        self._patch(release_id, {"body": body})

    @_translated
    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        """Draft -> published (with `body`, in the same request); an already published
        release is returned unchanged. `read`: the release as the caller has just read it."""
        current = read if read is not None and read.release_id == release_id else \
            self.get_release(release_id)
        if not current.draft:
            return current
        fields: dict[str, Any] = {"draft": False} if body is None else {"draft": False,
                                                                          "body": body}
        published = self._patch(release_id, fields)
        log.info("github.published", tag=published.tag, url=published.url,
                 immutable=published.immutable)
        return published

    def _patch(self, release_id: int, fields: dict[str, Any]) -> ReleaseInfo:
        url = f"{self._repo}/releases/{release_id}"  # PATCH sets fields: safe to repeat
        answer = self._retrier.run(f"PATCH {url}", lambda: self._call("PATCH", url, body=fields))
        return self._note(answer[1])

    def _upload_url(self, release_id: int) -> str:
        if release_id not in self._upload_urls:
            self.get_release(release_id)
        return self._upload_urls[release_id]

    # -- assets --------------------------------------------------------------------------

    def _remotes(self, release_id: int) -> list[_Remote]:
        """The release's assets, listed now (and kept as the listing `list_assets` answers)."""
        remotes = [_remote(a, release_id)
                   for a in self._get_all(f"{self._repo}/releases/{release_id}/assets")]
        with self._lock:
            self._listing[release_id] = {r.info.asset_id: r for r in remotes}
        return remotes

    def _known_remotes(self, release_id: int) -> list[_Remote]:
        """The last listing, kept up to date with this store's own uploads and deletions."""
        with self._lock:
            known = self._listing.get(release_id)
            if known is not None:
                return list(known.values())
        return self._remotes(release_id)

    def _noted(self, release_id: int, *, added: _Remote | None = None,
               removed: int | None = None) -> None:
        with self._lock:
            known = self._listing.get(release_id)
            if known is None:
                return
            if added is not None:
                known[added.info.asset_id] = added
            if removed is not None:
                known.pop(removed, None)

    def _find(self, release_id: int, name: str) -> _Remote | None:
        return next((r for r in self._remotes(release_id) if r.info.name == name), None)

    @_translated
    def list_assets(self, release_id: int) -> list[AssetInfo]:
        """The assets as last listed (when the log was read or stored), with this store's own
        uploads and deletions since: a listing costs no request while nothing else is known
        to have changed. Bytes are always checked against the ledger, never the listing."""
        return [r.info for r in self._known_remotes(release_id)]

    @_translated
    def upload_asset(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        """Attach a file (streamed). The same bytes already there: nothing is uploaded; the
        same name with other bytes: DigestMismatchError (LogConflictError for a snapshot)."""
        upload = _Upload.of_file(path, name)
        return self._put(release_id, upload, self._find(release_id, name))

    @_translated
    def upload_assets(self, release_id: int, paths: Sequence[Path]) -> list[AssetInfo]:
        """Attach files under their own names, `concurrency` at a time, after one listing."""
        results = self.attach_files(release_id, paths)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [r for r in results if not isinstance(r, Exception)]

    @_translated
    def attach_files(self, release_id: int,
                     paths: Sequence[Path]) -> list[AssetInfo | ReleaseError]:
        """As `upload_assets`, but each file's own outcome: its asset, or why it failed."""
        if not paths:
            return []
        uploads = list(self._pool.map(lambda p: _Upload.of_file(p, p.name), paths))
        _refuse_repeated_names(uploads)
        self._pacer.plan(len(uploads))
        existing = {r.info.name: r for r in self._known_remotes(release_id)}
        self._upload_url(release_id)
        futures = [self._pool.submit(self._put_translated, release_id, u,
                                     existing.get(u.name)) for u in uploads]
        concurrent.futures.wait(futures)
        return [f.result() for f in futures]

    def _put_translated(self, release_id: int, upload: _Upload,
                        found: _Remote | None) -> AssetInfo | ReleaseError:
        try:
            return self._put(release_id, upload, found)
        except ReleaseError as problem:
            return problem
        except (GithubException, _HttpError) as exc:
            return _as_release_error(f"upload {upload.name}", exc)

    def _put(self, release_id: int, upload: _Upload, found: _Remote | None) -> AssetInfo:
        """Upload unless the bytes are there; never repeat a lost upload blindly."""
        for _ in range(COLLISIONS):
            if found is not None:
                present = self._judge(release_id, upload, found, ours=False)
                if present is not None:
                    return present
            try:
                return self._retrier.run(
                    f"upload {upload.name}",
                    lambda: self._post(release_id, upload),
                    settle=lambda: self._settle_upload(release_id, upload),
                )
            except GithubException as exc:
                if _immutable(exc):
                    raise _immutable_error(release_id, upload.name) from exc
                if not _already_exists(exc):
                    raise
                found = self._find(release_id, upload.name)
        raise GitHubError(f"{upload.name}: every upload collided with another of that name",
                          hint="Another run is uploading the same files. Let it finish, "
                          "then re-run this job.")

    def _post(self, release_id: int, upload: _Upload) -> AssetInfo:
        url = self._upload_url(release_id)
        headers = {"Content-Type": OCTET, "Content-Length": str(upload.size)}
        self._pacer.wait()
        with upload.open() as body:
            _headers, data = self._requester().requestMemoryBlobAndCheck(
                "POST", url, {"name": upload.name}, headers, body
            )
        log.info("github.asset_uploaded", name=upload.name, size=upload.size)
        uploaded = _remote(data, release_id)
        self._noted(release_id, added=uploaded)
        return uploaded.info

    def _settle_upload(self, release_id: int, upload: _Upload) -> AssetInfo | None:
        """After our upload failed mid-way: did it land? A starter under its name is ours."""
        found = self._find(release_id, upload.name)
        return None if found is None else self._judge(release_id, upload, found, ours=True)

    def _judge(self, release_id: int, upload: _Upload, found: _Remote, *,
               ours: bool) -> AssetInfo | None:
        """An asset holds the name: the same bytes (return it), other bytes (raise), or a
        cut-off upload (remove it when the rule allows, return None: upload)."""
        if found.info.complete:
            actual = self._remote_sha256(found.info)
            if actual == upload.sha256 and found.info.size == upload.size:
                log.info("github.asset_present", name=upload.name, sha256=actual)
                return found.info
            raise self._taken(upload, found, actual)
        age = (self._clock() - found.updated_at).total_seconds()
        if ours or not upload.snapshot or age >= self.tuning.starter_grace:
            self._delete(release_id, found.info)
            log.warning("github.starter_removed", name=upload.name, age_seconds=round(age),
                        why="our own cut-off upload" if ours else "a cut-off upload")
            return None
        raise LogConflictError(
            f"{upload.name} is held by an upload that has not finished (started {age:.0f} s "
            "ago): another run may be appending to the log right now",
            hint=f"Reload, re-plan, retry. A cut-off upload is removed once it is older than "
            f"{self.tuning.starter_grace:.0f} s; if this persists, re-run the job later.",
        )

    def _taken(self, upload: _Upload, found: _Remote, actual: str) -> ReleaseError:
        if upload.snapshot:
            return LogConflictError(
                f"another run appended {upload.name} first (sha256 {actual})",
                hint="Reload the log, re-plan and retry.",
            )
        return DigestMismatchError(
            upload.name, upload.sha256, actual,
            where=f"the asset already on the release ({found.url or found.info.asset_id})",
            hint="Nothing was uploaded. The release holds other bytes under this name: if "
            "they are wrong, delete that asset and re-run; if the local file was rebuilt, "
            "use the recorded bytes (never rebuild what was already built).",
        )

    def _remote_sha256(self, info: AssetInfo) -> str:
        """GitHub's digest; when it is null, download and hash (streamed)."""
        if info.sha256 is not None:
            return info.sha256
        digest = hashlib.sha256()
        self._retrier.run(f"hash {info.name}", lambda: self._stream(info, digest.update,
                                                                   digest_check=False))
        log.info("github.digest_fallback", name=info.name, sha256=digest.hexdigest())
        return digest.hexdigest()

    @_translated
    def delete_asset(self, release_id: int, asset: AssetInfo) -> None:
        self._delete(release_id, asset)

    def _delete(self, release_id: int, asset: AssetInfo) -> None:
        url = f"{self._repo}/releases/assets/{asset.asset_id}"
        try:
            self._retrier.run(f"DELETE {asset.name}", lambda: self._call("DELETE", url))
        except GithubException as exc:
            if _immutable(exc):
                raise _immutable_error(release_id, asset.name) from exc
            if exc.status != HTTP_NOT_FOUND:  # gone already: what we wanted
                raise
        self._noted(release_id, removed=asset.asset_id)

    @_translated
    def download_asset(self, release_id: int, asset: AssetInfo, dest: Path) -> Path:
        """Stream the bytes to `dest` (via `dest.part`), checking size and digest."""
        del release_id  # assets are addressed by id
        return self._retrier.run(f"download {asset.name}", lambda: self._download(asset, dest))

    @_translated
    def download_assets(self, release_id: int, assets: Sequence[AssetInfo],
                        dest_dir: Path) -> list[Path]:
        """Several downloads at a time, each to `dest_dir / asset.name`."""
        futures = [self._pool.submit(self.download_asset, release_id, a,
                                     dest_dir / checked_asset_name(a.name, release=str(release_id)))
                   for a in assets]
        concurrent.futures.wait(futures)
        return [f.result() for f in futures]

    def _download(self, asset: AssetInfo, dest: Path) -> Path:
        """A file to disk, checked by size only: every caller checks its digest against the
        ledger, and hashes it once (with twine's own pass, for a dist: `action.dists`)."""
        partial = dest.with_name(dest.name + ".part")
        with partial.open("wb") as sink:
            self._stream(asset, sink.write, hashing=False)
        partial.replace(dest)
        return dest

    def _stream(self, asset: AssetInfo, sink: Callable[[bytes], object], *,
                digest_check: bool = True, hashing: bool = True) -> None:
        """GET the asset's bytes (following GitHub's redirect) into `sink`, block by block;
        a cut stream (size) or, `hashing`, other bytes than GitHub's digest raise."""
        url = f"{self._api}{self._repo}/releases/assets/{asset.asset_id}"
        digest, size = hashlib.sha256(), 0
        with self._session().get(url, headers={"Accept": OCTET}, stream=True,
                                 timeout=self.tuning.timeout) as response:
            if response.status_code >= HTTP_ERROR:
                raise _HttpError(response.status_code, response.headers, response.text[:200])
            for block in response.iter_content(BLOCK):
                if hashing:
                    digest.update(block)
                size += len(block)
                sink(block)
        wrong = hashing and digest_check and asset.sha256 not in (None, digest.hexdigest())
        if size != asset.size or wrong:
            raise _TruncatedError(f"{asset.name}: got {size} bytes, expected {asset.size}"
                                  + (f" (sha256 {digest.hexdigest()})" if hashing else ""))

    # -- the log -------------------------------------------------------------------------

    @_translated
    def load_log(self, release_id: int) -> StoredLog:
        """The newest complete snapshot whose chain validates: one listing, one download
        (more only when a snapshot is bad or replaced while being read)."""
        for _ in range(VANISHED_ROUNDS):
            complete = [(seq, r) for seq, r in _snapshots(self._remotes(release_id))
                        if r.info.complete]
            if not complete:
                return StoredLog(b"", None)
            try:
                return self._newest_valid(complete)
            except _VanishedError:
                log.info("github.snapshot_replaced_while_reading", release_id=release_id)
        raise GitHubError(
            "the state log kept being replaced while it was read",
            hint="Another run is appending to it quickly. Re-run this job when it is done.",
        )

    def _newest_valid(self, snapshots: list[tuple[int, _Remote]]) -> StoredLog:
        refused: list[LogError] = []
        for seq, remote in snapshots:
            data = self._fetch(remote.info)
            try:
                _check_snapshot(data, seq, remote.info)
            except LogError as problem:
                log.warning("github.snapshot_refused", name=remote.info.name,
                            problem=problem.message)
                refused.append(problem)
                continue
            return StoredLog(data, remote.info)
        raise refused[0]

    def _fetch(self, info: AssetInfo) -> bytes:
        buffer = io.BytesIO()

        def attempt() -> bytes:
            buffer.seek(0)
            buffer.truncate()
            self._stream(info, buffer.write)
            return buffer.getvalue()

        try:
            return self._retrier.run(f"download {info.name}", attempt)
        except _HttpError as exc:
            if exc.status == HTTP_NOT_FOUND:
                raise _VanishedError(info.name) from exc
            raise

    @_translated
    def store_log(self, release_id: int, data: bytes, *, first_new_seq: int) -> None:
        """Upload `release-state.<first_new_seq>.jsonl`, confirm it is the head, then delete
        older snapshots. LogConflictError when another run got there first."""
        upload = _Upload.of_bytes(snapshot_name(first_new_seq), data)
        self._put(release_id, upload, None)
        remotes = self._remotes(release_id)
        self._confirm_head(release_id, upload, first_new_seq, remotes)
        self._delete_older(release_id, first_new_seq, remotes)
        log.info("github.snapshot_stored", name=upload.name, size=upload.size)

    def _confirm_head(self, release_id: int, upload: _Upload, seq: int,
                      remotes: list[_Remote]) -> None:
        mine = next((r for r in remotes if r.info.name == upload.name), None)
        if mine is None or not mine.info.complete or mine.info.size != upload.size or (
            mine.info.sha256 not in (None, upload.sha256)
        ):
            raise LogConflictError(f"{upload.name} was replaced by another run's append",
                                   hint="Reload the log, re-plan and retry.")
        newer = [s for s, r in _snapshots(remotes) if s > seq and r.info.complete]
        if newer:
            self._delete(release_id, mine.info)  # a stale fork: take it back
            raise LogConflictError(
                f"the log moved on to {snapshot_name(max(newer))} while this run appended "
                f"{upload.name}",
                hint="Reload the log, re-plan and retry.",
            )

    def _delete_older(self, release_id: int, seq: int, remotes: list[_Remote]) -> None:
        for older, remote in _snapshots(remotes):
            if older >= seq:
                continue
            try:
                self._delete(release_id, remote.info)
            except (GitHubError, GithubException) as exc:  # the append stands; readers skip it
                log.warning("github.old_snapshot_kept", name=remote.info.name,
                            reason=str(exc))

    # -- tags, checkout, approvals ------------------------------------------------------

    @_translated
    def resolve_tag(self, tag: str) -> TagInfo:
        """The tag's commit (annotated tags peeled) and that commit's committer date."""
        try:
            ref = self._get(f"{self._repo}/git/ref/tags/{quote(tag)}")
        except GithubException as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            raise ConfigError(f"tag {tag} does not exist in {self.repository}",
                              hint="Push the tag (git push origin TAG) before running the "
                              "release, or fix the `tag` input.") from exc
        target = ref["object"]
        for _ in range(TAG_DEPTH):
            if target["type"] != "tag":
                break
            target = self._get(f"{self._repo}/git/tags/{target['sha']}")["object"]
        if target["type"] != "commit":
            raise ConfigError(f"tag {tag} points at a {target['type']}, not a commit")
        commit = self._get(f"{self._repo}/git/commits/{target['sha']}")
        date = _timestamp(commit["committer"]["date"])
        return TagInfo(tag=tag, commit=str(target["sha"]), epoch=int(date.timestamp()))

    @_translated
    def approvals(self, run_id: int) -> list[Approval]:
        """Who approved or rejected the run's environment gates (PyGithub has no wrapper)."""
        entries = self._get(f"{self._repo}/actions/runs/{run_id}/approvals")
        return [_approval(e) for e in entries]


def _approval(entry: Mapping[str, Any]) -> Approval:
    environments = entry.get("environments") or []
    times = [_timestamp(e["updated_at"]) for e in environments if e.get("updated_at")]
    return Approval(
        login=str(entry["user"]["login"]),
        state=str(entry["state"]),
        comment=str(entry.get("comment") or ""),
        environments=tuple(str(e.get("name", "")) for e in environments),
        at=max(times) if times else None,
    )


def _is_backfill(release: Mapping[str, Any]) -> bool:
    name = str(release.get("name") or "")
    return name.startswith(f"{release['tag_name']} backfill ")


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def _refuse_repeated_names(uploads: Sequence[_Upload]) -> None:
    names = [u.name for u in uploads]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"several files share the asset name(s) {', '.join(repeated)}",
                          hint="Release asset names are unique per release.")


def _immutable_error(release_id: int, name: str) -> ImmutableReleaseError:
    return ImmutableReleaseError(
        f"release {release_id} is published and immutable: GitHub refused to change {name}",
        hint="An immutable release takes no more assets and keeps the ones it has. A backfill "
        "lane's files and log go to a separate draft release '<tag> backfill <lane>' instead, "
        "which stays a draft; PyPI still gets the wheels.",
    )


def open_github_store(
    *,
    api_url: str,
    token: str,
    repository: str,
    tuning: GitHubTuning | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> GitHubStore:
    """The store for `repository` at `api_url` (GITHUB_API_URL). The token is masked first."""
    if not token:
        raise ConfigError("no GitHub token", hint="Pass `github-token` (default: the "
                          "workflow's GITHUB_TOKEN) with `contents: write` permission.")
    if not api_url:
        raise ConfigError("no GitHub API URL", hint="The runner sets GITHUB_API_URL.")
    mask(token)
    return GitHubStore(api_url=api_url, token=token, repository=repository, tuning=tuning,
                       clock=clock, sleep=sleep)
