"""What GitHub knows about the tag and this workflow run: the tag's commit and its date (the
one `action.tags.TagInfo`), who approved the run's environments, and the run's jobs (when
each was created and started, on which runner). PyGithub has no wrapper for these calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from github import GithubException

from action.errors import ConfigError
from action.github.failures import HTTP_NOT_FOUND
from action.tags import TagInfo

if TYPE_CHECKING:
    from collections.abc import Mapping

    from action.github.transport import Transport

TAG_DEPTH = 5  # annotated tags pointing at annotated tags, peeled at most this deep


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
class RunJob:
    """One job of a workflow run, as GitHub records it (the jobs API)."""

    name: str
    status: str  # queued, waiting, in_progress, completed, ...
    runner_name: str | None
    created_at: datetime
    started_at: datetime | None


def resolve_tag(http: Transport, repository: str, tag: str) -> TagInfo:
    """The tag's commit (annotated tags peeled) and that commit's committer date."""
    repo = f"/repos/{repository}"
    try:
        ref = http.retried("GET", f"{repo}/git/ref/tags/{quote(tag)}")
    except GithubException as exc:
        if exc.status != HTTP_NOT_FOUND:
            raise
        raise ConfigError(f"tag {tag} does not exist in {repository}",
                          hint="Push the tag (git push origin TAG) before running the "
                          "release, or fix the `tag` input.") from exc
    target = ref["object"]
    for _ in range(TAG_DEPTH):
        if target["type"] != "tag":
            break
        target = http.retried("GET", f"{repo}/git/tags/{target['sha']}")["object"]
    if target["type"] != "commit":
        raise ConfigError(f"tag {tag} points at a {target['type']}, not a commit")
    commit = http.retried("GET", f"{repo}/git/commits/{target['sha']}")
    date = datetime.fromisoformat(commit["committer"]["date"])
    return TagInfo(tag=tag, commit=str(target["sha"]), epoch=int(date.timestamp()))


def approvals(http: Transport, repository: str, run_id: int) -> list[Approval]:
    """Who approved or rejected the run's environment gates."""
    entries = http.retried("GET", f"/repos/{repository}/actions/runs/{run_id}/approvals")
    return [_approval(e) for e in entries]


def run_jobs(http: Transport, repository: str, run_id: int) -> list[RunJob]:
    """The run's jobs, every page."""
    jobs: list[RunJob] = []
    for page in range(1, 1000):
        data = http.retried("GET", f"/repos/{repository}/actions/runs/{run_id}/jobs"
                            f"?per_page={http.tuning.per_page}&page={page}")
        found = data.get("jobs") or []
        jobs += [_run_job(e) for e in found]
        if not found or len(jobs) >= int(data.get("total_count", 0)):
            break
    return jobs


def _run_job(entry: Mapping[str, Any]) -> RunJob:
    started = entry.get("started_at")
    return RunJob(name=str(entry["name"]), status=str(entry["status"]),
                  runner_name=entry.get("runner_name"),
                  created_at=datetime.fromisoformat(entry["created_at"]),
                  started_at=datetime.fromisoformat(started) if started else None)


def _approval(entry: Mapping[str, Any]) -> Approval:
    environments = entry.get("environments") or []
    times = [datetime.fromisoformat(e["updated_at"]) for e in environments
             if e.get("updated_at")]
    return Approval(
        login=str(entry["user"]["login"]),
        state=str(entry["state"]),
        comment=str(entry.get("comment") or ""),
        environments=tuple(str(e.get("name", "")) for e in environments),
        at=max(times) if times else None,
    )
