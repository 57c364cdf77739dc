"""A real Job for a tiny project: LocalStore, KeySigner, two pypiservers, a tmp git repo.

`make_project` writes a tiny pure-Python project with an in-tree PEP 517 backend (stdlib
only: no build backend that makes wheels is installed, and tests download nothing) and
commits it with fixed dates, so the tag's commit and SOURCE_DATE_EPOCH are fixed too. The
backend's wheel tag comes from `TINY_WHEEL_TAG` (default py3-none-any), so a backfill test
can build a real cp314 wheel of the same commit, with WHEEL metadata and RECORD that agree
with its name.

`World.job` assembles Services, Config and Job the way `action/rehearse.py` does, with the
package indexes wrapped so a test can kill the process after the Nth upload (`die_after`)
or before a step (`stop_before`), and see which files `ensure` was asked for.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import requests

from action.attestation.keys import KeySigner
from action.config import Config, RunFacts
from action.index import IndexConfig, Outcome, PackageIndex
from action.job import ApprovalRecord, Job, Services
from action.progress import StepStarted
from action.rehearsal_world import LocalTags
from action.retry import Backoff
from action.stores.local import LocalStore
from statemachine.plan import StepInput
from tests.tiny_project import write_project

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pytest

    from action.progress import ProgressEvent
    from action.stores.base import ReleaseStore

NAME = "tiny-release"
DIST = "tiny_release"
VERSION = "1.0.0"
TAG = "v1.0.0"
WORKFLOW = ".github/workflows/release.yml"
COMMIT_DATE = "2026-01-01T00:00:00+00:00"
EPOCH = 1767225600  # COMMIT_DATE as Unix time
REPOSITORY = "octo/tiny-release"
ENVIRONMENT = "publish"
SDIST = f"{DIST}-{VERSION}.tar.gz"
WHEEL = f"{DIST}-{VERSION}-py3-none-any.whl"
CP314_TAG = "cp314-cp314-manylinux_2_17_x86_64"
CP314_WHEEL = f"{DIST}-{VERSION}-{CP314_TAG}.whl"


class ProcessDied(BaseException):
    """The job's process was killed: nothing after this point ran, nothing was cleaned up."""


def _git(project: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
    subprocess.run(
        ["git", "-c", "user.name=Tiny", "-c", "user.email=tiny@example.invalid",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-C", str(project),
         *args],
        check=True, capture_output=True, env=env,
    )


def make_project(where: Path, *, content: str = "X = 1\n") -> Path:
    """Write the tiny project into `where` and commit it (fixed dates); return its path."""
    project = write_project(where / NAME, name=NAME, version=VERSION, content=content)
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "tiny release")
    _git(project, "tag", TAG)
    return project


def build(project: Path, out: Path, kind: str, *, wheel_tag: str = "py3-none-any") -> Path:
    """`python -m build --sdist|--wheel` outside the pipeline (a file from another job)."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--outdir", str(out), str(project)],
        check=True, capture_output=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), "TINY_WHEEL_TAG": wheel_tag},
    )
    (made,) = set(out.iterdir()) - before
    return made


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the world the steps see ------------------------------------------------------------------


@dataclass
class Approvals:
    """Approvals of the environment, as the GitHub API would list them for the run."""

    records: list[ApprovalRecord] = field(default_factory=list)

    def approvals(self, environment: str) -> list[ApprovalRecord]:
        return [r for r in self.records if environment in r.environments]

    def of_run(self, _run_id: str, environment: str) -> list[ApprovalRecord]:
        """Every run of this world has the same approvals."""
        return self.approvals(environment)


def approval(login: str = "reviewer") -> ApprovalRecord:
    return ApprovalRecord(login=login, at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
                          comment="looks right", environments=(ENVIRONMENT,))


@dataclass
class Uploads:
    """Every upload that reached the index (index, file, outcome); kills after the Nth.

    `workers`: uploads in flight per index (None: the production default). A kill stops the
    batch where it is: no upload starts after it, those in flight land."""

    die_after: int | None = None
    workers: int | None = None
    done: list[tuple[str, str, Outcome]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, index: str, name: str) -> None:
        with self._lock:
            self.done.append((index, name, Outcome.UPLOADED))
            if self.die_after is not None and len(self.done) >= self.die_after:
                raise ProcessDied(f"killed after upload {len(self.done)}: {name} to {index}")

    def check_alive(self) -> None:
        with self._lock:
            if self.die_after is not None and len(self.done) >= self.die_after:
                raise ProcessDied("killed: no more uploads")


class WatchedIndex(PackageIndex):
    """The real client, reporting each upload that landed to `Uploads` (which may kill)."""

    def __init__(self, config: IndexConfig, uploads: Uploads) -> None:
        workers = {"workers": uploads.workers} if uploads.workers else {}
        super().__init__(config, backoff=Backoff(attempts=2, base=0.01), **workers)
        self.uploads = uploads

    def upload(self, path: Path, *, attestations: Sequence[Path] = ()) -> None:
        self.uploads.check_alive()
        super().upload(path, attestations=attestations)
        self.uploads.count(self.config.name, path.name)


@dataclass
class Progress:
    """The job's progress events; raises ProcessDied on reaching the step `stop_before`."""

    stop_before: str | None = None
    events: list[ProgressEvent] = field(default_factory=list)

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, StepStarted) and event.kind.value == self.stop_before:
            raise ProcessDied(f"killed before {event.title}")
        self.events.append(event)


@dataclass
class World:
    """One release's surroundings: the project, the store, the key and the two indexes."""

    project: Path
    store_root: Path
    private_key: str
    indexes: dict[str, IndexConfig]

    def job(
        self,
        workdir: Path,
        *,
        python: tuple[str, ...] = (),
        parts: tuple[str, ...] = ("sdist", "wheel"),
        wheels: tuple[str, ...] = (),
        platforms: tuple[str, ...] = (),
        wheel_source: str = "sdist",
        dist_dir: Path | None = None,
        approvals: Approvals | None = None,
        require_approval: bool = True,
        in_environment: bool = True,
        uploads: Uploads | None = None,
        progress: Progress | None = None,
        store: ReleaseStore | None = None,
    ) -> Job:
        """A fresh Job (as in a new workflow run) on this world's store."""
        key = KeySigner.from_pem(self.private_key)
        watched = uploads if uploads is not None else Uploads()
        clients: dict[str, PackageIndex] = {}

        def index(name: str) -> PackageIndex:
            if name not in clients:
                clients[name] = WatchedIndex(self.indexes[name], watched)
            return clients[name]

        services = Services(
            store=store if store is not None else LocalStore(self.store_root),
            tags=LocalTags(self.project),
            approvals=approvals if approvals is not None else Approvals([approval()]),
            indexes=index,
            signer=lambda: key,
            build_env=dict(os.environ),
            public_key=key.public_pem,
            in_environment=lambda _env: in_environment,
            progress=progress if progress is not None else Progress(),
        )
        config = Config(
            step=StepInput.AUTO, tag=TAG, python=python, dist_dir=dist_dir or workdir / "dist",
            project_dir=self.project, parts=parts, platforms=platforms, wheels=wheels,
            wheel_source=wheel_source,
            repository_url="", test_repository_url="", skip_test_pypi=False,
            approval_environment=ENVIRONMENT, require_approval=require_approval, debug=False,
            run=RunFacts(repository=REPOSITORY, server_url="https://github.invalid",
                         run_id="4242", job="release", actor="octocat", workflow="release.yml",
                         event="push"),
        )
        return Job(config, services, workdir)


# --- reading what an index holds --------------------------------------------------------------


def held_files(packages: Path) -> list[str]:
    """Names of the files in a pypiserver's package directory (with repeats, sorted)."""
    return sorted(p.name for p in packages.rglob("*") if p.is_file())


def simple_listing(config: IndexConfig, project: str = NAME) -> list[tuple[str, str]]:
    """(file name, sha256) pairs the simple API links to, sorted, repeats kept."""
    response = requests.get(config.project_url(project), timeout=10,
                            headers={"Accept": "text/html"})
    if response.status_code == 404:
        return []
    response.raise_for_status()
    pairs = []
    for href in re.findall(r'href="([^"]+)"', response.text):
        path, _, fragment = href.partition("#")
        pairs.append((path.rsplit("/", 1)[-1], fragment.removeprefix("sha256=")))
    return sorted(pairs)


def set_runner_env(
    monkeypatch: pytest.MonkeyPatch, *, repository: str, api_url: str, run_id: int, sha: str,
    workspace: Path, files: Path, server_url: str = "https://github.example",
    **extra: str,
) -> None:
    """The environment a runner gives a job of the tag push's run (GITHUB_*, the job files in
    `files`, no write pacing), after clearing any INPUT_/GITHUB_/ACTIONS_ variable the test
    process had; `extra` adds the inputs and anything else the test needs."""
    for key in [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_", "ACTIONS_"))]:
        monkeypatch.delenv(key)
    env = {
        "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": repository,
        "GITHUB_API_URL": api_url, "GITHUB_SERVER_URL": server_url,
        "GITHUB_RUN_ID": str(run_id), "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKFLOW_REF": f"{repository}/{WORKFLOW}@refs/tags/{TAG}",
        "GITHUB_EVENT_NAME": "push", "GITHUB_REF": f"refs/tags/{TAG}", "GITHUB_SHA": sha,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(files / "output"), "GITHUB_STEP_SUMMARY": str(files / "sum"),
        "RELEASE_ACTION_WRITE_INTERVAL": "0",
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
