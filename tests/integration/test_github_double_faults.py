"""The GitHub double's knobs (faults, latency, kills, call log) seen from PyGithub, and proof that
its OpenAPI check catches a wrong response."""

from __future__ import annotations

import io
import time

import github
import pytest
import requests
from github import GithubException, RateLimitExceededException

from tests.doubles import faults
from tests.doubles.faults import Apply
from tests.doubles.fixtures import TOKEN
from tests.doubles.github import GitHubDouble
from tests.doubles.wire import Call

RELEASES = r"/repos/acme/widget/releases$"
ASSETS = r"/releases/\d+/assets$"


@pytest.fixture
def gh(github_client, github_repo):
    return github_client().get_repo(github_repo.full_name)


def drafts(github_repo) -> int:
    return sum(r.draft for r in github_repo.releases())


class TestAnsweredFaults:
    def test_server_error(self, gh, github_api):
        """An injected 502 reaches the client with GitHub's error body."""
        github_api.inject(faults.ServerError(status=502), method="GET", path=RELEASES, nth=1)
        with pytest.raises(GithubException) as caught:
            list(gh.get_releases())
        assert caught.value.status == 502
        assert caught.value.data["message"] == "Server Error"
        assert list(gh.get_releases()) == []  # nth=1: only the first call fails

    def test_server_error_applies_nothing(self, gh, github_api, github_repo):
        """A call answered with a 5xx changes nothing."""
        github_api.inject(faults.ServerError(status=503), method="POST", path=RELEASES)
        with pytest.raises(GithubException):
            gh.create_git_release("v1.0", "v1.0", "", draft=True)
        assert github_repo.releases() == []

    def test_default_retry_recovers_from_one_502(self, github_client, github_api, github_repo):
        """PyGithub's default GithubRetry repeats a GET after a 5xx."""
        github_api.inject(faults.ServerError(), method="GET", path=RELEASES, nth=1)
        client = github_client(retry=github.GithubRetry())
        assert list(client.get_repo(github_repo.full_name).get_releases()) == []
        assert [c.status for c in github_api.calls_to("GET", RELEASES)] == [502, 200]

    def test_primary_rate_limit_403(self, gh, github_api):
        """Primary rate limiting: 403, x-ratelimit-remaining 0 and a reset time."""
        github_api.inject(faults.PrimaryRateLimit(reset_in=120), path=RELEASES)
        with pytest.raises(RateLimitExceededException) as caught:
            list(gh.get_releases())
        assert caught.value.status == 403
        assert caught.value.headers["x-ratelimit-remaining"] == "0"
        assert int(caught.value.headers["x-ratelimit-reset"]) >= time.time() + 100

    def test_primary_rate_limit_429(self, gh, github_api):
        """Primary rate limiting can also answer 429."""
        github_api.inject(faults.PrimaryRateLimit(status=429), path=RELEASES)
        with pytest.raises(GithubException) as caught:
            list(gh.get_releases())
        assert caught.value.status == 429
        assert caught.value.headers["x-ratelimit-remaining"] == "0"

    def test_secondary_rate_limit(self, gh, github_api):
        """Secondary rate limiting: 403 with retry-after."""
        github_api.inject(faults.SecondaryRateLimit(retry_after=7), method="POST", path=RELEASES)
        with pytest.raises(RateLimitExceededException) as caught:
            gh.create_git_release("v1.0", "v1.0", "", draft=True)
        assert caught.value.status == 403
        assert caught.value.headers["retry-after"] == "7"


class TestDroppedConnections:
    def test_reset(self, gh, github_api, github_repo):
        """A reset connection surfaces as requests' ConnectionError; nothing was applied."""
        github_api.inject(faults.Reset(), method="POST", path=RELEASES)
        with pytest.raises(requests.ConnectionError):
            gh.create_git_release("v1.0", "v1.0", "", draft=True)
        assert github_repo.releases() == []
        assert github_api.calls[-1].status is None

    def test_timeout(self, github_client, github_api, github_repo):
        """A response held past the client's timeout is a ReadTimeout."""
        github_api.inject(faults.Timeout(hold=1.5), method="GET", path=RELEASES)
        gh = github_client(timeout=1).get_repo(github_repo.full_name)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            list(gh.get_releases())
        assert 1.0 <= time.monotonic() - started < 1.5

    def test_timeout_after_applying(self, github_client, github_api, github_repo):
        """A write can take effect although its client timed out."""
        github_api.inject(faults.Timeout(hold=1.2, apply=Apply.ALL), method="POST", path=RELEASES)
        gh = github_client(timeout=1).get_repo(github_repo.full_name)
        with pytest.raises(requests.Timeout):
            gh.create_git_release("v1.0", "v1.0", "", draft=True)
        assert drafts(github_repo) == 1

    def test_half_upload_leaves_starter_asset(self, gh, github_api):
        """An upload cut off midway leaves a `starter` asset that holds the name."""
        github_api.inject(faults.HalfUpload(), path=ASSETS, nth=1)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        data = b"x" * 200_000
        with pytest.raises(requests.ConnectionError):
            draft.upload_asset_from_memory(io.BytesIO(data), len(data), "big.whl")
        (starter,) = draft.get_assets()
        assert (starter.name, starter.state, starter.digest) == ("big.whl", "starter", None)
        assert starter.size < len(data)
        with pytest.raises(GithubException) as caught:
            draft.upload_asset_from_memory(io.BytesIO(data), len(data), "big.whl")
        assert caught.value.data["errors"][0]["code"] == "already_exists"

    def test_starter_asset_can_be_deleted_and_retried(self, gh, github_api):
        """Deleting the `starter` asset frees the name for a complete upload."""
        github_api.inject(faults.HalfUpload(), path=ASSETS, nth=1)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        with pytest.raises(requests.ConnectionError):
            draft.upload_asset_from_memory(io.BytesIO(b"abcd"), 4, "a.whl")
        (starter,) = draft.get_assets()
        starter.delete_asset()
        done = draft.upload_asset_from_memory(io.BytesIO(b"abcd"), 4, "a.whl")
        assert done.state == "uploaded"


class TestKill:
    @pytest.mark.usefixtures("github_repo")
    def test_kill_after_applying(self, github_client, github_api):
        """A client killed at a call that was applied: the next client finds the result."""
        github_api.inject(faults.Kill(apply=Apply.ALL), method="POST", path=RELEASES, nth=1)
        with pytest.raises(requests.ConnectionError):
            github_client().get_repo("acme/widget").create_git_release("v1", "v1", "", draft=True)
        assert github_api.killed
        assert github_api.kills[0].method == "POST"
        fresh = github_client().get_repo("acme/widget")
        assert [r.tag_name for r in fresh.get_releases()] == ["v1"]

    def test_kill_before_applying(self, github_client, github_api, github_repo):
        """A client killed at a call that was not applied leaves no trace of it."""
        github_api.inject(faults.Kill(apply=Apply.NOTHING), method="POST", path=RELEASES)
        with pytest.raises(requests.ConnectionError):
            github_client().get_repo("acme/widget").create_git_release("v1", "v1", "", draft=True)
        assert github_api.killed
        assert github_repo.releases() == []

    def test_kill_mid_upload(self, gh, github_api):
        """Killed halfway through an upload: a `starter` asset remains."""
        github_api.inject(faults.Kill(apply=Apply.PARTIAL), method="POST", path=ASSETS)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        with pytest.raises(requests.ConnectionError):
            draft.upload_asset_from_memory(io.BytesIO(b"12345678"), 8, "w.whl")
        assert [a.state for a in draft.get_assets()] == ["starter"]

    def test_default_retry_repeats_a_dropped_post(self, github_client, github_api, github_repo):
        """PyGithub's default GithubRetry re-sends a POST whose answer was lost: two drafts."""
        github_api.inject(faults.Reset(apply=Apply.ALL), method="POST", path=RELEASES, nth=1)
        client = github_client(retry=github.GithubRetry())
        client.get_repo("acme/widget").create_git_release("v1", "v1", "", draft=True)
        assert drafts(github_repo) == 2


class TestKnobs:
    def test_latency(self, gh, github_api):
        """Latency delays every answer."""
        github_api.latency = 0.1
        started = time.monotonic()
        list(gh.get_releases())
        assert time.monotonic() - started >= 0.1

    def test_rate_is_seeded(self):
        """Faults at a rate follow the seed: the same seed fails the same calls."""

        def pattern(seed: int) -> list[int | None]:
            with GitHubDouble(token=TOKEN, seed=seed) as double:
                double.create_repo("acme/widget")
                double.inject(faults.ServerError(), path=RELEASES, rate=0.5)
                auth = {"Authorization": f"token {TOKEN}"}
                url = f"{double.api_url}/repos/acme/widget/releases"
                return [requests.get(url, headers=auth, timeout=5).status_code for _ in range(16)]

        first, again = pattern(7), pattern(7)
        assert first == again
        assert {502, 200} == set(first)

    def test_times_caps_a_rule(self, gh, github_api):
        """`times` stops a rule after it fired that often."""
        github_api.inject(faults.ServerError(), path=RELEASES, times=2)
        statuses = []
        for _ in range(3):
            try:
                list(gh.get_releases())
                statuses.append(200)
            except GithubException as failure:
                statuses.append(failure.status)
        assert statuses == [502, 502, 200]

    def test_call_log(self, gh, github_api):
        """The call log records method, path and status of each call, for cost assertions."""
        github_api.clear_calls()
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "a.txt")
        assert github_api.summary() == [
            ("POST", "/api/v3/repos/acme/widget/releases", 201),
            ("POST", f"/api/uploads/repos/acme/widget/releases/{draft.id}/assets", 201),
        ]


class TestOpenApiCheck:
    def test_every_call_is_checked(self, gh, github_api, github_openapi):
        """The check maps each API call to an operation and validates it (none skipped)."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "a.txt")
        report = github_openapi.check(github_api.calls)
        assert (report.checked, report.problems) == (len(github_api.calls), [])

    def test_wrong_body_is_caught(self, github_openapi):
        """A release without `tag_name` and with a string id fails the check, named and located."""
        body = b'{"id": "12", "draft": true}'
        call = Call(
            method="GET",
            path="/api/v3/repos/acme/widget/releases/12",
            query="",
            kind="api",
            status=200,
            content_type="application/json; charset=utf-8",
            body=body,
        )
        problem = github_openapi.check_call(call)
        assert problem is not None
        assert "GET /repos/{owner}/{repo}/releases/{release_id}" in problem
        assert "release" in problem

    def test_double_gone_wrong_is_caught(self, gh, github_api, github_openapi, monkeypatch):
        """A double that answers a malformed asset is caught through the real server path."""
        import tests.doubles.github as double_module

        real = double_module.asset_json

        def broken(*args, **kwargs):
            return real(*args, **kwargs) | {"size": "five", "created_at": "yesterday"}

        monkeypatch.setattr(double_module, "asset_json", broken)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "a.txt")
        problems = github_openapi.check(github_api.calls).problems
        github_api.clear_calls()  # the fixture's own check would fail this test otherwise
        assert len(problems) == 1
        assert "POST /repos/{owner}/{repo}/releases/{release_id}/assets" in problems[0]

    def test_undocumented_status_is_caught(self, github_openapi):
        """A success status the operation does not document is a mismatch."""
        call = Call(
            method="DELETE",
            path="/api/v3/repos/acme/widget/releases/12",
            query="",
            kind="api",
            status=200,
            content_type="application/json; charset=utf-8",
            body=b"{}",
        )
        assert "not documented" in (github_openapi.check_call(call) or "")

    def test_unknown_operation_is_caught(self, github_openapi):
        """A success on a path GitHub does not have is a mismatch."""
        call = Call(
            method="GET",
            path="/api/v3/repos/acme/widget/nothing",
            query="",
            kind="api",
            status=200,
            content_type="application/json",
            body=b"{}",
        )
        assert "no operation" in (github_openapi.check_call(call) or "")

    def test_bad_timestamp_is_caught(self, github_openapi):
        """Formats are checked: a date-time that is not RFC 3339 is a mismatch."""
        call = Call(
            method="GET",
            path="/api/v3/repos/acme/widget/git/commits/" + "a" * 40,
            query="",
            kind="api",
            status=200,
            content_type="application/json",
            body=b'{"sha": "x", "node_id": "n", "url": "http://h/x", "html_url": "http://h/x",'
            b' "author": {"name": "a", "email": "e", "date": "17 May 2024"},'
            b' "committer": {"name": "a", "email": "e", "date": "2024-05-17T00:00:00Z"},'
            b' "tree": {"sha": "t", "url": "http://h/t"}, "message": "m", "parents": [],'
            b' "verification": {"verified": false, "reason": "unsigned", "signature": null,'
            b' "payload": null, "verified_at": null}}',
        )
        assert "date-time" in (github_openapi.check_call(call) or "")
