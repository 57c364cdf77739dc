"""A stateful double of GitHub's REST API, served on 127.0.0.1 for PyGithub to use unchanged.

    double = GitHubDouble(token="t")
    with double:
        repo = double.create_repo("acme/widget")
        gh = github.Github(base_url=double.api_url, auth=github.Auth.Token("t"),
                           seconds_between_requests=0, seconds_between_writes=0, retry=None)

Like GitHub Enterprise: the API lives under `/api/v3`, uploads under `/api/uploads` (the origin of
a release's `upload_url`), and a release asset's bytes under `/api/objects/...` (where
`GET .../releases/assets/{id}` with `Accept: application/octet-stream` redirects).
Every request is recorded in `calls`; `inject()` adds faults (see `faults.py`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, unquote

from tests.doubles import faults as f
from tests.doubles.github_model import (
    AnnotatedTag,
    Approval,
    Asset,
    Attestation,
    Commit,
    Ids,
    Release,
    Repository,
    RunJob,
    Urls,
    User,
    approval_json,
    asset_json,
    git_sha,
    release_json,
    repository_json,
    run_job_json,
    untagged,
)
from tests.doubles.wire import (
    Call,
    Handler,
    Request,
    Response,
    Server,
    error,
    json_response,
    no_content,
    not_found,
    paginate,
    validation_failed,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

RATE_LIMIT = 5000
IMMUTABLE_UPLOAD = "Cannot upload assets to an immutable release."
IMMUTABLE_DELETE = "Cannot delete assets from an immutable release."

Route = tuple[str, re.Pattern[str], "Callable[[Request, re.Match[str]], Response]"]
REPO = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


class GitHubDouble:
    """The server, its state, the call log and the knobs tests turn."""

    def __init__(
        self,
        *,
        token: str,
        login: str = "github-actions[bot]",
        seed: int = 0,
        latency: float = 0.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.latency = latency
        self.faults = f.FaultPlan(seed=seed)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.kills: list[Call] = []
        self._ids = Ids()
        self._user = User(login=login, id=41898282)
        self._repos: dict[str, Repository] = {}
        self._calls: list[Call] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._rate_used = 0
        self._rate_reset = int(time.time()) + 3600
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._api_routes()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = Server(self._handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def urls(self) -> Urls:
        if self._server is None:
            raise RuntimeError("the double is not started")
        host, port = self._server.server_address[:2]
        return Urls(root=f"http://{host!s}:{port}")

    @property
    def api_url(self) -> str:
        """What `GITHUB_API_URL` / `Github(base_url=...)` should be."""
        return self.urls.api

    @property
    def root_url(self) -> str:
        return self.urls.root

    # -- knobs -----------------------------------------------------------------------------

    def inject(
        self,
        fault: f.Fault,
        *,
        method: str | None = None,
        path: str = "",
        nth: int | None = None,
        rate: float = 1.0,
        times: int | None = None,
    ) -> f.Rule:
        """Give `fault` to the calls that match (`path` is a regex searched in the URL path)."""
        match = f.Match(method=method, path=path, nth=nth, rate=rate, times=times)
        return self.faults.add(fault, match)

    @property
    def killed(self) -> bool:
        return bool(self.kills)

    # -- call log --------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str | None = None, path: str = "") -> list[Call]:
        """The recorded calls with this method whose path matches the regex `path`."""
        return [
            c
            for c in self.calls
            if (method is None or c.method == method.upper()) and re.search(path, c.path)
        ]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def summary(self) -> list[tuple[str, str, int | None]]:
        """(method, path, status) per call: compact for assertions and failure messages."""
        return [(c.method, c.path, c.status) for c in self.calls]

    # -- state helpers for tests -----------------------------------------------------------

    def create_repo(
        self, full_name: str, *, immutable_releases: bool = False, private: bool = False
    ) -> RepoHandle:
        owner, name = full_name.split("/")
        with self._lock:
            now = self.clock()
            repo = Repository(
                id=self._ids(),
                owner=User(login=owner, id=self._ids()),
                name=name,
                created_at=now,
                private=private,
                immutable_releases=immutable_releases,
            )
            self._repos[full_name.lower()] = repo
            handle = RepoHandle(self, repo)
            handle.add_commit("Initial commit", date=now)
        return handle

    def repo(self, full_name: str) -> RepoHandle:
        with self._lock:
            return RepoHandle(self, self._repos[full_name.lower()])

    # -- request handling ------------------------------------------------------------------

    def _handle(self, handler: Handler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = Request.parse(handler.command, handler.path, headers)
        if self.latency:
            self._stopping.wait(self.latency)
        fault = self.faults.pick(request.method, request.path)
        kind = _kind(request.path)
        if fault is not None and not isinstance(fault, f.Kill | f.Reset | f.Timeout | f.HalfUpload):
            self._read_body(handler, request)
            self._answer(handler, request, kind, _fault_response(fault), type(fault).__name__)
            return
        if fault is not None:
            self._interrupt(handler, request, kind, fault)
            return
        if "chunked" in request.headers.get("transfer-encoding", ""):
            # The double reads bodies by Content-Length only (GitHub's uploads require it).
            self._answer(handler, request, kind, error(411, "Length Required"), None)
            handler.close_connection = True
            return
        self._read_body(handler, request)
        self._answer(handler, request, kind, self._dispatch(request, kind), None)

    def _read_body(self, handler: Handler, request: Request) -> None:
        size = request.content_length
        if size:
            request.body = handler.read_exactly(size)

    def _dispatch(self, request: Request, kind: str) -> Response:
        if kind == "download":
            return self._download(request)
        if not self._authorised(request):
            message = "Requires authentication" if "authorization" not in request.headers else None
            return error(401, message or "Bad credentials")
        match = re.match(r"^/api/(?:v3|uploads)(?P<rest>/.*)$", request.path)
        rest = match["rest"] if match else request.path
        routes = self._upload_routes() if kind == "uploads" else self._routes
        for method, pattern, action in routes:
            found = pattern.match(rest)
            if found and method == request.method:
                with self._lock:
                    return action(request, found)
        return not_found()

    def _authorised(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() in {"token", "bearer"} and credential == self.token

    def _interrupt(self, handler: Handler, request: Request, kind: str, fault: f.Fault) -> None:
        """Carry out the chosen part of the call, then drop the connection unanswered."""
        apply = fault.apply if isinstance(fault, f.Kill | f.Reset | f.Timeout) else f.Apply.PARTIAL
        if apply is f.Apply.PARTIAL and kind == "uploads":
            self._half_upload(handler, request)
        else:
            self._read_body(handler, request)
            if apply is f.Apply.ALL:
                self._dispatch(request, kind)
        call = self._record(request, kind, None, type(fault).__name__)
        if isinstance(fault, f.Kill):
            with self._lock:
                self.kills.append(call)
        if isinstance(fault, f.Timeout):
            self._stopping.wait(fault.hold)
        handler.reset()

    def _half_upload(self, handler: Handler, request: Request) -> None:
        """Read half the body, leave a `starter` asset holding the name."""
        request.body = handler.read_exactly((request.content_length or 0) // 2)
        with self._lock:
            found = re.match(REPO + r"/releases/(?P<id>\d+)/assets$", _strip(request.path))
            release = self._release_for(found) if found else None
            name = request.param("name")
            if release is None or name is None or release.asset_named(name) is not None:
                return
            asset = self._new_asset(request, name)
            asset.state = "starter"
            release.assets[asset.id] = asset

    def _answer(
        self, handler: Handler, request: Request, kind: str, response: Response, fault: str | None
    ) -> None:
        self._record(request, kind, response, fault)
        handler.send(response, self._common_headers(kind, limited=fault == "PrimaryRateLimit"))

    def _record(
        self, request: Request, kind: str, response: Response | None, fault: str | None
    ) -> Call:
        call = Call(
            method=request.method,
            path=request.path,
            query=request.raw_query,
            kind=kind,
            status=response.status if response else None,
            content_type=response.content_type if response else None,
            body=response.body if response else b"",
            fault=fault,
        )
        with self._lock:
            self._calls.append(call)
            if kind != "download" and not request.path.endswith("/rate_limit"):
                self._rate_used += 1
        return call

    def _common_headers(self, kind: str, *, limited: bool) -> dict[str, str]:
        if kind == "download":
            return {}
        with self._lock:
            used = self._rate_used
        remaining = 0 if limited else max(RATE_LIMIT - used, 0)
        return {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(self._rate_reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": f"DBL:{used:08X}",
        }

    # -- routes ----------------------------------------------------------------------------

    def _api_routes(self) -> list[Route]:
        table: list[tuple[str, str, Callable[[Request, re.Match[str]], Response]]] = [
            ("GET", r"^/rate_limit$", self._rate_limit),
            ("GET", REPO + "$", self._get_repo),
            ("GET", REPO + "/releases$", self._list_releases),
            ("POST", REPO + "/releases$", self._create_release),
            ("GET", REPO + "/releases/latest$", self._latest_release),
            ("GET", REPO + "/releases/tags/(?P<tag>.+)$", self._release_by_tag),
            ("GET", REPO + r"/releases/(?P<id>\d+)$", self._get_release),
            ("PATCH", REPO + r"/releases/(?P<id>\d+)$", self._update_release),
            ("DELETE", REPO + r"/releases/(?P<id>\d+)$", self._delete_release),
            ("GET", REPO + r"/releases/(?P<id>\d+)/assets$", self._list_assets),
            ("GET", REPO + r"/releases/assets/(?P<asset>\d+)$", self._get_asset),
            ("DELETE", REPO + r"/releases/assets/(?P<asset>\d+)$", self._delete_asset),
            ("GET", REPO + "/git/ref/(?P<ref>.+)$", self._get_ref),
            ("GET", REPO + "/git/tags/(?P<sha>[0-9a-f]{40})$", self._get_tag),
            ("GET", REPO + "/git/commits/(?P<sha>[0-9a-f]{40})$", self._get_git_commit),
            ("GET", REPO + "/commits/(?P<ref>.+)$", self._get_commit),
            ("GET", REPO + r"/actions/runs/(?P<run>\d+)/approvals$", self._approvals),
            ("GET", REPO + r"/actions/runs/(?P<run>\d+)/jobs$", self._run_jobs),
            ("POST", REPO + "/attestations$", self._create_attestation),
            ("GET", REPO + "/attestations/(?P<digest>[^/]+)$", self._attestations),
        ]
        return [(method, re.compile(pattern), action) for method, pattern, action in table]

    def _upload_routes(self) -> list[Route]:
        return [("POST", re.compile(REPO + r"/releases/(?P<id>\d+)/assets$"), self._upload)]

    def _repo_for(self, found: re.Match[str]) -> Repository | None:
        return self._repos.get(f"{unquote(found['owner'])}/{unquote(found['repo'])}".lower())

    def _release_for(self, found: re.Match[str]) -> Release | None:
        repo = self._repo_for(found)
        return repo.releases.get(int(found["id"])) if repo else None

    def _rate_limit(self, _request: Request, _found: re.Match[str]) -> Response:
        core = {
            "limit": RATE_LIMIT,
            "remaining": max(RATE_LIMIT - self._rate_used, 0),
            "reset": self._rate_reset,
            "used": self._rate_used,
        }
        search = {"limit": 30, "remaining": 30, "reset": self._rate_reset, "used": 0}
        return json_response(200, {"resources": {"core": core, "search": search}, "rate": core})

    def _get_repo(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        return json_response(200, repository_json(repo, self.urls)) if repo else not_found()

    # releases

    def _release_response(self, status: int, release: Release, repo: Repository) -> Response:
        return json_response(status, release_json(release, self.urls, repo.full_name))

    def _list_releases(self, request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        ordered = sorted(repo.releases.values(), key=lambda r: r.id, reverse=True)
        page, link = paginate(ordered, request, self.urls.root)
        body = [release_json(r, self.urls, repo.full_name) for r in page]
        return json_response(200, body, {"Link": link} if link else None)

    def _create_release(self, request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        data = request.json()
        tag = data.get("tag_name")
        if not isinstance(tag, str) or not tag:
            return validation_failed("Release", "missing_field", "tag_name")
        now = self.clock()
        release = Release(
            id=self._ids(),
            tag_name=tag,
            target_commitish=data.get("target_commitish") or repo.default_branch,
            name=data.get("name"),
            body=data.get("body"),
            draft=bool(data.get("draft", False)),
            prerelease=bool(data.get("prerelease", False)),
            created_at=now,
            updated_at=now,
            author=self._user,
        )
        if not release.draft:
            refused = self._publish(repo, release)
            if refused is not None:
                return refused
        repo.releases[release.id] = release
        return self._release_response(201, release, repo)

    def _publish(self, repo: Repository, release: Release) -> Response | None:
        """Make `release` published: its tag must be free; the tag ref is created if missing."""
        if release.tag_name in repo.burned_tags:
            return validation_failed(
                "Release",
                "custom",
                "tag_name",
                message="tag_name was used by an immutable release",
            )
        taken = any(
            r.tag_name == release.tag_name and not r.draft and r.id != release.id
            for r in repo.releases.values()
        )
        if taken:
            return validation_failed("Release", "already_exists", "tag_name")
        if f"tags/{release.tag_name}" not in repo.refs:
            sha = repo.resolve(release.target_commitish)
            if sha is None:
                return validation_failed("Release", "invalid", "target_commitish")
            repo.refs[f"tags/{release.tag_name}"] = sha
        release.draft = False
        release.published_at = self.clock()
        if repo.immutable_releases:
            release.immutable = True
            repo.burned_tags.add(release.tag_name)
        return None

    def _get_release(self, _request: Request, found: re.Match[str]) -> Response:
        repo, release = self._repo_for(found), self._release_for(found)
        if repo is None or release is None:
            return not_found()
        return self._release_response(200, release, repo)

    def _release_by_tag(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        tag = unquote(found["tag"])
        if repo is None:
            return not_found()
        published = [r for r in repo.releases.values() if r.tag_name == tag and not r.draft]
        return self._release_response(200, published[0], repo) if published else not_found()

    def _latest_release(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        candidates = [r for r in repo.releases.values() if not r.draft and not r.prerelease]
        if not candidates:
            return not_found()
        latest = max(candidates, key=lambda r: (r.published_at or r.created_at, r.id))
        return self._release_response(200, latest, repo)

    def _update_release(self, request: Request, found: re.Match[str]) -> Response:
        repo, release = self._repo_for(found), self._release_for(found)
        if repo is None or release is None:
            return not_found()
        data = request.json()
        if release.immutable and data.get("tag_name", release.tag_name) != release.tag_name:
            return validation_failed("Release", "custom", "tag_name", message="immutable")
        for key in ("tag_name", "target_commitish", "name", "body", "prerelease"):
            if key in data:
                setattr(release, key, data[key])
        if release.draft and data.get("draft") is False:
            refused = self._publish(repo, release)
            if refused is not None:
                return refused
        elif not release.immutable and data.get("draft") is True:
            release.draft, release.published_at = True, None
        release.updated_at = self.clock()
        return self._release_response(200, release, repo)

    def _delete_release(self, _request: Request, found: re.Match[str]) -> Response:
        repo, release = self._repo_for(found), self._release_for(found)
        if repo is None or release is None:
            return not_found()
        del repo.releases[release.id]
        return no_content()

    # assets

    def _find_asset(self, found: re.Match[str]) -> tuple[Repository, Release, Asset] | None:
        repo = self._repo_for(found)
        asset_id = int(found["asset"])
        for release in repo.releases.values() if repo else ():
            if asset_id in release.assets and repo is not None:
                return repo, release, release.assets[asset_id]
        return None

    def _list_assets(self, request: Request, found: re.Match[str]) -> Response:
        repo, release = self._repo_for(found), self._release_for(found)
        if repo is None or release is None:
            return not_found()
        page, link = paginate(list(release.assets.values()), request, self.urls.root)
        body = [asset_json(a, release, self.urls, repo.full_name) for a in page]
        return json_response(200, body, {"Link": link} if link else None)

    def _get_asset(self, request: Request, found: re.Match[str]) -> Response:
        located = self._find_asset(found)
        if located is None:
            return not_found()
        repo, release, asset = located
        if "application/octet-stream" in request.headers.get("accept", ""):
            location = f"{self.urls.root}/api/objects/release-assets/{asset.id}/{quote(asset.name)}"
            return Response(status=302, headers={"Location": location})
        return json_response(200, asset_json(asset, release, self.urls, repo.full_name))

    def _delete_asset(self, _request: Request, found: re.Match[str]) -> Response:
        located = self._find_asset(found)
        if located is None:
            return not_found()
        _repo, release, asset = located
        if release.immutable:
            return error(422, IMMUTABLE_DELETE)
        del release.assets[asset.id]
        return no_content()

    def _new_asset(self, request: Request, name: str) -> Asset:
        now = self.clock()
        return Asset(
            id=self._ids(),
            name=name,
            label=request.param("label") or None,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            data=request.body,
            state="uploaded",
            created_at=now,
            updated_at=now,
            uploader=self._user,
        )

    def _upload(self, request: Request, found: re.Match[str]) -> Response:
        repo, release = self._repo_for(found), self._release_for(found)
        if repo is None or release is None:
            return not_found()
        name = request.param("name")
        if not name:
            return validation_failed("ReleaseAsset", "missing_field", "name")
        if release.immutable:
            return error(422, IMMUTABLE_UPLOAD)
        if release.asset_named(name) is not None:
            return validation_failed("ReleaseAsset", "already_exists", "name")
        asset = self._new_asset(request, name)
        release.assets[asset.id] = asset
        return json_response(201, asset_json(asset, release, self.urls, repo.full_name))

    def _download(self, request: Request) -> Response:
        """The bytes behind a 302 (like objects.githubusercontent.com) or a browser URL."""
        with self._lock:
            asset = self._asset_for_download(request.path)
            if asset is None or asset.state != "uploaded":
                return Response(status=404, body=b"Not Found", content_type="text/plain")
            if "/api/objects/" not in request.path:
                target = (
                    f"{self.urls.root}/api/objects/release-assets/{asset.id}/{quote(asset.name)}"
                )
                return Response(status=302, headers={"Location": target})
            asset.download_count += 1
            disposition = f'attachment; filename="{asset.name}"'
            return Response(
                status=200,
                body=asset.data,
                content_type="application/octet-stream",
                headers={"Content-Disposition": disposition},
            )

    def _asset_for_download(self, path: str) -> Asset | None:
        by_id = re.match(r"^/api/objects/release-assets/(\d+)/", path)
        by_url = re.match(r"^/([^/]+)/([^/]+)/releases/download/([^/]+)/([^/]+)$", path)
        for repo in self._repos.values():
            for release in repo.releases.values():
                for asset in release.assets.values():
                    if by_id and int(by_id[1]) == asset.id:
                        return asset
                    if by_url and _is_download_of(by_url, repo, release, asset):
                        return asset
        return None

    # git

    def _get_ref(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        ref = unquote(found["ref"])
        if repo is None or ref not in repo.refs:
            return not_found()
        sha = repo.refs[ref]
        kind = "tag" if sha in repo.tags else "commit"
        api = self.urls.repo_api(repo.full_name)
        return json_response(
            200,
            {
                "ref": f"refs/{ref}",
                "node_id": f"REF_{git_sha(ref)[:12]}",
                "url": f"{api}/git/refs/{ref}",
                "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
            },
        )

    def _get_tag(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        tag = repo.tags.get(found["sha"]) if repo else None
        if repo is None or tag is None:
            return not_found()
        return json_response(200, tag.to_json(self.urls, repo.full_name))

    def _get_git_commit(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        commit = repo.commits.get(found["sha"]) if repo else None
        if repo is None or commit is None:
            return not_found()
        return json_response(200, commit.git_json(self.urls, repo.full_name))

    def _get_commit(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        sha = repo.resolve(unquote(found["ref"])) if repo else None
        if repo is None or sha is None:
            return error(422, f"No commit found for SHA: {unquote(found['ref'])}")
        return json_response(200, repo.commits[sha].rest_json(self.urls, repo.full_name))

    # approvals and attestations

    def _approvals(self, _request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        run = int(found["run"])
        body = [approval_json(a, repo, self.urls) for a in repo.approvals if a.run_id == run]
        return json_response(200, body)

    def _run_jobs(self, request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        run = int(found["run"])
        jobs = [j for j in repo.jobs if j.run_id == run]
        page, link = paginate(jobs, request, self.urls.root)
        body = {"total_count": len(jobs),
                "jobs": [run_job_json(j, repo, self.urls) for j in page]}
        return json_response(200, body, {"Link": link} if link else None)

    def _create_attestation(self, request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        if repo is None:
            return not_found()
        bundle = request.json().get("bundle")
        digests = _subject_digests(bundle)
        if not isinstance(bundle, dict) or not digests:
            return validation_failed("Attestation", "invalid", "bundle")
        attestation = Attestation(id=self._ids(), bundle=bundle, subject_digests=digests)
        repo.attestations.append(attestation)
        return json_response(201, {"id": attestation.id})

    def _attestations(self, request: Request, found: re.Match[str]) -> Response:
        repo = self._repo_for(found)
        digest = unquote(found["digest"])
        if repo is None:
            return not_found()
        matching = [a for a in repo.attestations if digest in a.subject_digests]
        if not matching:
            return not_found()
        page, link = paginate(matching, request, self.urls.root)
        api = self.urls.repo_api(repo.full_name)
        body = {
            "attestations": [
                {
                    "bundle": a.bundle,
                    "repository_id": repo.id,
                    "bundle_url": f"{api}/attestations/{a.id}/bundle",
                }
                for a in page
            ]
        }
        return json_response(200, body, {"Link": link} if link else None)


@dataclass(frozen=True)
class RepoHandle:
    """Test-side access to one repository of the double (every method takes the lock)."""

    double: GitHubDouble
    state: Repository

    @property
    def full_name(self) -> str:
        return self.state.full_name

    @property
    def immutable_releases(self) -> bool:
        return self.state.immutable_releases

    def set_immutable_releases(self, enabled: bool) -> None:
        with self.double._lock:
            self.state.immutable_releases = enabled

    def add_commit(
        self, message: str, *, date: datetime | None = None, branch: str | None = None,
        sha: str | None = None,
    ) -> str:
        """A new commit on `branch` (default branch by default); returns its sha.

        `sha` mirrors a commit of a real local git repository (the one a test checks out).
        """
        with self.double._lock:
            branch = branch or self.state.default_branch
            parent = self.state.refs.get(f"heads/{branch}")
            when = date or self.double.clock()
            sha = sha or git_sha("commit", self.full_name, message, when.isoformat(),
                                 parent or "")
            self.state.commits[sha] = Commit(
                sha=sha,
                message=message,
                author_date=when,
                committer_date=when,
                parents=[parent] if parent else [],
            )
            self.state.refs[f"heads/{branch}"] = sha
            return sha

    def head(self, branch: str | None = None) -> str:
        with self.double._lock:
            return self.state.refs[f"heads/{branch or self.state.default_branch}"]

    def tag(
        self,
        name: str,
        commit: str | None = None,
        *,
        annotated: bool = False,
        message: str = "",
        date: datetime | None = None,
    ) -> str:
        """Create `refs/tags/<name>` at `commit` (head by default); returns what the ref names."""
        with self.double._lock:
            target = commit or self.head()
            if not annotated:
                self.state.refs[f"tags/{name}"] = target
                return target
            when = date or self.double.clock()
            sha = git_sha("tag", self.full_name, name, target)
            self.state.tags[sha] = AnnotatedTag(
                sha=sha, tag=name, message=message or name, object_sha=target, date=when
            )
            self.state.refs[f"tags/{name}"] = sha
            return sha

    def add_approval(
        self,
        run_id: int,
        *,
        login: str = "maintainer",
        state: str = "approved",
        comment: str = "",
        environments: Iterable[str] = ("publish",),
        job: str | None = "publish",
        runner_name: str | None = None,
    ) -> None:
        """A reviewer approves the run's environment gate. A gate holds a job: `job` (None:
        none) is recorded as GitHub does, created (waiting) a minute before the approval and
        started a second after it, on `runner_name`."""
        with self.double._lock:
            now = self.double.clock()
            self.state.approvals.append(
                Approval(
                    run_id=run_id,
                    state=state,
                    comment=comment,
                    environments=list(environments),
                    user=User(login=login, id=self.double._ids()),
                    at=now,
                )
            )
        if job is not None and state == "approved":
            self.add_job(run_id, job, runner_name=runner_name or f"GitHub Actions {run_id}",
                         created_at=now - timedelta(minutes=1),
                         started_at=now + timedelta(seconds=1))

    def add_job(
        self,
        run_id: int,
        name: str,
        *,
        runner_name: str | None = None,
        status: str = "in_progress",
        created_at: datetime | None = None,
        started_at: datetime | None = None,
        workflow_name: str = "release",
    ) -> int:
        """A job of the run, as the runner reports it (created, then started); its id."""
        with self.double._lock:
            now = self.double.clock()
            head = self.state.refs.get(f"heads/{self.state.default_branch}", "0" * 40)
            job = RunJob(id=self.double._ids(), run_id=run_id, name=name, status=status,
                         runner_name=runner_name, created_at=created_at or now,
                         started_at=started_at or now, head_sha=head,
                         workflow_name=workflow_name)
            self.state.jobs.append(job)
            return job.id

    def add_release(
        self, tag: str, *, draft: bool = True, name: str | None = None, prerelease: bool = False
    ) -> int:
        """Seed a release without going through HTTP (e.g. many, for pagination); its id."""
        with self.double._lock:
            now = self.double.clock()
            release = Release(
                id=self.double._ids(),
                tag_name=tag,
                target_commitish=self.state.default_branch,
                name=name or tag,
                body="",
                draft=True,
                prerelease=prerelease,
                created_at=now,
                updated_at=now,
                author=self.double._user,
            )
            if not draft and self.double._publish(self.state, release) is not None:
                raise ValueError(f"cannot publish {tag}")
            self.state.releases[release.id] = release
            return release.id

    def add_asset(self, release_id: int, name: str, data: bytes) -> int:
        """Seed an uploaded asset without going through HTTP (e.g. many, for pagination)."""
        with self.double._lock:
            now = self.double.clock()
            asset = Asset(id=self.double._ids(), name=name, label=None,
                          content_type="application/octet-stream", data=data,
                          state="uploaded", created_at=now, updated_at=now,
                          uploader=self.double._user)
            self.state.releases[release_id].assets[asset.id] = asset
            return asset.id

    def releases(self) -> list[Release]:
        with self.double._lock:
            return list(self.state.releases.values())

    def release(self, release_id: int) -> Release:
        with self.double._lock:
            return self.state.releases[release_id]


def _kind(path: str) -> str:
    if path.startswith("/api/uploads/"):
        return "uploads"
    if path.startswith("/api/v3/") or path == "/api/v3":
        return "api"
    return "download"


def _strip(path: str) -> str:
    return re.sub(r"^/api/(?:v3|uploads)", "", path)


def _is_download_of(found: re.Match[str], repo: Repository, release: Release, asset: Asset) -> bool:
    owner, name, tag, filename = (unquote(part) for part in found.groups())
    if f"{owner}/{name}".lower() != repo.full_name.lower() or filename != asset.name:
        return False
    return tag == (untagged(release) if release.draft else release.tag_name)


def _fault_response(fault: f.Fault) -> Response:
    if isinstance(fault, f.ServerError):
        return error(fault.status, fault.message)
    if isinstance(fault, f.PrimaryRateLimit):
        response = error(fault.status, "API rate limit exceeded for user ID 41898282.")
        response.headers["x-ratelimit-reset"] = str(int(time.time()) + fault.reset_in)
        return response
    if isinstance(fault, f.SecondaryRateLimit):
        response = error(
            403,
            "You have exceeded a secondary rate limit. "
            "Please wait a few minutes before you try again.",
        )
        response.headers["retry-after"] = str(fault.retry_after)
        return response
    raise TypeError(f"not an answered fault: {fault!r}")


def _subject_digests(bundle: Any) -> list[str]:
    """`sha256:<hex>` of each subject of the in-toto statement in a DSSE bundle."""
    try:
        payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
        statement = json.loads(payload)
        return [f"sha256:{s['digest']['sha256']}" for s in statement["subject"]]
    except (KeyError, TypeError, ValueError, binascii.Error):
        return []
