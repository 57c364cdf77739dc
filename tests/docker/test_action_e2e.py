"""The action's image run exactly as the runner runs a container action, one container per job.

The jobs of examples/workflows/release.yml (`build`, `release`, `publish`) each start the real
image (`release-action:test-<hash>`, the `image` fixture) the way the runner does: the
workspace, HOME, the event payload and the file commands mounted at /github/*, the working
directory /github/workspace, the Docker socket, every input as INPUT_<NAME> with hyphens kept
(passed as `-e NAME` with the value in docker's own environment, as the runner does). They talk
to the GitHub API double (`github_api`: every response is checked against GitHub's OpenAPI
description at teardown) and to two pypiservers standing in for Test PyPI and PyPI.

The project is the C-extension sample, committed in a tmp git repository with a fixed date; its
commit is mirrored into the double and tagged v1.0.0, and every job checks the tag out afresh
(as actions/checkout does in a fresh job). The build job runs cibuildwheel inside the action's
container, through the mounted socket, on the local manylinux-like image (the CIBW_* settings
and the host's CA bundle come in as the job's environment).

Measured (printed at the end of the session): the time from `docker run` to the action's first
line of output, and each job's wall time.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from action.attestation.dsse import Envelope
from action.attestation.keys import generate_key
from action.attestation.statement import Subject, WheelSource, read_statement
from action.config import INPUTS
from statemachine.log import load, parse
from statemachine.payloads import UploadConfirmed, UploadStarted
from tests.docker.conftest import DOCKER
from tests.doubles.faults import Apply, Kill, Match
from tests.doubles.fixtures import TOKEN
from tests.fixtures_docker import (
    BUILD_IDENTIFIER,
    BUILDER_IMAGE,
    CONTAINER_CA_BUNDLE,
    CONTAINER_ENGINE,
    FNV_HEADER,
    HOST_CA_BUNDLE,
    SOURCE_DATE_EPOCH,
    copy_example,
    leave_header_out_of_sdist,
)
from tests.fixtures_index import TEST_TOKEN
from tests.real_projects import COMMIT_EPOCH, PROJECTS, make_repository

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from statemachine.replay import LaneState
    from tests.doubles.github import GitHubDouble, RepoHandle
    from tests.fixtures_index import PypiServer

OWNER = "octo"
REPOSITORY = f"{OWNER}/sample-cext"
TAG = "v1.0.0"
SDIST = "sample_cext-1.0.0.tar.gz"
CA_IN_CONTAINER = "/run/host-ca/ca-certificates.crt"
JOB_TIMEOUT = 240
TIMINGS: list[tuple[str, float, float]] = []  # (job, seconds to first line, seconds in all)
NOTHING_LEFT = "Nothing: every lane is published"
RUNNER_UID = 1001  # the user that owns the workspace on GitHub-hosted runners


@pytest.fixture(scope="session", autouse=True)
def e2e_report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print what the containers measured at the end of the session."""
    yield
    if not TIMINGS:
        return
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    firsts = [first for _, first, _ in TIMINGS]
    with capture.global_and_fixture_disabled():
        print(  # noqa: T201 - the report
            f"\nrelease-action e2e: docker run to the action's first log line over "
            f"{len(firsts)} containers: median {statistics.median(firsts) * 1000:.0f} ms, "
            f"min {min(firsts) * 1000:.0f} ms, max {max(firsts) * 1000:.0f} ms", end="")
        for name, first, total in TIMINGS:
            print(f"\nrelease-action e2e: {name}: {total:.1f} s "  # noqa: T201
                  f"(first line after {first * 1000:.0f} ms)", end="")
        print()  # noqa: T201


# -- the runner ----------------------------------------------------------------------------


@dataclass
class JobRun:
    """One job's container: how it ended, what it printed, what it left in the file commands."""

    name: str
    returncode: int
    output: str
    outputs: dict[str, str]
    summary: str


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` and `name<<DELIM` ... `DELIM`."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            found[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            found[name] = value_text
    return found


class KillSwitch(list[Any]):
    """The double's record of kills: recording one kills the job's container on the spot.

    The double appends a `Kill` before it resets the connection, so the container is dead
    before its client could see the reset and retry: a job killed in the middle of a call.
    """

    def __init__(self) -> None:
        super().__init__()
        self.container: str | None = None

    def append(self, item: Any) -> None:
        super().append(item)
        if self.container:
            subprocess.run([DOCKER, "kill", self.container], capture_output=True, check=False,
                           timeout=60)


@dataclass(frozen=True, kw_only=True)
class OnceIndexHolds(Match):
    """The calls `Match` selects, counted only once `packages` (an index's files) is not empty.

    With the snapshot POSTs of a publish job and `nth=1`: the first log snapshot written after
    the first real upload to that index, whatever number of snapshots came before it.
    """

    packages: Path

    def selects(self, method: str, path: str) -> bool:
        return super().selects(method, path) and any(self.packages.iterdir())


@dataclass
class Workflow:
    """examples/workflows/release.yml's jobs for one repository, as the runner runs them."""

    root: Path
    image: str
    double: GitHubDouble
    repo: RepoHandle
    source: Path
    sha: str
    testpypi: PypiServer
    pypi: PypiServer
    signing_key: str
    kills: KillSwitch = field(default_factory=KillSwitch)
    repository: str = REPOSITORY
    tag: str = TAG
    # As on a GitHub-hosted runner: the checkout owned by the runner's user (uid 1001), the
    # container run as root, actions/checkout's shallow clone (`fetch-depth: 1`) of the tag.
    checkout_uid: int | None = None
    shallow: bool = False

    def runner_env(self, run_id: int, *, dispatch: bool) -> dict[str, str]:
        """The runner's GITHUB_* variables of a run (tag push or workflow_dispatch)."""
        ref = "refs/heads/main" if dispatch else f"refs/tags/{self.tag}"
        return {
            "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64", "RUNNER_TEMP": "/home/runner/work/_temp",
            "GITHUB_REPOSITORY": self.repository, "GITHUB_REPOSITORY_OWNER": OWNER,
            "GITHUB_API_URL": self.double.api_url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_RUN_ID": str(run_id), "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "octocat",
            "GITHUB_WORKFLOW": "Release",
            "GITHUB_WORKFLOW_REF": f"{self.repository}/.github/workflows/release.yml@{ref}",
            "GITHUB_EVENT_NAME": "workflow_dispatch" if dispatch else "push",
            "GITHUB_REF": ref, "GITHUB_REF_NAME": ref.rsplit("/", 1)[1],
            "GITHUB_SHA": self.sha,
            "GITHUB_WORKSPACE": "/github/workspace", "HOME": "/github/home",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "RELEASE_ACTION_WRITE_INTERVAL": "0",
        }

    def event(self, *, dispatch: bool, python: str) -> dict[str, Any]:
        repository = {"full_name": self.repository, "fork": False}
        if dispatch:
            return {"ref": "refs/heads/main", "inputs": {"tag": self.tag, "python": python},
                    "repository": repository}
        return {"ref": f"refs/tags/{self.tag}", "after": self.sha, "repository": repository}

    def inputs(self, step: str, given: dict[str, str]) -> dict[str, str]:
        """Every input of action.yml, as the runner passes them: the given ones or defaults."""
        values = dict(INPUTS) | {"github-token": TOKEN, "step": step} | given
        return {f"INPUT_{name.upper()}": value for name, value in values.items()}

    def checkout(self, job_dir: Path) -> Path:
        """A fresh clone at the tag, as actions/checkout makes it in a new job."""
        workspace = job_dir / "workspace"
        shallow = ["--depth", "1", f"file://{self.source}"] if self.shallow else [str(self.source)]
        subprocess.run(["git", "clone", "-q", "--branch", self.tag, *shallow, str(workspace)],
                       check=True, capture_output=True)
        if self.checkout_uid is not None:
            subprocess.run(["chown", "-R", f"{self.checkout_uid}:{self.checkout_uid}",
                            str(workspace)], check=True)
        return workspace

    def job(self, name: str, step: str, *, run_id: int, dispatch: bool = False,
            python: str = "", inputs: dict[str, str] | None = None,
            expect: int | None = 0) -> JobRun:
        """Run one job's container to its end; record its timings."""
        label = f"{name}-{run_id}{'-' + python if python else ''}"
        job_dir = self.root / label
        job_dir.mkdir()
        workspace = self.checkout(job_dir)
        for sub in ("home", "workflow", "file_commands"):
            (job_dir / sub).mkdir()
        (job_dir / "workflow" / "event.json").write_text(
            json.dumps(self.event(dispatch=dispatch, python=python)))
        ident = uuid.uuid4().hex
        files = {"GITHUB_OUTPUT": f"set_output_{ident}", "GITHUB_ENV": f"set_env_{ident}",
                 "GITHUB_PATH": f"add_path_{ident}", "GITHUB_STATE": f"save_state_{ident}",
                 "GITHUB_STEP_SUMMARY": f"step_summary_{ident}"}
        for local in files.values():
            (job_dir / "file_commands" / local).touch()
        env = {
            **self.runner_env(run_id, dispatch=dispatch),
            "GITHUB_JOB": name,
            **{key: f"/github/file_commands/{local}" for key, local in files.items()},
            # The job's `env:` on this machine: cibuildwheel on the local builder image, pip
            # and OpenSSL trusting the machine's CA bundle.
            "CIBW_MANYLINUX_X86_64_IMAGE": BUILDER_IMAGE,
            "CIBW_CONTAINER_ENGINE": CONTAINER_ENGINE,
            "CIBW_BUILD": BUILD_IDENTIFIER,
            "CIBW_ENVIRONMENT_LINUX": f"PIP_CERT={CONTAINER_CA_BUNDLE}",
            "SSL_CERT_FILE": CA_IN_CONTAINER, "PIP_CERT": CA_IN_CONTAINER,
            # `with:` of the workflow's steps: `tag: ${{ inputs.tag }}` and `python: ...`
            # are empty for a tag push.
            **self.inputs(step, {
                "tag": self.tag if dispatch else "", "python": python,
                "signing-key": self.signing_key,
                "repository-url": self.pypi.url + "/",
                "test-repository-url": self.testpypi.url + "/",
                "password": TEST_TOKEN, "test-password": TEST_TOKEN,
                **(inputs or {}),
            }),
        }
        container = f"release-action-e2e-{ident[:12]}"
        command = [
            DOCKER, "run", "--rm", "--name", container, "--network", "host",
            "--workdir", "/github/workspace",
            "-v", "/var/run/docker.sock:/var/run/docker.sock",
            "-v", f"{job_dir / 'home'}:/github/home",
            "-v", f"{job_dir / 'workflow'}:/github/workflow",
            "-v", f"{job_dir / 'file_commands'}:/github/file_commands",
            "-v", f"{workspace}:/github/workspace",
            "-v", f"{HOST_CA_BUNDLE}:{CA_IN_CONTAINER}:ro",
            *[arg for key in sorted(env) for arg in ("-e", key)],
            self.image,
        ]
        self.kills.container = container
        started = time.monotonic()
        first: float | None = None
        lines: list[str] = []
        with subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            # Killing `docker run` would leave the container running: kill the container.
            timer = threading.Timer(JOB_TIMEOUT, subprocess.run, args=(
                [DOCKER, "kill", container],), kwargs={"capture_output": True, "check": False})
            timer.start()
            try:
                for line in proc.stdout:
                    if first is None:
                        first = time.monotonic() - started
                    lines.append(line)
                returncode = proc.wait()
            finally:
                timer.cancel()
                self.kills.container = None
        total = time.monotonic() - started
        TIMINGS.append((label, first if first is not None else total, total))
        output = "".join(lines)
        run = JobRun(
            name=label, returncode=returncode, output=output,
            outputs=parse_outputs((job_dir / "file_commands" / files["GITHUB_OUTPUT"])
                                  .read_text()),
            summary=(job_dir / "file_commands" / files["GITHUB_STEP_SUMMARY"]).read_text(),
        )
        if expect is not None:
            assert returncode == expect, f"job {label} exited {returncode}:\n{output[-12000:]}"
        return run

    # -- what the tests read back ----------------------------------------------------------

    def release_log(self) -> bytes:
        (release,) = self.repo.releases()
        (snapshot,) = [a for a in release.assets.values()
                       if a.name.startswith("release-state.") and a.state == "uploaded"]
        return bytes(snapshot.data)

    def lanes(self) -> dict[str, LaneState]:
        return dict(load(self.release_log()).state.lanes)

    def assets(self) -> dict[str, tuple[int, str]]:
        """The release's complete assets: name -> (id, sha256)."""
        (release,) = self.repo.releases()
        return {a.name: (a.id, hashlib.sha256(bytes(a.data)).hexdigest())
                for a in release.assets.values() if a.state == "uploaded"}

    def kill_after_first_upload_to(self, server: PypiServer) -> None:
        """Kill the job when it stores the log entry of its first real upload to `server`.

        The double drops that snapshot (`Apply.NOTHING`) and the container dies on the spot:
        the file is on the index, the log does not know it.
        """
        self.double.faults.add(Kill(apply=Apply.NOTHING), OnceIndexHolds(
            method="POST", path=r"/releases/\d+/assets$", nth=1, packages=server.packages))


def held(server: PypiServer) -> dict[str, str]:
    """The files an index holds, with their sha256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in server.packages.rglob("*") if p.is_file()}


def ledger(lane: LaneState) -> dict[str, str]:
    return {f.name: f.sha256 for f in lane.dists()}


def git(project: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{SOURCE_DATE_EPOCH} +0000",
           "GIT_COMMITTER_DATE": f"@{SOURCE_DATE_EPOCH} +0000"}
    return subprocess.run(["git", "-C", str(project), "-c", "user.name=Release Bot",
                           "-c", "user.email=bot@example.invalid", *args], check=True,
                          capture_output=True, text=True, env=env).stdout.strip()


def make_workflow(root: Path, image: str, github_api: GitHubDouble, testpypi: PypiServer,
                  pypi: PypiServer, *, source: Path, repository: str = REPOSITORY,
                  tag: str = TAG, date: int = SOURCE_DATE_EPOCH, **runner: Any) -> Workflow:
    """The jobs' runner for the git repository `source` at `tag`, mirrored into the double."""
    sha = git(source, "rev-parse", "HEAD")
    repo = github_api.create_repo(repository)
    repo.add_commit(f"release {tag}", sha=sha, date=datetime.fromtimestamp(date, UTC))
    repo.tag(tag, sha, annotated=True, message=tag)
    private, _public = generate_key()
    flow = Workflow(root=root / "jobs", image=image, double=github_api, repo=repo,
                    source=source, sha=sha, testpypi=testpypi, pypi=pypi,
                    signing_key=private, repository=repository, tag=tag, **runner)
    flow.root.mkdir()
    github_api.kills = flow.kills
    return flow


def committed_cext(root: Path, change: Callable[[Path], None] | None = None) -> Path:
    """The C-extension sample (`change`d first) committed with a fixed date, tagged v1.0.0."""
    source = copy_example("sample-cext", root / "source")
    if change is not None:
        change(source)
    git(source, "init", "-q", "-b", "main")
    git(source, "add", ".")
    git(source, "commit", "-q", "-m", "sample-cext 1.0.0")
    git(source, "tag", TAG)
    return source


@pytest.fixture
def workflow(tmp_path: Path, image: str, github_api: GitHubDouble, testpypi_server: PypiServer,
             pypi_server: PypiServer) -> Workflow:
    """The C-extension sample committed and tagged, mirrored into the double; the jobs' runner."""
    return make_workflow(tmp_path, image, github_api, testpypi_server, pypi_server,
                         source=committed_cext(tmp_path))


# -- the tests -----------------------------------------------------------------------------


def test_tag_push_builds_attests_drafts_and_after_approval_publishes(workflow):
    """build (sdist + cibuildwheel through the socket), release, approval, publish."""
    run_id = 5001
    build = workflow.job("build", "build", run_id=run_id)
    assert build.outputs["state"] == "tagged", build.output[-4000:]
    release = workflow.job("release", "release", run_id=run_id)
    assert release.outputs["state"] == "drafted"
    (draft,) = workflow.repo.releases()
    assert draft.draft
    workflow.repo.add_approval(run_id, environments=("publish",))
    publish = workflow.job("publish", "publish", run_id=run_id)
    assert publish.outputs["state"] == "published"
    (published,) = workflow.repo.releases()
    assert not published.draft
    lane = workflow.lanes()["main"]
    files = ledger(lane)
    (wheel,) = set(files) - {SDIST}
    assert wheel.startswith("sample_cext-1.0.0-cp311-cp311-") and "manylinux" in wheel
    # cibuildwheel ran inside the action's container, on the engine behind the socket, in
    # the local builder image, and the log says so.
    assert BUILDER_IMAGE in {name for name, _digest in lane.parts["linux"].images}
    release_files = {f.name: f.sha256 for f in lane.release_files()}  # dists and provenance
    assert {f["name"]: f["sha256"] for f in json.loads(publish.outputs["files"])} == release_files
    assert {n: sha for n, (_id, sha) in workflow.assets().items()
            if not n.startswith("release-state.")} == release_files
    assert held(workflow.testpypi) == files
    assert held(workflow.pypi) == files
    assert "```mermaid" in publish.summary
    assert NOTHING_LEFT in publish.summary


MAIN = {"parts": "sdist", "platforms": ""}  # the local builder makes cp311 only: see the lane
BACKFILL = {"parts": "linux", "platforms": "linux"}


def run_jobs(workflow: Workflow, run_id: int, *, dispatch: bool, python: str = "",
             inputs: dict[str, str], publish_expect: int | None = 0) -> JobRun:
    """One run of the workflow: build, release, a reviewer approves, publish."""
    for name in ("build", "release"):
        workflow.job(name, name, run_id=run_id, dispatch=dispatch, python=python, inputs=inputs)
    workflow.repo.add_approval(run_id, environments=("publish",))
    return workflow.job("publish", "publish", run_id=run_id, dispatch=dispatch, python=python,
                        inputs=inputs, expect=publish_expect)


def uploads(log: bytes, kind: type[UploadStarted | UploadConfirmed]) -> list[tuple[str, ...]]:
    """(run id, lane, index, file[, uploaded]) of each upload event of the log."""
    found: list[tuple[str, ...]] = []
    for event in parse(log):
        payload = event.payload
        if isinstance(payload, kind):
            extra = (str(payload.uploaded),) if isinstance(payload, UploadConfirmed) else ()
            found.append((event.cause.run_id, event.lane, payload.index, payload.file.name,
                          *extra))
    return found


def index_files(server: PypiServer) -> dict[str, tuple[str, int]]:
    """name -> (sha256, mtime_ns) of what an index holds: a rewrite would change the time."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in server.packages.rglob("*") if p.is_file()}


def test_killed_publish_resumes_by_dispatch_then_nothing_then_a_backfill_lane(workflow):  # noqa: PLR0915 - one story, told in order
    """Killed after a real upload to PyPI; re-dispatched to published; re-dispatched again to
    nothing at all; then a cp311 backfill lane adds its wheel to the same release and indexes."""
    # 1. The tag push: the sdist-only main lane, killed in `publish` right after the sdist
    # reached PyPI, before the log recorded it.
    workflow.kill_after_first_upload_to(workflow.pypi)
    killed = run_jobs(workflow, 7001, dispatch=False, inputs=MAIN, publish_expect=None)
    assert workflow.double.killed, killed.output[-6000:]
    assert killed.returncode == 137, killed.output[-6000:]  # SIGKILL
    (release,) = workflow.repo.releases()
    assert release.draft
    main = workflow.lanes()["main"]
    files = ledger(main)
    assert list(files) == [SDIST]
    assert held(workflow.pypi) == files  # the upload happened ...
    assert main.state.value == "test-published"  # ... the log does not know it
    assert SDIST not in main.confirmed("pypi")

    # 2. Re-dispatched with the tag: it finds the sdist on PyPI by its digest, publishes.
    resumed = run_jobs(workflow, 7002, dispatch=True, inputs=MAIN)
    assert resumed.outputs["state"] == "published", resumed.output[-6000:]
    (release,) = workflow.repo.releases()
    assert not release.draft
    log = workflow.release_log()
    main = load(log).state.main
    assert main.approval.approver == "maintainer"
    assert held(workflow.testpypi) == ledger(main) == files
    assert held(workflow.pypi) == files
    confirmed = uploads(log, UploadConfirmed)
    assert confirmed == [("7001", "main", "testpypi", SDIST, "True"),
                         ("7002", "main", "pypi", SDIST, "False")]  # found, not uploaded again
    assert "```mermaid" in resumed.summary

    # 3. Dispatched once more: nothing to do, nothing written, and the summary says so.
    assets = workflow.assets()
    again = run_jobs(workflow, 7003, dispatch=True, inputs=MAIN)
    assert again.outputs["state"] == "published"
    assert workflow.release_log() == log
    assert workflow.assets() == assets
    assert NOTHING_LEFT in again.summary

    # 4. A backfill lane for cp311, dispatched with `python: cp311`: its wheel joins the same
    # release and both indexes; the sdist is never touched.
    before = {s.name: index_files(s) for s in (workflow.testpypi, workflow.pypi)}
    backfill = run_jobs(workflow, 7004, dispatch=True, python="cp311", inputs=BACKFILL)
    assert backfill.outputs["state"] == "published", backfill.output[-6000:]
    assert backfill.outputs["lane"] == "cp311"
    lanes = workflow.lanes()
    assert ledger(lanes["main"]) == files
    wheels = ledger(lanes["cp311"])
    (wheel,) = wheels
    # Built from the main lane's sdist, fetched from the release by the backfill's build job.
    assert lanes["cp311"].parts["linux"].source == lanes["main"].files[SDIST].file
    assert wheel.startswith("sample_cext-1.0.0-cp311-cp311-") and "manylinux" in wheel
    for server in (workflow.testpypi, workflow.pypi):
        assert held(server) == files | wheels
        assert {n: v for n, v in index_files(server).items() if n == SDIST} == {
            SDIST: before[server.name][SDIST]}
    after = workflow.assets()
    assert after[SDIST] == assets[SDIST]  # the same asset, never replaced
    assert after[wheel][1] == wheels[wheel]
    log = workflow.release_log()
    assert [u[3] for u in uploads(log, UploadStarted) if u[1] == "cp311"] == [wheel, wheel]
    (release,) = workflow.repo.releases()
    assert not release.draft
    assert "```mermaid" in backfill.summary


def provenance_of(workflow: Workflow, lane: str = "main") -> Any:
    """The claims of a lane's provenance, read from the release asset."""
    (release,) = workflow.repo.releases()
    name = "multiple.intoto.jsonl" if lane == "main" else f"{lane}.intoto.jsonl"
    (asset,) = [a for a in release.assets.values() if a.name == name]
    (line,) = bytes(asset.data).splitlines()
    return read_statement(Envelope.from_line(line).payload)


def test_a_vcs_versioned_real_project_releases_from_a_shallow_checkout_the_runner_owns(
        tmp_path, image, github_api, testpypi_server, pypi_server):
    """iniconfig 2.1.0 (hatchling + hatch-vcs: the version from the git tag) through the real
    image as GitHub runs it: a `--depth 1` clone of the tag, owned by uid 1001, the container
    run as root. Its wheel is built from the sdist, and the provenance says so."""
    project = PROJECTS["iniconfig"]
    repo = make_repository(project, tmp_path / "source")
    flow = make_workflow(tmp_path, image, github_api, testpypi_server, pypi_server,
                         source=repo.path, repository="octo/iniconfig", tag=project.tag,
                         date=COMMIT_EPOCH, checkout_uid=RUNNER_UID, shallow=True)
    publish = run_jobs(flow, 8001, dispatch=False, inputs={"parts": "sdist wheel",
                                                           "platforms": ""})
    assert publish.outputs["state"] == "published", publish.output[-6000:]
    workspace = flow.root / "build-8001" / "workspace"
    assert (workspace / ".git" / "shallow").is_file()  # a shallow clone ...
    assert workspace.stat().st_uid == (workspace / "pyproject.toml").stat().st_uid == RUNNER_UID
    lane = flow.lanes()["main"]
    sdist, wheel = "iniconfig-2.1.0.tar.gz", "iniconfig-2.1.0-py3-none-any.whl"
    files = ledger(lane)
    assert set(files) == {sdist, wheel}  # ... gives the tag's version
    assert lane.opened.commit == repo.commit
    assert held(flow.testpypi) == held(flow.pypi) == files
    assert lane.parts["wheel"].source == lane.files[sdist].file
    claims = provenance_of(flow)
    assert claims.wheel_sources == (WheelSource(Subject(sdist, files[sdist]), ("wheel",)),)
    assert claims.digest_of(wheel) == files[wheel]


def stopped_regions_removed(output: str) -> list[str]:
    """The lines the runner reads commands from: those outside `::stop-commands::` regions."""
    read: list[str] = []
    token = None
    for line in output.splitlines():
        if token is not None:
            token = None if line == f"::{token}::" else token
        elif line.startswith("::stop-commands::"):
            token = line.removeprefix("::stop-commands::")
        else:
            read.append(line)
    return read


def test_a_file_missing_from_the_sdist_fails_the_build_in_one_line(
        tmp_path, image, github_api, testpypi_server, pypi_server):
    """The C sample with a header its sdist lacks: the checkout would build, but the wheels
    are built from the sdist, so cibuildwheel fails; the job ends in one escaped ::error::
    naming the build, the compiler's error line and the file missing from the sdist, with
    cibuildwheel's whole output folded above it (commands switched off there)."""
    flow = make_workflow(tmp_path, image, github_api, testpypi_server, pypi_server,
                         source=committed_cext(tmp_path, leave_header_out_of_sdist))
    build = flow.job("build", "build", run_id=9001, expect=13)
    errors = [line for line in stopped_regions_removed(build.output)
              if line.startswith("::error")]
    assert len(errors) == 1, build.output[-6000:]
    summary, _, hint = errors[0].partition("%0A")
    assert summary == (
        f"::error title=build failed::cibuildwheel failed building {BUILD_IDENTIFIER} from the "
        f"sdist {SDIST}: src/sample_cext/_speedups.c:5:10: fatal error: fnv_constants.h: No "
        f"such file or directory ({FNV_HEADER} is in the checkout but missing from the sdist)")
    assert hint.startswith(f"Add {FNV_HEADER} to the sdist (setuptools: MANIFEST.in;")
    assert "%0A" not in hint
    # The whole output is there, folded, where the runner reads no commands.
    folded = build.output.split("::group::cibuildwheel --platform linux (failed, exit code 1)\n"
                                "::stop-commands::")[1]
    token, _, rest = folded.partition("\n")
    assert "::error::cibuildwheel: Command" in rest.split(f"\n::{token}::\n")[0]
    lane = flow.lanes()["main"]
    assert list(ledger(lane)) == [SDIST]
    linux = lane.parts.get("linux")
    assert linux is None or not linux.finished
