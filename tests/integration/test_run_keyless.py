"""`release-action run` keyless, as on GitHub: no signing key, no index password.

The example workflow's three jobs (build, release, publish in the `publish` environment) run
one after another, each with the OIDC variables a runner gives a job with `id-token: write`
(from the local Sigstore instance's token endpoint, with that job's claims). The action is
pointed at the instance only by RELEASE_ACTION_SIGSTORE_TRUST_CONFIG. It signs the provenance
through Fulcio and Rekor, makes one PEP 740 attestation per dist, mints upload tokens from the
two Warehouse-like indexes by trusted publishing, sends the attestations with the uploads, and
reads the provenance back from the Integrity API; the provenance bundle is also stored in the
GitHub double's attestations API, found there by each file's digest. Then the `sigstore` CLI
verifies the bundle attached to the release for the workflow's identity, and a changed byte
fails it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import requests

from action.attestation.keyless import TRUST_CONFIG_VARIABLE
from action.cli import main
from tests.doubles.fixtures import TOKEN
from tests.doubles.sigstore_local import GitHubJob, cli_verify
from tests.doubles.warehouse import TrustedPublisher
from tests.integration.harness import (
    NAME,
    SDIST,
    TAG,
    WHEEL,
    WORKFLOW,
    make_project,
    set_runner_env,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.doubles.github import GitHubDouble
    from tests.doubles.sigstore_local import SigstoreInstance
    from tests.fixtures_warehouse import Warehouse

RUN_ID = 4242
REPOSITORY = "octo/tiny-release"


@pytest.fixture
def keyless_release(*, tmp_path: Path, github_api: GitHubDouble,
                    sigstore_instance: SigstoreInstance, warehouse: Warehouse,
                    test_warehouse: Warehouse,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    project = make_project(tmp_path / "workspace")
    sha = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    repo = github_api.create_repo(REPOSITORY)
    repo.add_commit("release 1.0.0", sha=sha, date=datetime(2026, 1, 1, tzinfo=UTC))
    repo.tag(TAG, sha, annotated=True, message="v1.0.0")
    warehouse.publishers(TrustedPublisher(NAME, REPOSITORY, "release.yml", "publish"))
    test_warehouse.publishers(TrustedPublisher(NAME, REPOSITORY, "release.yml"))
    home = tmp_path / "home"
    home.mkdir()
    set_runner_env(
        monkeypatch, repository=REPOSITORY, api_url=github_api.api_url, run_id=RUN_ID, sha=sha,
        workspace=project, files=tmp_path, server_url="https://github.com", HOME=str(home),
        **{TRUST_CONFIG_VARIABLE: str(sigstore_instance.trust_config),
           "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_PARTS": "sdist wheel", "INPUT_PLATFORMS": "",
           "INPUT_REPOSITORY-URL": warehouse.url + "/",
           "INPUT_TEST-REPOSITORY-URL": test_warehouse.url + "/"})
    return sha, tmp_path


def job(monkeypatch: pytest.MonkeyPatch, instance: SigstoreInstance, sha: str, step: str,
        environment: str | None = None) -> int:
    """One job of the run: its step, and the OIDC variables of a job with these claims."""
    identity = GitHubJob(repository=REPOSITORY, workflow=WORKFLOW, ref=f"refs/tags/{TAG}",
                         sha=sha, environment=environment, run_id=str(RUN_ID))
    for name, value in instance.runner_environ(identity).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INPUT_STEP", step)
    monkeypatch.setenv("GITHUB_JOB", step)
    return main(["run"])


def test_keyless_release_from_tag_to_pypi(
    *, keyless_release: tuple[str, Path], github_api: GitHubDouble,
    sigstore_instance: SigstoreInstance, warehouse: Warehouse, test_warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
):
    sha, _ = keyless_release
    repo = github_api.repo(REPOSITORY)
    assert job(monkeypatch, sigstore_instance, sha, "build") == 0
    assert job(monkeypatch, sigstore_instance, sha, "release") == 0
    # GitHub's attestations API holds the provenance bundle, found by each file's digest.
    (stored,) = repo.state.attestations
    (draft,) = repo.releases()
    digests = {f"sha256:{hashlib.sha256(bytes(a.data)).hexdigest()}"
               for a in draft.assets.values() if a.name in {SDIST, WHEEL}}
    assert set(stored.subject_digests) == digests
    assert stored.bundle == json.loads(bytes(next(
        a.data for a in draft.assets.values() if a.name == "multiple.intoto.sigstore.json")))
    repo.add_approval(RUN_ID, login="maintainer", environments=("publish",))
    capsys.readouterr()
    assert job(monkeypatch, sigstore_instance, sha, "publish", environment="publish") == 0
    said = capsys.readouterr()
    out = re.sub(r"\x1b\[[0-9;]*m", "", said.out + said.err)
    confirmed = sorted(re.findall(r"index\.provenance-confirmed\s+file=(\S+) index=(\S+)", out))
    assert confirmed == sorted((f, i) for i in ("testpypi", "pypi") for f in (SDIST, WHEEL))

    (release,) = repo.releases()
    assert not release.draft
    assets = {a.name: bytes(a.data) for a in release.assets.values()}
    for index in (warehouse, test_warehouse):
        held = {p.name: p.read_bytes() for p in index.packages.rglob("*") if p.is_file()}
        assert held == {SDIST: assets[SDIST], WHEEL: assets[WHEEL]}
        for name in (SDIST, WHEEL):
            answer = index.provenance(NAME, "1.0.0", name)
            assert answer.status_code == 200
            (bundle,) = answer.json()["attestation_bundles"]
            assert bundle["publisher"]["repository"] == REPOSITORY
            assert bundle["publisher"]["workflow"] == "release.yml"

    # The independent verifier: the provenance bundle as attached to the release.
    bundle = tmp_path / "multiple.intoto.sigstore.json"
    bundle.write_bytes(assets["multiple.intoto.sigstore.json"])
    identity = f"https://github.com/{REPOSITORY}/{WORKFLOW}@refs/tags/{TAG}"
    for name in (SDIST, WHEEL):
        artifact = tmp_path / name
        artifact.write_bytes(assets[name])
        good = cli_verify(sigstore_instance, bundle, artifact, identity)
        assert good.returncode == 0, good.stderr
        assert f"OK: {artifact}" in good.stderr
    # As `gh attestation verify FILE -R owner/repo` finds it: the attestations listed for the
    # file's digest, whose bundle the same verifier accepts for the workflow's identity.
    for name in (SDIST, WHEEL):
        digest = hashlib.sha256(assets[name]).hexdigest()
        listed = requests.get(f"{github_api.api_url}/repos/{REPOSITORY}/attestations/"
                              f"sha256:{digest}", headers={"Authorization": f"bearer {TOKEN}"},
                              timeout=30)
        assert listed.status_code == 200
        (found,) = listed.json()["attestations"]
        fetched = tmp_path / f"{name}.from-github.sigstore.json"
        fetched.write_text(json.dumps(found["bundle"]))
        good = cli_verify(sigstore_instance, fetched, tmp_path / name, identity)
        assert good.returncode == 0, good.stderr
    data = bytearray(assets[WHEEL])
    data[len(data) // 2] ^= 0x01
    (tmp_path / WHEEL).write_bytes(bytes(data))
    bad = cli_verify(sigstore_instance, bundle, tmp_path / WHEEL, identity)
    assert bad.returncode == 1
    assert "in-toto statement has no subject for digest" in bad.stderr


def test_a_publish_job_outside_the_publishers_environment_is_refused_with_the_fix(
    *, keyless_release: tuple[str, Path], github_api: GitHubDouble,
    sigstore_instance: SigstoreInstance, warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):
    """PyPI's trusted publisher names environment `pypi`, the job runs in `publish`: the
    index refuses to mint and the action says which values to register."""
    sha, _ = keyless_release
    warehouse.publishers(TrustedPublisher(NAME, REPOSITORY, "release.yml", "pypi"))
    assert job(monkeypatch, sigstore_instance, sha, "build") == 0
    assert job(monkeypatch, sigstore_instance, sha, "release") == 0
    github_api.repo(REPOSITORY).add_approval(RUN_ID, environments=("publish",))
    capsys.readouterr()
    assert job(monkeypatch, sigstore_instance, sha, "publish", environment="publish") != 0
    out = capsys.readouterr().out
    assert ("pypi refused to mint an upload token: invalid-publisher: valid token, but no "
            "corresponding publisher") in out
    assert f"repository {REPOSITORY}, workflow release.yml, environment publish" in out
    assert not [p for p in warehouse.packages.rglob("*") if p.is_file()]
