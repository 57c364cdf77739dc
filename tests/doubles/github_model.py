"""The GitHub double's state (repositories, git objects, releases, assets) and its JSON shapes.

Plain records, no locking and no HTTP: `github.py` owns the lock and the server. The JSON
renderers produce what GitHub's REST API returns for each object (checked against GitHub's
OpenAPI description by `openapi.py` in every test that uses the double).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_sha(*parts: str) -> str:
    """A deterministic 40-hex object id (the double does not hash real git objects)."""
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Urls:
    """Where the double lives: the API root (like GHES `/api/v3`), uploads and the web root."""

    root: str  # http://127.0.0.1:PORT

    @property
    def api(self) -> str:
        return f"{self.root}/api/v3"

    @property
    def uploads(self) -> str:
        return f"{self.root}/api/uploads"

    def repo_api(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"

    def repo_web(self, full_name: str) -> str:
        return f"{self.root}/{full_name}"


@dataclass(frozen=True, kw_only=True)
class User:
    login: str
    id: int

    def to_json(self, urls: Urls) -> Json:
        api = f"{urls.api}/users/{self.login}"
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "avatar_url": f"{urls.root}/avatars/{self.login}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{urls.root}/{self.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "Bot" if self.login.endswith("[bot]") else "User",
            "site_admin": False,
        }


@dataclass(kw_only=True)
class Commit:
    sha: str
    message: str
    author_date: datetime
    committer_date: datetime
    parents: list[str]
    author_name: str = "A U Thor"
    author_email: str = "author@example.com"

    def git_json(self, urls: Urls, full_name: str) -> Json:
        """The `git/commits/{sha}` shape."""
        api = urls.repo_api(full_name)
        return {
            "sha": self.sha,
            "node_id": f"C_{self.sha[:12]}",
            "url": f"{api}/git/commits/{self.sha}",
            "html_url": f"{urls.repo_web(full_name)}/commit/{self.sha}",
            "author": self._person(self.author_date),
            "committer": self._person(self.committer_date),
            "tree": {"sha": git_sha("tree", self.sha), "url": f"{api}/git/trees/{self.sha}"},
            "message": self.message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/git/commits/{p}",
                    "html_url": f"{urls.repo_web(full_name)}/commit/{p}",
                }
                for p in self.parents
            ],
            "verification": _unsigned(),
        }

    def rest_json(self, urls: Urls, full_name: str) -> Json:
        """The `commits/{ref}` shape (a commit with its git data nested under `commit`)."""
        api = urls.repo_api(full_name)
        git = self.git_json(urls, full_name)
        return {
            "sha": self.sha,
            "node_id": git["node_id"],
            "url": f"{api}/commits/{self.sha}",
            "html_url": git["html_url"],
            "comments_url": f"{api}/commits/{self.sha}/comments",
            "commit": {
                "url": git["url"],
                "author": git["author"],
                "committer": git["committer"],
                "message": self.message,
                "comment_count": 0,
                "tree": git["tree"],
                "verification": git["verification"],
            },
            "author": None,
            "committer": None,
            "parents": git["parents"],
            "files": [],
            "stats": {"additions": 0, "deletions": 0, "total": 0},
        }

    def _person(self, date: datetime) -> Json:
        return {"name": self.author_name, "email": self.author_email, "date": iso(date)}


def _unsigned() -> Json:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


@dataclass(kw_only=True)
class AnnotatedTag:
    sha: str
    tag: str
    message: str
    object_sha: str
    date: datetime

    def to_json(self, urls: Urls, full_name: str) -> Json:
        api = urls.repo_api(full_name)
        return {
            "node_id": f"T_{self.sha[:12]}",
            "tag": self.tag,
            "sha": self.sha,
            "url": f"{api}/git/tags/{self.sha}",
            "message": self.message,
            "tagger": {"name": "A U Thor", "email": "author@example.com", "date": iso(self.date)},
            "object": {
                "sha": self.object_sha,
                "type": "commit",
                "url": f"{api}/git/commits/{self.object_sha}",
            },
            "verification": _unsigned(),
        }


@dataclass(kw_only=True)
class Asset:
    id: int
    name: str
    label: str | None
    content_type: str
    data: bytes
    state: str  # "uploaded", or "starter" for an upload cut off in the middle
    created_at: datetime
    updated_at: datetime
    uploader: User
    download_count: int = 0

    @property
    def digest(self) -> str | None:
        if self.state != "uploaded":
            return None
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass(kw_only=True)
class Release:
    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    created_at: datetime
    updated_at: datetime
    author: User
    published_at: datetime | None = None
    immutable: bool = False
    assets: dict[int, Asset] = field(default_factory=dict)

    def asset_named(self, name: str) -> Asset | None:
        return next((a for a in self.assets.values() if a.name == name), None)


@dataclass(kw_only=True)
class Approval:
    run_id: int
    state: str
    comment: str
    environments: list[str]
    user: User
    at: datetime


@dataclass(kw_only=True)
class RunJob:
    """One job of a workflow run, as the jobs API lists it: a job gated by an environment is
    created (waiting) before its approval and starts after it."""

    id: int
    run_id: int
    name: str
    status: str  # queued, waiting, in_progress, completed
    runner_name: str | None
    created_at: datetime
    started_at: datetime
    head_sha: str
    workflow_name: str


@dataclass(kw_only=True)
class Attestation:
    id: int
    bundle: Json
    subject_digests: list[str]


@dataclass(kw_only=True)
class Repository:
    id: int
    owner: User
    name: str
    created_at: datetime
    default_branch: str = "main"
    private: bool = False
    immutable_releases: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "tags/v1" / "heads/main" -> sha
    tags: dict[str, AnnotatedTag] = field(default_factory=dict)  # annotated tag objects by sha
    releases: dict[int, Release] = field(default_factory=dict)
    burned_tags: set[str] = field(default_factory=set)  # used by an immutable release, forever
    approvals: list[Approval] = field(default_factory=list)
    jobs: list[RunJob] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def resolve(self, commitish: str) -> str | None:
        """A branch, tag or sha -> the commit sha it names (annotated tags peeled)."""
        for candidate in (f"heads/{commitish}", f"tags/{commitish}"):
            if candidate in self.refs:
                sha = self.refs[candidate]
                return self.tags[sha].object_sha if sha in self.tags else sha
        return commitish if commitish in self.commits else None


class Ids:
    """Monotonic ids shared by every object of one double (GitHub ids are global too)."""

    def __init__(self, start: int = 1000) -> None:
        self._next = itertools.count(start)

    def __call__(self) -> int:
        return next(self._next)


def untagged(release: Release) -> str:
    """GitHub's placeholder tag in a draft's URLs (a draft has no tag yet)."""
    return "untagged-" + git_sha("release", str(release.id))[:20]


def url_tag(release: Release) -> str:
    return untagged(release) if release.draft else release.tag_name


def asset_json(asset: Asset, release: Release, urls: Urls, full_name: str) -> Json:
    return {
        "url": f"{urls.repo_api(full_name)}/releases/assets/{asset.id}",
        "browser_download_url": (
            f"{urls.repo_web(full_name)}/releases/download/{url_tag(release)}/{asset.name}"
        ),
        "id": asset.id,
        "node_id": f"RA_{asset.id}",
        "name": asset.name,
        "label": asset.label,
        "state": asset.state,
        "content_type": asset.content_type,
        "size": len(asset.data),
        "digest": asset.digest,
        "download_count": asset.download_count,
        "created_at": iso(asset.created_at),
        "updated_at": iso(asset.updated_at),
        "uploader": asset.uploader.to_json(urls),
    }


def release_json(release: Release, urls: Urls, full_name: str) -> Json:
    api = f"{urls.repo_api(full_name)}/releases/{release.id}"
    archive = None if release.draft else f"{urls.repo_api(full_name)}/%s/{release.tag_name}"
    return {
        "url": api,
        "html_url": f"{urls.repo_web(full_name)}/releases/tag/{url_tag(release)}",
        "assets_url": f"{api}/assets",
        "upload_url": f"{urls.uploads}/repos/{full_name}/releases/{release.id}/assets"
        "{?name,label}",
        "tarball_url": archive and archive % "tarball",
        "zipball_url": archive and archive % "zipball",
        "id": release.id,
        "node_id": f"RE_{release.id}",
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "immutable": release.immutable,
        "created_at": iso(release.created_at),
        "published_at": iso(release.published_at) if release.published_at else None,
        "updated_at": iso(release.updated_at),
        "author": release.author.to_json(urls),
        "assets": [asset_json(a, release, urls, full_name) for a in release.assets.values()],
    }


_REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def repository_json(repo: Repository, urls: Urls) -> Json:
    api = urls.repo_api(repo.full_name)
    web = urls.repo_web(repo.full_name)
    created = iso(repo.created_at)
    counts = dict.fromkeys(
        (
            "forks",
            "forks_count",
            "open_issues",
            "open_issues_count",
            "size",
            "stargazers_count",
            "watchers",
            "watchers_count",
            "network_count",
            "subscribers_count",
        ),
        0,
    )
    flags = dict.fromkeys(
        ("has_issues", "has_projects", "has_wiki", "has_downloads", "has_discussions"), True
    )
    return {
        "id": repo.id,
        "node_id": f"R_{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": repo.owner.to_json(urls),
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "html_url": web,
        "description": None,
        "fork": False,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URL_TEMPLATES.items()},
        "git_url": f"git://127.0.0.1/{repo.full_name}.git",
        "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
        "clone_url": f"{web}.git",
        "svn_url": web,
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "default_branch": repo.default_branch,
        "has_pages": False,
        "archived": False,
        "disabled": False,
        "license": None,
        "topics": [],
        "pushed_at": created,
        "created_at": created,
        "updated_at": created,
        "permissions": {
            "admin": True,
            "maintain": True,
            "push": True,
            "triage": True,
            "pull": True,
        },
        **counts,
        **flags,
    }


def approval_json(approval: Approval, repo: Repository, urls: Urls) -> Json:
    web = urls.repo_web(repo.full_name)
    return {
        "state": approval.state,
        "comment": approval.comment,
        "user": approval.user.to_json(urls),
        "environments": [
            {
                "id": _small_id(name),
                "node_id": f"EN_{_small_id(name)}",
                "name": name,
                "url": f"{urls.repo_api(repo.full_name)}/environments/{name}",
                "html_url": f"{web}/deployments/activity_log?environments_filter={name}",
                "created_at": iso(repo.created_at),
                "updated_at": iso(approval.at),
            }
            for name in approval.environments
        ],
    }


def run_job_json(job: RunJob, repo: Repository, urls: Urls) -> Json:
    api, web = urls.repo_api(repo.full_name), urls.repo_web(repo.full_name)
    running = job.status != "waiting"
    return {
        "id": job.id,
        "run_id": job.run_id,
        "run_url": f"{api}/actions/runs/{job.run_id}",
        "run_attempt": 1,
        "node_id": f"CR_{job.id}",
        "head_sha": job.head_sha,
        "url": f"{api}/actions/jobs/{job.id}",
        "html_url": f"{web}/actions/runs/{job.run_id}/job/{job.id}",
        "status": job.status,
        "conclusion": "success" if job.status == "completed" else None,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.started_at) if job.status == "completed" else None,
        "name": job.name,
        "steps": [],
        "check_run_url": f"{api}/check-runs/{job.id}",
        "labels": ["ubuntu-latest"],
        "runner_id": job.id if running else None,
        "runner_name": job.runner_name if running else None,
        "runner_group_id": 1 if running else None,
        "runner_group_name": "GitHub Actions" if running else None,
        "workflow_name": job.workflow_name,
        "head_branch": None,
    }


def _small_id(text: str) -> int:
    return int(git_sha("environment", text)[:8], 16)
