"""Fixtures for the GitHub REST API double.

- `github_openapi` (session): GitHub's OpenAPI description, loaded and compiled once.
- `github_api`: a running `GitHubDouble`; at teardown every response it gave is validated
  against the description and the test fails on any mismatch.
- `github_repo`: the repository `acme/widget` in `github_api` (a `RepoHandle`).
- `github_client`: `github_client(**overrides)` makes a PyGithub client for the double with
  throttling off and no retries (override e.g. `retry=`, `timeout=`), as production code would
  with `GITHUB_API_URL` pointing at the double.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tests.conftest import require
from tests.doubles.github import GitHubDouble
from tests.doubles.openapi import SPEC_PATH, OpenApi, load_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

    import github

    from tests.doubles.github import RepoHandle

TOKEN = "ghs_double_token"


class ClientFactory(Protocol):
    def __call__(self, **overrides: Any) -> github.Github: ...


@pytest.fixture(scope="session")
def github_openapi() -> OpenApi:
    require(
        SPEC_PATH.is_file(), "GitHub's OpenAPI description is missing (npm ci in tests/openapi)"
    )
    return load_spec()


@pytest.fixture
def github_api(github_openapi: OpenApi) -> Iterator[GitHubDouble]:
    double = GitHubDouble(token=TOKEN)
    with double:
        yield double
    report = github_openapi.check(double.calls)
    if report.problems:
        listing = "\n  ".join(report.problems)
        pytest.fail(
            f"{len(report.problems)} response(s) of the GitHub double do not match GitHub's "
            f"OpenAPI description:\n  {listing}",
            pytrace=False,
        )


@pytest.fixture
def github_repo(github_api: GitHubDouble) -> RepoHandle:
    return github_api.create_repo("acme/widget")


@pytest.fixture
def github_client(github_api: GitHubDouble) -> Iterator[ClientFactory]:
    import github as pygithub

    made: list[pygithub.Github] = []

    def make(**overrides: Any) -> pygithub.Github:
        options: dict[str, Any] = {
            "base_url": github_api.api_url,
            "auth": pygithub.Auth.Token(github_api.token),
            # PyGithub sleeps 0.25 s before every request and 1 s before every write by
            # default; against a local double that is pure waiting.
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            # The default GithubRetry retries 5xx, 403 with retry-after, and a dropped POST;
            # tests see each fault unless they ask for a retry policy.
            "retry": None,
        }
        client = pygithub.Github(**(options | overrides))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
