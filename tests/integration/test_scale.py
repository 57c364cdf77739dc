"""A release of many files through `release-action run`: GitHub requests, writes and hashing.

20 dists of a few KiB (tests/many_dists.py) are taken in by the build job, then the release and
publish jobs run, each as its own runner would (its own HOME and dist directory), against the
GitHub double and two pypiservers. Counted, not timed (timings are in
benchmarks/bench_release.py): GitHub API requests (api and uploads; the redirected asset
downloads are GitHub's object storage), writes (POST, PATCH, PUT, DELETE), and the bytes of
files each job reads to hash them (ours and twine's: tests/hashing.py), against the targets of
the scale issue:
requests <= 2N + 40, writes <= N + 15, a no-op re-dispatch of all three jobs <= 10 requests,
bytes hashed per job <= 2x the bytes released.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from action import digests, dists
from action.attestation.keys import generate_key
from action.cli import main
from tests import hashing
from tests.doubles.fixtures import TOKEN
from tests.fixtures_index import TEST_TOKEN
from tests.integration.harness import (
    NAME,
    REPOSITORY,
    TAG,
    VERSION,
    make_project,
    set_runner_env,
)
from tests.many_dists import write_dists

if TYPE_CHECKING:
    from pathlib import Path

    from tests.doubles.github import GitHubDouble

pytestmark = pytest.mark.integration

RUN_ID = 4242
FILES = 20  # 19 wheels and the sdist
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
LISTING = re.compile(r"/releases/\d+/assets$")


@pytest.fixture
def many(tmp_path, github_api, testpypi_server, pypi_server, monkeypatch):
    """The project at its tag in the double, 20 dists handed to the build job, the runner's env."""
    project = make_project(tmp_path / "workspace")
    sha = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    repo = github_api.create_repo(REPOSITORY)
    repo.add_commit("release 1.0.0", sha=sha, date=datetime(2026, 1, 1, tzinfo=UTC))
    repo.tag(TAG, sha, annotated=True, message=TAG)
    made = write_dists(project / "dist", name=NAME, version=VERSION, wheels=FILES - 1,
                       size=4096)
    private, _public = generate_key()
    set_runner_env(
        monkeypatch, repository=REPOSITORY, api_url=github_api.api_url, run_id=RUN_ID, sha=sha,
        workspace=project, files=tmp_path,
        **{"INPUT_GITHUB-TOKEN": TOKEN, "INPUT_PARTS": "", "INPUT_PLATFORMS": "",
           "INPUT_SIGNING-KEY": private,
           "INPUT_REPOSITORY-URL": pypi_server.url + "/",
           "INPUT_TEST-REPOSITORY-URL": testpypi_server.url + "/",
           "INPUT_PASSWORD": TEST_TOKEN, "INPUT_TEST-PASSWORD": TEST_TOKEN})
    hashing.install()
    yield repo, made, tmp_path
    hashing.uninstall()


def job(monkeypatch, github_api: GitHubDouble, tmp_path: Path, step: str, *,
        dist: str = "no-dist") -> dict[str, int]:
    """One job on a fresh runner (HOME, dist directory, no digests known); what it cost."""
    home = tmp_path / f"home-{step}-{len(github_api.calls)}"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("INPUT_STEP", step)
    monkeypatch.setenv("INPUT_DIST-DIR", dist)
    monkeypatch.setenv("GITHUB_JOB", step)
    digests._known.clear()
    dists._packages.clear()
    before, fed = len(github_api.calls), hashing.FED[0]
    assert main(["run"]) == 0
    calls = [c for c in github_api.calls[before:] if c.kind != "download"]
    return {"requests": len(calls), "writes": sum(c.method in WRITES for c in calls),
            "hashed": hashing.FED[0] - fed,
            "listings": sum(c.method == "GET" and bool(LISTING.search(c.path)) for c in calls),
            "stores": sum(c.method == "POST" and "name=release-state." in c.query
                          for c in calls)}


def test_a_release_of_many_files_stays_within_the_targets(many, github_api, monkeypatch,
                                                          pypi_server, testpypi_server):
    """20 files: requests <= 2N + 40, writes <= N + 15, hashing <= 2x per job, no-op <= 10."""
    repo, made, tmp_path = many
    released = sum(p.stat().st_size for p in made)
    costs = {"build": job(monkeypatch, github_api, tmp_path, "build", dist="dist"),
             "release": job(monkeypatch, github_api, tmp_path, "release")}
    repo.add_approval(RUN_ID, login="maintainer", environments=("publish",))
    costs["publish"] = job(monkeypatch, github_api, tmp_path, "publish")
    (release,) = repo.releases()
    assert not release.draft
    for server in (testpypi_server, pypi_server):
        held = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in server.packages.rglob("*") if p.is_file()}
        assert held == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in made}
    requests = sum(c["requests"] for c in costs.values())
    writes = sum(c["writes"] for c in costs.values())
    assert requests <= 2 * FILES + 40, costs
    assert writes <= FILES + 15, costs
    for name, cost in costs.items():
        assert cost["hashed"] <= 2 * released, (name, cost, released)
        # the release as GitHub answered it holds its assets: loading the log lists none, and
        # only storing it does (the new snapshot confirmed against a fresh listing)
        assert cost["listings"] == cost["stores"], (name, cost)

    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_dispatch")
    monkeypatch.setenv("INPUT_TAG", TAG)
    again = [job(monkeypatch, github_api, tmp_path, step) for step in ("build", "release",
                                                                       "publish")]
    assert sum(c["requests"] for c in again) <= 10, again
    assert sum(c["writes"] for c in again) == 0, again
    assert sum(c["listings"] for c in again) == 0, again
