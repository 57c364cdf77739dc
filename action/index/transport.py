"""HTTP to a package index: one request, its transient failures told apart, the retry policy.

Reads and uploads are retried with the shared policy (`action.retry`: exponential backoff and
jitter) on 5xx, 429, timeouts and dropped connections (each upload is one attempt of twine's;
we wait between them). A 4xx is never retried: each caller explains it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import requests

from action.errors import PackageIndexError
from action.retry import Backoff, Retrying

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

TOO_MANY_REQUESTS = 429
SERVER_ERROR = 500


class TransientError(Exception):
    """A failure that may pass: 5xx, 429, a timeout, a dropped connection."""


def transient_status(status: int) -> bool:
    """A server error or "too many requests": worth another try."""
    return status >= SERVER_ERROR or status == TOO_MANY_REQUESTS


def retrying(what: str, attempt: Callable[[], T], backoff: Backoff) -> T:
    """The shared retry policy (action.retry) over the index's transient failures."""
    retry = Retrying(backoff=backoff, system="index", retryable=(TransientError,),
                     give_up=_give_up)
    return retry.run(what, attempt)


def _give_up(what: str, failures: int, exc: BaseException) -> PackageIndexError:
    return PackageIndexError(
        f"{what} failed {failures} times; the last time: {exc}",
        hint="The index seems to be down or unreachable. Re-run the job later; "
        "nothing is repeated that already succeeded.",
    )


def send(
    session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """One HTTP request; transient failures become `TransientError`."""
    try:
        response = session.request(method, url, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    if transient_status(response.status_code):
        raise TransientError(f"{method} {url}: HTTP {response.status_code} {response.reason}")
    return response


def json_of(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object; {} when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
