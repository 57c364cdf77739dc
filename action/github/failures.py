"""What GitHub's failures mean: which ones pass, how long a rate limit asks to wait, and the
project's errors for the refusals that remain (raised from the store's public methods)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import requests
from github import GithubException

from action.errors import GitHubError, ImmutableReleaseError, ReleaseError
from action.retry import Wait

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

P = ParamSpec("P")
R = TypeVar("R")

HTTP_NOT_FOUND = 404
HTTP_UNPROCESSABLE = 422
RATE_STATUSES = (403, 429)
SERVER_ERROR = 500
SECONDARY_DEFAULT_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute


class HttpError(Exception):
    """A non-2xx answer to a request made without PyGithub (downloads)."""

    def __init__(self, status: int, headers: Mapping[str, str], message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.message = message


class TruncatedError(Exception):
    """Downloaded bytes do not match the asset's size or digest (a cut stream)."""


RETRYABLE = (GithubException, HttpError, requests.RequestException, TruncatedError, OSError)


def status(exc: BaseException) -> tuple[int, dict[str, str], str] | None:
    """(status, lower-case headers, GitHub's message) of an HTTP failure, else None."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        return exc.status, headers, str(data.get("message", ""))
    if isinstance(exc, HttpError):
        return exc.status, exc.headers, exc.message
    return None


def rate_limit_wait(exc: BaseException, now: float) -> Wait | None:
    """How long to wait and why, when `exc` is GitHub's primary or secondary rate limit."""
    answered = status(exc)
    if answered is None or answered[0] not in RATE_STATUSES:
        return None
    _status_code, headers, message = answered
    if "retry-after" in headers:
        return Wait(float(headers["retry-after"]), "secondary rate limit (retry-after)")
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        wait = max(float(headers["x-ratelimit-reset"]) - now, 0.0) + 1.0
        return Wait(wait, "primary rate limit (x-ratelimit-reset)")
    if "secondary rate limit" in message.lower():
        return Wait(SECONDARY_DEFAULT_WAIT, "secondary rate limit (no retry-after: one minute)")
    return None


def transient(exc: BaseException) -> bool:
    answered = status(exc)
    if answered is not None:
        return answered[0] >= SERVER_ERROR
    return isinstance(exc, requests.RequestException | TruncatedError | ConnectionError)


def describe(exc: BaseException) -> str:
    answered = status(exc)
    if answered is not None:
        return f"HTTP {answered[0]} {answered[2]}".strip()
    return f"{type(exc).__name__}: {exc}"


def give_up(what: str, failures: int, exc: BaseException) -> GitHubError:
    return GitHubError(
        f"{what} failed {failures} times; the last time: {describe(exc)}",
        hint="GitHub kept failing for as long as the action retries a request (ten minutes "
        "by default): it seems unreachable or in an incident. Re-run the job later; nothing "
        "that succeeded is repeated.",
    )


def waited_too_long(what: str, wait: Wait, waited: float, _exc: BaseException) -> GitHubError:
    return GitHubError(
        f"{what}: GitHub's {wait.why} would keep us waiting {wait.seconds:.0f} s more "
        f"(already waited {waited:.0f} s)",
        hint="Another workflow may be using up the token's budget. Re-run the job "
        "later; nothing that succeeded is repeated.",
    )


def already_exists(exc: GithubException) -> bool:
    errors = exc.data.get("errors", []) if isinstance(exc.data, dict) else []
    return exc.status == HTTP_UNPROCESSABLE and any(
        isinstance(e, dict) and e.get("code") == "already_exists" for e in errors
    )


def immutable(exc: GithubException) -> bool:
    answered = status(exc)
    return answered is not None and answered[0] == HTTP_UNPROCESSABLE and (
        "immutable" in answered[2].lower()
    )


def immutable_error(release_id: int, name: str) -> ImmutableReleaseError:
    return ImmutableReleaseError(
        f"release {release_id} is published and immutable: GitHub refused to change {name}",
        hint="An immutable release takes no more assets and keeps the ones it has. A backfill "
        "lane's files and log go to a separate draft release '<tag> backfill <lane>' instead, "
        "which stays a draft; PyPI still gets the wheels.",
    )


def as_release_error(what: str, exc: BaseException) -> ReleaseError:
    code, _headers, message = status(exc) or (0, {}, str(exc))
    if code == 401:  # noqa: PLR2004 - unauthorised
        return GitHubError(f"GitHub refused the token (401 {message}) during {what}",
                           hint="Pass a valid token in the `github-token` input "
                           "(default: the workflow's GITHUB_TOKEN).")
    if code == 403:  # noqa: PLR2004 - forbidden
        return GitHubError(f"GitHub forbade {what} (403 {message})",
                           hint="The token needs `contents: write` for releases and "
                           "`actions: read` for approvals; set them under `permissions:`.")
    return GitHubError(f"GitHub answered {code} {message} to {what}",
                       hint="Nothing was changed by this call. Check the repository name and "
                       "GITHUB_API_URL; re-run the job if GitHub was having trouble.")


def translated(func: Callable[P, R]) -> Callable[P, R]:
    """Public methods turn GitHub's leftover refusals into the project's error family."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (GithubException, HttpError) as exc:
            raise as_release_error(func.__name__.replace("_", " "), exc) from exc

    return wrapper
