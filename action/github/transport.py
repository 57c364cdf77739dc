"""HTTP to GitHub's REST API: a client per thread, one write pacer for all, retries, pages.

The API base is `GITHUB_API_URL` (GitHub Enterprise included); nothing here names github.com.

Retries. PyGithub runs with `retry=None`: its default retries a POST after a dropped
connection (two drafts) and retries 5xx without waiting. Here reads, PATCH and DELETE are
retried with the shared policy (`action.retry`: exponential backoff and jitter, for up to
ten minutes per request rather than a number of attempts, so a job rides out a GitHub
incident) on 5xx, timeouts and dropped connections. Each request is retried on its own: a
download is two (the API's redirect, then the bytes), and a failure of the second does not
repeat the first; the writes that are not idempotent (create a draft, upload
an asset) are retried only after listing what exists (`settle`). Primary and secondary rate
limits are waited out (`retry-after`, `x-ratelimit-reset`), logged with how long and why.

Pacing and concurrency (`GitHubTuning`). A PyGithub `Requester` shares one connection object
that is not thread-safe, so each worker thread has its own client, and PyGithub's own per-client
throttle (0.25 s per request, 1 s per write, per client) is off. One pacer shared by all threads
takes its place (`pacing.py`): at most 80 writes in any minute and 500 in any hour, GitHub's
documented limits for content-creating requests; a batch of uploads is planned against the
hourly budget first, and waits on it are logged. Reads are not paced: the primary budget is
read from the answers and waited out. A pool of `concurrency` (4) workers moves several files
at a time: 20 files of 5 MiB to the double with 50 ms latency took 1.67 s one at a time, 0.73 s
with 4 workers and 0.56 s with 8 (benchmarks/bench_assets.py); 4 takes most of the gain while
keeping a 2-core runner's hashing and GitHub's concurrency budget (100) comfortable.

Streaming. Uploads send the open file (requests streams it with a Content-Length). Downloads
do not go through PyGithub: its `getStream` does not pass `stream=True` to requests and so
reads a whole asset into memory; a requests session per thread streams the bytes in 1 MiB
blocks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import github
import requests

from action.errors import ConfigError
from action.github import failures
from action.github.pacing import Throttling, WritePacer
from action.retry import DEFAULT_BUDGET, Backoff, Retrying, Wait

if TYPE_CHECKING:
    from collections.abc import Callable

OCTET = "application/octet-stream"
BLOCK = 1 << 20
API_VERSION = "2022-11-28"
USER_AGENT = "release-action"
HTTP_ERROR = 400


@dataclass(frozen=True, kw_only=True)
class GitHubTuning:
    """How hard the store pushes GitHub. Production defaults; tests make them fast."""

    concurrency: int = 4
    writes_per_minute: int | None = 80  # GitHub's limits for content-creating requests
    writes_per_hour: int | None = 500
    timeout: int = 30
    attempts: int | None = None  # an upper bound on tries as well (tests); None: the budget
    retry_budget: float = DEFAULT_BUDGET  # seconds one request may spend failing and waiting
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_rate_limit_wait: float = 900.0
    starter_grace: float = 120.0
    per_page: int = 100

    def __post_init__(self) -> None:
        if self.concurrency < 1 or (self.attempts is not None and self.attempts < 1):
            raise ConfigError("GitHub tuning: concurrency and attempts must be at least 1")


def _passes(exc: BaseException) -> bool | Wait:
    return failures.rate_limit_wait(exc, time.time()) or failures.transient(exc)


def retrying(tuning: GitHubTuning, sleep: Callable[[float], None],
             jitter: Callable[[], float]) -> Retrying:
    """The shared retry policy with GitHub's failures, rate limits and messages."""
    backoff = Backoff(budget=tuning.retry_budget, attempts=tuning.attempts,
                      base=tuning.backoff_base, cap=tuning.backoff_cap,
                      sleep=sleep, jitter=jitter)
    return Retrying(backoff=backoff, system="github", retryable=failures.RETRYABLE,
                    passes=_passes, describe=failures.describe, give_up=failures.give_up,
                    max_wait=tuning.max_rate_limit_wait, too_long=failures.waited_too_long)


class _Local(threading.local):
    client: github.Github | None = None
    session: requests.Session | None = None


class Transport:
    """Paced requests to one GitHub API, each thread with its own client and session."""

    def __init__(self, *, api_url: str, token: str, tuning: GitHubTuning,
                 sleep: Callable[[float], None], jitter: Callable[[], float]) -> None:
        self.tuning = tuning
        self.retrying = retrying(tuning, sleep, jitter)
        self._api = api_url.rstrip("/")
        self._token = token
        self._pacer = WritePacer(tuning.writes_per_minute, tuning.writes_per_hour, sleep=sleep)
        self._local = _Local()
        self._opened: list[github.Github | requests.Session] = []
        self._lock = threading.Lock()

    def throttled(self) -> Throttling:
        """How long this transport's writes waited for GitHub's limits."""
        return self._pacer.throttled()

    def plan(self, writes: int) -> float:
        """A batch of `writes` is about to start: how long the hourly budget holds it back."""
        return self._pacer.plan(writes)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for item in opened:
            item.close()

    def _requester(self) -> Any:
        """This thread's PyGithub requester (a requester's connection is not thread-safe)."""
        if self._local.client is None:
            client = github.Github(
                base_url=self._api,
                auth=github.Auth.Token(self._token),
                timeout=self.tuning.timeout,
                per_page=self.tuning.per_page,
                retry=None,  # our own policy: see the module's docstring
                seconds_between_requests=None,  # paced across threads by `WritePacer`
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

    def call(self, verb: str, url: str, *, params: dict[str, Any] | None = None,
             body: Any = None) -> tuple[dict[str, Any], Any]:
        """One API request, paced; no retry."""
        if verb != "GET":
            self._pacer.wait()
        headers, data = self._requester().requestJsonAndCheck(verb, url, parameters=params,
                                                              input=body)
        return dict(headers), data

    def retried(self, verb: str, url: str, *, body: Any = None) -> Any:
        """A request that is safe to repeat (GET, PATCH, DELETE), retried; the JSON answer."""
        return self.retrying.run(f"{verb} {url}", lambda: self.call(verb, url, body=body))[1]

    def get_all(self, url: str) -> list[dict[str, Any]]:
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
        return self.retrying.run(f"GET {url}", lambda: self.call("GET", url, params=params))

    def upload(self, url: str, name: str, size: int, body: BinaryIO) -> Any:
        """POST a file's bytes to an upload URL (streamed), paced as a write; no retry."""
        headers = {"Content-Type": OCTET, "Content-Length": str(size)}
        self._pacer.wait()
        _headers, data = self._requester().requestMemoryBlobAndCheck(
            "POST", url, {"name": name}, headers, body
        )
        return data

    def download(self, url: str, sink: Callable[[bytes], object]) -> None:
        """GET `url` into `sink`, block by block: two requests, each retried on its own (the
        API's redirect, then the bytes from where it points, sent without the token). A
        stream cut after some blocks reached `sink` is not retried here: TruncatedError, and
        the caller starts the file over."""
        location = self.retrying.run(f"GET {url}", lambda: self._locate(url))
        delivered = False

        def take(block: bytes) -> None:
            nonlocal delivered
            delivered = True
            sink(block)

        def fetch() -> None:
            try:
                self._fetch(location, take, api=location == f"{self._api}{url}")
            except failures.RETRYABLE as exc:
                if delivered:
                    raise _CutError(exc) from exc
                raise

        try:
            self.retrying.run(f"download {url}", fetch)
        except _CutError as cut:
            raise failures.TruncatedError(
                f"{url}: the download was cut off: {failures.describe(cut.cause)}") from cut

    def _locate(self, url: str) -> str:
        """Where the bytes of `url` are: GitHub answers with a redirect (else: `url`)."""
        full = f"{self._api}{url}"
        with self._session().get(full, headers={"Accept": OCTET}, stream=True,
                                 allow_redirects=False, timeout=self.tuning.timeout) as answer:
            if answer.is_redirect and "location" in answer.headers:
                return requests.compat.urljoin(full, answer.headers["location"])
            if answer.status_code >= HTTP_ERROR:
                raise failures.HttpError(answer.status_code, answer.headers, answer.text[:200])
            return full

    def _fetch(self, location: str, sink: Callable[[bytes], object], *, api: bool) -> None:
        # The redirect's URL carries its own signature: GitHub's token is not sent there.
        headers = {"Accept": OCTET} | ({} if api else {"Authorization": None})
        with self._session().get(location, headers=headers, stream=True,
                                 timeout=self.tuning.timeout) as response:
            if response.status_code >= HTTP_ERROR:
                raise failures.HttpError(response.status_code, response.headers,
                                         response.text[:200])
            for block in response.iter_content(BLOCK):
                sink(block)


class _CutError(Exception):
    """A download failed after some of its bytes were delivered: not retried in place."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None
