"""`release-action run`: the action as the runner starts it, wired to GitHub and the indexes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from action import pipeline, report, runner
from action.attestation.keys import KeySigner
from action.attestation.signers import SignerConfig, make_signer
from action.config import Config, RunFacts, RunnerFiles, from_env, writes_paced
from action.errors import ConfigError, ReleaseError
from action.github.store import GitHubStore, open_github_store
from action.github.transport import GitHubTuning
from action.index import ApiToken, IndexConfig, TrustedPublishing, jwt_claims, open_index
from action.job import ApprovalRecord, Job, Services
from action.logs import get_logger
from action.proc import run as run_command
from action.progress import BuildingPart, FileUploaded, Notice, StepStarted
from statemachine.plan import StepInput, StopKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from action.github.pacing import Throttling
    from action.github.run import Approval
    from action.index import PackageIndex
    from action.progress import ProgressEvent
    from action.tags import TagInfo
    from statemachine.plan import Plan

log = get_logger(__name__)
AUDIENCE = "release-action"


class GitHubTags:
    """The tag's commit and date from the API; the checked-out commit from the workspace."""

    def __init__(self, store: GitHubStore, project: Path, sha: str) -> None:
        self.store, self.project, self.sha = store, project, sha

    def resolve(self, tag: str) -> TagInfo:
        return self.store.resolve_tag(tag)

    def checked_out(self) -> str:
        try:
            return run_command(["git", "-c", "safe.directory=*", "-C", str(self.project),
                                "rev-parse", "HEAD"], what="read the checked-out commit"
                               ).stdout.strip()
        except ReleaseError:
            return self.sha  # no git work tree: the runner's GITHUB_SHA is what was checked out


class GitHubApprovals:
    """Approvals of this run's environments, from the run approvals API."""

    def __init__(self, store: GitHubStore, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self._read: list[Approval] | None = None

    def waited_for(self, environment: str, run: RunFacts) -> bool:
        """Whether GitHub's record of this run shows this job gated by an approval of
        `environment`: the job (found by its runner, else its name) was created before an
        approval of the environment and started after it, as a job waiting for its
        environment's reviewers is. Any other job of the run, started before the approval
        or created after it, did not wait for it."""
        records = [r for r in self.approvals(environment) if r.at_known]
        if not records or not self.run_id.isdigit():
            return False
        jobs = [j for j in self.store.run_jobs(int(self.run_id)) if j.status == "in_progress"]
        mine = ([j for j in jobs if j.runner_name == run.runner_name] if run.runner_name
                else [j for j in jobs if j.name == run.job])
        started = mine[0].started_at if len(mine) == 1 else None
        if started is None:
            log.info("environment.job-unknown", runner=run.runner_name, job=run.job,
                     matching=len(mine))
            return False
        job = mine[0]
        waited = any(job.created_at < r.at <= started for r in records)
        log.info("environment.job", job=job.name, created=job.created_at.isoformat(),
                 started=started.isoformat(), waited=waited)
        return waited

    def approvals(self, environment: str) -> list[ApprovalRecord]:
        """Read once per job: a job gated by an environment starts after its approval."""
        if not self.run_id.isdigit():
            return []
        if self._read is None:
            self._read = self.store.approvals(int(self.run_id))
        return _records(self._read, environment)

    def of_run(self, run_id: str, environment: str) -> list[ApprovalRecord] | None:
        """GitHub's approvals of another run (or this one): a run id that is not GitHub's
        has none."""
        if run_id == self.run_id:
            return self.approvals(environment)
        if not run_id.isdigit():
            return []
        return _records(self.store.approvals(int(run_id)), environment)


def _records(read: list[Approval], environment: str) -> list[ApprovalRecord]:
    return [
        ApprovalRecord(login=a.login, at=a.at or datetime.now(UTC), comment=a.comment,
                       environments=a.environments, at_known=a.at is not None)
        for a in read
        if a.state == "approved" and environment in a.environments
    ]


def in_environment(config: Config, approvals: GitHubApprovals) -> bool:
    """Whether this job runs in the approval environment.

    With `id-token: write`, the runner's OIDC token names the job's environment. Without it,
    GitHub's record of the run is the evidence: this job waited for an approval of that
    environment (created before it, started after it); an approval of the run alone is not,
    since every job of the run would have it.
    """
    environment = config.approval_environment
    if config.run.oidc:
        from id import IdentityError, detect_credential  # noqa: PLC0415 - only on GitHub

        try:
            token = detect_credential(audience=AUDIENCE)
        except IdentityError as exc:
            raise ConfigError(f"cannot read this job's OIDC identity: {exc}") from None
        return token is not None and jwt_claims(token).get("environment") == environment
    return approvals.waited_for(environment, config.run)


def _credentials(config: Config, name: str, env: Mapping[str, str]
                 ) -> ApiToken | TrustedPublishing:
    password = config.test_password if name == "testpypi" else config.password
    if password:
        return ApiToken(password)
    return TrustedPublishing.from_env(env, environment=config.approval_environment)


def _publish_attestations(dists: list[Path], env: Mapping[str, str]) -> tuple[Path, ...]:
    """PEP 740 attestations (keyless jobs only: pypi-attestations and sigstore load here)."""
    from action.attestation.pep740 import ensure_publish_attestations  # noqa: PLC0415

    return ensure_publish_attestations(dists, environ=env)


def make_services(config: Config, env: Mapping[str, str]) -> Services:
    # Writes keep to GitHub's limits (80 a minute, 500 an hour) unless turned off.
    tuning = GitHubTuning() if writes_paced(env) else GitHubTuning(writes_per_minute=None,
                                                                    writes_per_hour=None)
    store = open_github_store(api_url=config.run.api_url, token=config.github_token,
                              repository=config.run.repository, tuning=tuning)
    approvals = GitHubApprovals(store, config.run.run_id)
    clients: dict[str, PackageIndex] = {}

    def index(name: str) -> PackageIndex:
        if name not in clients:
            url = config.test_repository_url if name == "testpypi" else config.repository_url
            clients[name] = open_index(IndexConfig.create(
                name, credentials=_credentials(config, name, env), upload_url=url))  # type: ignore[arg-type]  # "testpypi" | "pypi"
        return clients[name]

    public_key = KeySigner.from_pem(config.signing_key).public_pem if config.signing_key \
        else None
    return Services(
        store=store, tags=GitHubTags(store, config.project_dir, config.run.sha),
        approvals=approvals, indexes=index,
        signer=lambda: make_signer(SignerConfig.from_environ(env,
                                                             private_key=config.signing_key)),
        build_env=dict(env), public_key=public_key,
        attester=(lambda dists: _publish_attestations(dists, env))
        if config.run.oidc and not config.signing_key else None,
        record_attestation=store.create_attestation,
        in_environment=lambda _env: in_environment(config, approvals),
        progress=StepGroups(),
    )


class StepGroups:
    """Each step's log lines folded under its own `::group::` in the runner's log."""

    def __init__(self) -> None:
        self.open = False

    def __call__(self, event: ProgressEvent) -> None:
        match event:
            case StepStarted():
                self.close()
                runner.start_group(event.title)
                self.open = True
            case BuildingPart(part=part, number=number, total=total):
                log.info("build", part=part, part_number=f"{number}/{total}")
            case FileUploaded(index=index, name=name, outcome=outcome, number=number,
                              total=total):
                log.info("upload", index=index, file=name, outcome=outcome,
                         file_number=f"{number}/{total}")
            case Notice(text=text):
                log.info("notice", text=text)

    def close(self) -> None:
        if self.open:
            runner.end_group()
            self.open = False


def outputs(job: Job, final: Plan) -> dict[str, str]:
    state = job.log.state
    lane = state.lane(job.config.lane)
    files = [{"name": f.name, "size": f.size, "sha256": f.sha256}
             for f in (lane.release_files() if lane else [])]
    return {
        "state": lane.state.value if lane else "",
        "lane": job.config.lane,
        "release-id": str(job.release.release_id) if job.release else "",
        "release-url": job.release.url if job.release else "",
        "files": json.dumps(files),
        "provenance": lane.provenance.name if lane and lane.provenance else "",
        "next": final.stop.message,
    }


def throttling_note(throttled: Throttling) -> str:
    """A line for the job summary when GitHub's write limits slowed the job down."""
    if throttled.seconds < 1:
        return ""
    hourly = (f", {throttled.hourly_seconds:.0f} s of it for the hourly budget (500 writes)"
              if throttled.hourly_seconds >= 1 else "")
    log.warning("github.throttled", seconds=round(throttled.seconds),
                hourly_seconds=round(throttled.hourly_seconds), writes=throttled.writes)
    return (f"\n\nThrottled: GitHub's limits for content-creating requests held this job's "
            f"{throttled.writes} writes back {throttled.seconds:.0f} s in all{hourly}.\n")


def preflight(config: Config, env: Mapping[str, str]) -> None:
    """Checks that fail fast, before the log is touched or anything is built."""
    wheels = [p for p in config.parts if p not in {"sdist", "wheel"}]
    if config.step in {StepInput.BUILD, StepInput.AUTO} and wheels:
        from action.builders.docker_engine import check_docker  # noqa: PLC0415 - only when building

        check_docker(env)


def run_action(env: Mapping[str, str]) -> int:
    config = from_env(env)
    workdir = Path(env.get("HOME") or "/tmp") / "release-action" / config.tag  # noqa: S108 - fallback only
    services = make_services(config, env)
    job = Job(config, services, workdir)
    preflight(config, env)
    if config.step is StepInput.PUBLISH and not services.in_environment(
        config.approval_environment
    ):
        raise ConfigError(
            f"step `publish` runs only in the job of the `{config.approval_environment}` "
            f"environment, after a reviewer approved it; this job ({config.run.job}) is not "
            "that job, or nobody approved it (without an OIDC token, GitHub's record of the "
            "run must show this job waiting for the approval: created before it, started "
            "after it)",
            hint=f"Give the publish job `environment: {config.approval_environment}` and "
            "protect that environment with required reviewers; grant it `id-token: write` so "
            "the action can read the job's environment from its OIDC token.",
        )
    log.info("release", tag=config.tag, lane=config.lane, step=config.step.value)
    try:
        final = pipeline.run(job)
    finally:
        if isinstance(services.progress, StepGroups):
            services.progress.close()
        store = services.store
        if isinstance(store, GitHubStore):
            store.close()
    files = RunnerFiles.from_env(env)
    runner.write_outputs(files, outputs(job, final))
    summary = report.job_summary(job, final)
    if isinstance(services.store, GitHubStore):
        summary += throttling_note(services.store.throttled())
    runner.append_summary(files, summary)
    log.info("stopped", reason=final.stop.kind.value, next=final.stop.message)
    if final.stop.kind is not StopKind.DONE:
        runner.annotate("notice", final.stop.message, title="release-action: next")
    return 0
