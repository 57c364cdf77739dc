"""The GitHub API double, driven through PyGithub exactly as production code drives GitHub."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import parse_qs

import github
import pytest
import requests
from github import GithubException, UnknownObjectException


@pytest.fixture
def gh(github_client, github_repo):
    return github_client().get_repo(github_repo.full_name)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class TestRepository:
    def test_get_repo(self, gh):
        """GET /repos/{o}/{r} answers the repository with its default branch."""
        assert gh.full_name == "acme/widget"
        assert gh.default_branch == "main"

    def test_unknown_repo_is_404(self, github_client):
        """An unknown repository is 404 with GitHub's error JSON."""
        with pytest.raises(UnknownObjectException) as caught:
            github_client().get_repo("acme/nothing")
        assert caught.value.status == 404
        assert caught.value.data["message"] == "Not Found"
        assert "documentation_url" in caught.value.data

    @pytest.mark.usefixtures("github_repo")
    def test_wrong_token_is_401(self, github_client):
        """A wrong token is 401 Bad credentials."""
        with pytest.raises(github.BadCredentialsException):
            github_client(auth=github.Auth.Token("wrong")).get_repo("acme/widget")

    @pytest.mark.usefixtures("github_repo")
    def test_missing_token_is_401(self, github_api):
        """No token at all is 401 as well (the double knows no anonymous callers)."""
        answer = requests.get(f"{github_api.api_url}/repos/acme/widget", timeout=5)
        assert answer.status_code == 401
        assert answer.json()["message"] == "Requires authentication"

    def test_rate_limit_headers_on_every_response(self, gh, github_api):
        """Every API response carries the x-ratelimit-* headers, counting down."""
        gh.get_releases().totalCount  # noqa: B018 - the call is the point
        first, second = github_api.calls[-2:]
        assert first.status == second.status == 200
        headers = gh.requester.rate_limiting
        assert headers[1] == 5000
        assert headers[0] == 5000 - len(github_api.calls)

    def test_rate_limit_endpoint(self, github_client):
        """GET /rate_limit answers the core budget."""
        overview = github_client().get_rate_limit()
        assert overview.resources.core.limit == 5000


class TestDrafts:
    def test_create_draft(self, gh):
        """A draft is created with the given fields and no publication date."""
        draft = gh.create_git_release("v1.0", "v1.0", "notes", draft=True)
        assert (draft.draft, draft.tag_name, draft.body) == (True, "v1.0", "notes")
        assert draft.published_at is None

    def test_draft_creates_no_tag(self, gh):
        """A draft has no tag until it is published."""
        gh.create_git_release("v1.0", "v1.0", "", draft=True)
        with pytest.raises(UnknownObjectException):
            gh.get_git_ref("tags/v1.0").object  # noqa: B018 - the lazy ref loads here

    def test_list_includes_drafts(self, gh):
        """Listing releases shows drafts to an authorised caller, newest first."""
        first = gh.create_git_release("v1.0", "one", "", draft=True)
        second = gh.create_git_release("v1.1", "two", "", draft=True)
        assert [r.id for r in gh.get_releases()] == [second.id, first.id]

    def test_get_by_tag_hides_drafts(self, gh):
        """GET /releases/tags/{tag} does not return a draft."""
        gh.create_git_release("v1.0", "v1.0", "", draft=True)
        with pytest.raises(UnknownObjectException):
            gh.get_release("v1.0")

    def test_get_by_id_returns_draft(self, gh):
        """A draft is found by its id."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        assert gh.get_release(draft.id).draft is True

    def test_two_drafts_for_one_tag(self, gh):
        """GitHub lets two drafts share a tag (how duplicate drafts happen)."""
        gh.create_git_release("v1.0", "a", "", draft=True)
        gh.create_git_release("v1.0", "b", "", draft=True)
        assert [r.tag_name for r in gh.get_releases()] == ["v1.0", "v1.0"]

    def test_update_body(self, gh):
        """PATCH changes name and body of a draft and keeps it a draft."""
        draft = gh.create_git_release("v1.0", "v1.0", "old", draft=True)
        updated = draft.update_release("renamed", "new", draft=True)
        assert (updated.name, updated.body, updated.draft) == ("renamed", "new", True)

    def test_delete_release(self, gh):
        """DELETE removes a release; it is then 404."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.delete_release()
        with pytest.raises(UnknownObjectException):
            gh.get_release(draft.id).draft  # noqa: B018 - the lazy release loads here


class TestPublish:
    def test_publish_sets_published_at(self, gh):
        """Publishing a draft sets published_at and makes it findable by tag."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        published = draft.update_release("v1.0", "", draft=False)
        assert published.draft is False
        assert published.published_at is not None
        assert gh.get_release("v1.0").id == draft.id

    def test_publish_creates_tag_at_target(self, gh, github_repo):
        """Publishing creates the missing tag ref at the target commitish."""
        sha = github_repo.add_commit("second")
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True, target_commitish=sha)
        draft.update_release("v1.0", "", draft=False)
        assert gh.get_git_ref("tags/v1.0").object.sha == sha

    def test_publish_keeps_existing_tag(self, gh, github_repo):
        """Publishing onto an existing tag leaves the tag where it was."""
        old = github_repo.head()
        github_repo.tag("v1.0", old)
        github_repo.add_commit("later")
        gh.create_git_release("v1.0", "v1.0", "", draft=True).update_release(
            "v1.0", "", draft=False
        )
        assert gh.get_git_ref("tags/v1.0").object.sha == old

    def test_second_published_release_for_tag_is_refused(self, gh):
        """A tag holds one published release: another is 422 already_exists."""
        gh.create_git_release("v1.0", "v1.0", "")
        with pytest.raises(GithubException) as caught:
            gh.create_git_release("v1.0", "again", "")
        assert caught.value.status == 422
        assert caught.value.data["errors"][0]["code"] == "already_exists"

    def test_latest_release(self, gh):
        """GET /releases/latest is the newest published non-prerelease."""
        gh.create_git_release("v1.0", "v1.0", "")
        gh.create_git_release("v2.0rc1", "rc", "", prerelease=True)
        gh.create_git_release("v2.0", "draft", "", draft=True)
        assert gh.get_latest_release().tag_name == "v1.0"

    def test_no_latest_release_is_404(self, gh):
        """Without a published release, latest is 404."""
        with pytest.raises(UnknownObjectException):
            gh.get_latest_release().tag_name  # noqa: B018 - the lazy release loads here


class TestAssets:
    def test_upload_from_file(self, gh, tmp_path):
        """GitRelease.upload_asset streams a file; the asset has size, digest and state."""
        wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
        wheel.write_bytes(b"wheel bytes")
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        asset = draft.upload_asset(str(wheel), label="the wheel")
        assert (asset.name, asset.size, asset.state) == (wheel.name, 11, "uploaded")
        assert asset.digest == sha256(b"wheel bytes")
        assert asset.label == "the wheel"

    def test_upload_from_memory(self, gh):
        """upload_asset_from_memory sends Content-Length and a streamed body."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        data = bytes(range(256)) * 1000
        asset = draft.upload_asset_from_memory(io.BytesIO(data), len(data), "blob.bin")
        assert asset.digest == sha256(data)
        assert asset.content_type == "application/octet-stream"  # PyGithub's default

    def test_upload_goes_to_uploads_base(self, gh, github_api):
        """Uploads use the release's upload_url, a separate base path on the same server."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"x"), 1, "x.txt")
        assert github_api.calls[-1].kind == "uploads"
        assert parse_qs(github_api.calls[-1].query) == {"name": ["x.txt"]}
        assert draft.upload_url.startswith(f"{github_api.root_url}/api/uploads/")

    def test_existing_name_is_422_already_exists(self, gh):
        """Uploading a name that exists fails with GitHub's already_exists error."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"a"), 1, "same.txt")
        with pytest.raises(GithubException) as caught:
            draft.upload_asset_from_memory(io.BytesIO(b"b"), 1, "same.txt")
        assert caught.value.status == 422
        assert caught.value.data["message"] == "Validation Failed"
        assert caught.value.data["errors"] == [
            {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
        ]

    def test_download_through_pygithub(self, gh, github_api):
        """Asset download answers 302 to a storage URL that serves the bytes."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        uploaded = draft.upload_asset_from_memory(io.BytesIO(b"payload"), 7, "p.bin")
        status, _headers, chunks = uploaded.download_asset(chunk_size=None)
        assert (status, b"".join(chunks)) == (200, b"payload")
        assert [c.status for c in github_api.calls[-2:]] == [302, 200]

    def test_download_through_browser_url(self, gh):
        """browser_download_url serves the bytes (after a redirect, as on GitHub)."""
        release = gh.create_git_release("v1.0", "v1.0", "")
        asset = release.upload_asset_from_memory(io.BytesIO(b"public"), 6, "p.bin")
        assert requests.get(asset.browser_download_url, timeout=5).content == b"public"

    def test_upload_needs_content_length(self, gh, github_api):
        """A chunked upload without Content-Length is refused with 411."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        answer = requests.post(
            draft.upload_url.split("{")[0],
            params={"name": "c.bin"},
            data=iter([b"chunk"]),
            headers={"Authorization": f"token {github_api.token}"},
            timeout=5,
        )
        assert answer.status_code == 411
        assert draft.get_assets().totalCount == 0

    def test_upload_with_wrong_token_is_401(self, gh, github_api):
        """The uploads base path checks the token too."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        answer = requests.post(
            draft.upload_url.split("{")[0],
            params={"name": "x.bin"},
            data=b"x",
            headers={"Authorization": "token wrong"},
            timeout=5,
        )
        assert (answer.status_code, answer.json()["message"]) == (401, "Bad credentials")
        assert github_api.calls[-1].kind == "uploads"

    def test_asset_json(self, gh):
        """GET /releases/assets/{id} answers the asset's JSON."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        uploaded = draft.upload_asset_from_memory(io.BytesIO(b"j"), 1, "j.txt")
        assert gh.get_release_asset(uploaded.id).digest == sha256(b"j")

    def test_delete_asset_frees_the_name(self, gh):
        """Deleting an asset removes it and frees its name."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        first = draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "n.txt")
        assert first.delete_asset() is True
        second = draft.upload_asset_from_memory(io.BytesIO(b"2"), 1, "n.txt")
        assert [a.id for a in draft.get_assets()] == [second.id]

    def test_release_lists_its_assets(self, gh):
        """A release's JSON embeds its assets."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "a.txt")
        assert [a.name for a in gh.get_release(draft.id).assets] == ["a.txt"]


class TestPagination:
    def test_releases_across_pages(self, gh, github_repo, github_api):
        """More than 30 releases take two pages, followed through the Link header."""
        ids = [github_repo.add_release(f"v0.{n}") for n in range(35)]
        github_api.clear_calls()
        assert [r.id for r in gh.get_releases()] == ids[::-1]
        pages = [parse_qs(c.query) for c in github_api.calls]
        assert pages == [{}, {"per_page": ["30"], "page": ["2"]}]

    def test_link_header(self, github_api, github_repo):
        """The Link header names next/last pages, and prev/first once past page one."""
        for n in range(5):
            github_repo.add_release(f"v0.{n}")
        url = f"{github_api.api_url}/repos/acme/widget/releases"
        auth = {"Authorization": f"token {github_api.token}"}
        page2 = requests.get(url, params={"per_page": 2, "page": 2}, headers=auth, timeout=5)
        rels = [part.split("; ")[1] for part in page2.headers["Link"].split(", ")]
        assert rels == ['rel="prev"', 'rel="next"', 'rel="last"', 'rel="first"']
        assert len(page2.json()) == 2
        assert "page=3" in page2.headers["Link"].split(", ")[1]

    def test_assets_across_pages(self, gh, github_api):
        """More than 30 assets take two pages of GET /releases/{id}/assets."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        for n in range(32):
            draft.upload_asset_from_memory(io.BytesIO(b"%d" % n), len(b"%d" % n), f"f{n}.txt")
        github_api.clear_calls()
        assert [a.name for a in draft.get_assets()] == [f"f{n}.txt" for n in range(32)]
        assert len(github_api.calls_to("GET", r"/assets$")) == 2

    def test_per_page_is_honoured(self, github_client, github_repo):
        """per_page set on the client changes the page size."""
        for n in range(5):
            github_repo.add_release(f"v0.{n}")
        releases = github_client(per_page=2).get_repo("acme/widget").get_releases()
        assert len(releases.get_page(2)) == 1


class TestGit:
    def test_lightweight_tag(self, gh, github_repo):
        """A lightweight tag ref points at a commit."""
        github_repo.tag("v1.0")
        ref = gh.get_git_ref("tags/v1.0")
        assert (ref.object.type, ref.object.sha) == ("commit", github_repo.head())

    def test_annotated_tag(self, gh, github_repo):
        """An annotated tag ref points at a tag object, which points at the commit."""
        tag_sha = github_repo.tag("v1.0", annotated=True, message="release 1.0")
        ref = gh.get_git_ref("tags/v1.0")
        assert (ref.object.type, ref.object.sha) == ("tag", tag_sha)
        tag = gh.get_git_tag(tag_sha)
        assert (tag.object.type, tag.object.sha) == ("commit", github_repo.head())
        assert tag.message == "release 1.0"

    def test_commit_dates(self, gh, github_repo):
        """Commits carry their author and committer dates (SOURCE_DATE_EPOCH comes from here)."""
        when = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)
        sha = github_repo.add_commit("release 1.0", date=when)
        assert gh.get_git_commit(sha).committer.date == when
        assert gh.get_commit(sha).commit.author.date == when

    def test_commit_by_tag_name(self, gh, github_repo):
        """GET /commits/{ref} accepts a tag name and peels annotated tags."""
        github_repo.tag("v1.0", annotated=True)
        assert gh.get_commit("v1.0").sha == github_repo.head()

    def test_unknown_ref_is_404(self, gh):
        """A missing tag ref is 404."""
        with pytest.raises(UnknownObjectException):
            gh.get_git_ref("tags/v9").object  # noqa: B018 - the lazy ref loads here


class TestApprovalsAndAttestations:
    def test_approvals(self, gh, github_repo):
        """Environment approvals of a run say who approved, how and for which environment."""
        github_repo.add_approval(77, login="alice", comment="ship it")
        _headers, data = gh.requester.requestJsonAndCheck(
            "GET", f"{gh.url}/actions/runs/77/approvals"
        )
        assert [(a["user"]["login"], a["state"], a["comment"]) for a in data] == [
            ("alice", "approved", "ship it")
        ]
        assert data[0]["environments"][0]["name"] == "publish"

    def test_run_jobs(self, gh, github_repo):
        """The jobs of a run: when each was created and started, on which runner; a job still
        waiting for its environment has no runner yet. (Checked against the OpenAPI
        description like every answer.)"""
        created = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
        started = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
        github_repo.add_job(77, "build", runner_name="GitHub Actions 1", status="completed",
                            created_at=created, started_at=created)
        github_repo.add_job(77, "publish", runner_name="GitHub Actions 2", created_at=created,
                            started_at=started)
        github_repo.add_job(77, "later", runner_name="GitHub Actions 3", status="waiting")
        github_repo.add_job(78, "other run", runner_name="GitHub Actions 4")
        _headers, data = gh.requester.requestJsonAndCheck(
            "GET", f"{gh.url}/actions/runs/77/jobs", parameters={"per_page": 2})
        assert data["total_count"] == 3
        assert [(j["name"], j["status"], j["runner_name"]) for j in data["jobs"]] == [
            ("build", "completed", "GitHub Actions 1"), ("publish", "in_progress",
                                                         "GitHub Actions 2")]
        assert (data["jobs"][1]["created_at"], data["jobs"][1]["started_at"]) == (
            "2026-01-02T09:00:00Z", "2026-01-02T09:30:00Z")
        _headers, rest = gh.requester.requestJsonAndCheck(
            "GET", f"{gh.url}/actions/runs/77/jobs", parameters={"per_page": 2, "page": 2})
        assert [(j["name"], j["runner_name"]) for j in rest["jobs"]] == [("later", None)]

    def test_attestation_roundtrip(self, gh):
        """An attestation stored for a digest is listed under that digest."""
        digest = hashlib.sha256(b"wheel").hexdigest()
        statement = {"subject": [{"name": "w.whl", "digest": {"sha256": digest}}]}
        payload = base64.b64encode(json.dumps(statement).encode()).decode()
        bundle = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json"},
        }
        _h, created = gh.requester.requestJsonAndCheck(
            "POST", f"{gh.url}/attestations", input={"bundle": bundle}
        )
        _h, listed = gh.requester.requestJsonAndCheck(
            "GET", f"{gh.url}/attestations/sha256:{digest}"
        )
        assert isinstance(created["id"], int)
        assert listed["attestations"][0]["bundle"] == bundle


class TestImmutableReleases:
    @pytest.fixture
    def published(self, gh, github_repo):
        github_repo.set_immutable_releases(True)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"sdist"), 5, "p-1.0.tar.gz")
        return draft.update_release("v1.0", "", draft=False)

    def test_published_release_is_immutable(self, published):
        """Publishing in a repository with immutable releases marks the release immutable."""
        assert published.raw_data["immutable"] is True

    def test_upload_refused(self, published):
        """A published immutable release refuses new assets with 422."""
        with pytest.raises(GithubException) as caught:
            published.upload_asset_from_memory(io.BytesIO(b"w"), 1, "late.whl")
        assert caught.value.status == 422
        assert "immutable release" in caught.value.data["message"]

    def test_delete_refused(self, published):
        """A published immutable release refuses to lose an asset."""
        with pytest.raises(GithubException) as caught:
            published.assets[0].delete_asset()
        assert caught.value.status == 422

    def test_tag_never_reused(self, gh, published):
        """Once used by an immutable release, a tag cannot be published again."""
        published.delete_release()
        draft = gh.create_git_release("v1.0", "again", "", draft=True)
        with pytest.raises(GithubException) as caught:
            draft.update_release("v1.0", "", draft=False)
        assert caught.value.status == 422

    def test_drafts_stay_writable(self, gh, github_repo):
        """Drafts in such a repository take assets until they are published."""
        github_repo.set_immutable_releases(True)
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)
        draft.upload_asset_from_memory(io.BytesIO(b"1"), 1, "one.txt")
        assert draft.get_assets().totalCount == 1


class TestConcurrency:
    def test_parallel_uploads(self, gh, github_client):
        """Uploads from several clients at once all land (bodies are read outside the lock)."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)

        def upload(n: int) -> str:
            release = github_client().get_repo("acme/widget").get_release(draft.id)
            data = b"%d" % n * 10_000
            return release.upload_asset_from_memory(io.BytesIO(data), len(data), f"{n}.whl").name

        with ThreadPoolExecutor(max_workers=8) as pool:
            names = list(pool.map(upload, range(16)))
        assert sorted(a.name for a in draft.get_assets()) == sorted(names)

    def test_racing_same_name(self, gh, github_client):
        """Of several uploads racing for one name exactly one wins; the rest get 422."""
        draft = gh.create_git_release("v1.0", "v1.0", "", draft=True)

        def upload(_n: int) -> int:
            release = github_client().get_repo("acme/widget").get_release(draft.id)
            try:
                release.upload_asset_from_memory(io.BytesIO(b"same"), 4, "same.whl")
            except GithubException as failure:
                return failure.status
            return 201

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(pool.map(upload, range(8)))
        assert statuses == [201] + [422] * 7
