"""The action's keyless path against the local Sigstore instance, as on a GitHub runner.

The job's OIDC variables come from the instance's runner token endpoint and the action is
pointed at the instance only by RELEASE_ACTION_SIGSTORE_TRUST_CONFIG; the action's own code
signs. The provenance bundle is then checked by the `sigstore` CLI (an independent verifier)
with an identity policy naming the workflow, and a changed byte fails it; the PEP 740
attestations are accepted by the Warehouse-like index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from action.attestation.keyless import TRUST_CONFIG_VARIABLE, SigstoreSigner
from action.attestation.pep740 import ensure_publish_attestations
from action.attestation.signers import SignerConfig, make_signer, sign_provenance
from action.attestation.statement import RunDetails, Subject, build_statement
from action.attestation.verify import verify_provenance
from action.errors import ConfigError, GitHubError, SigningError, VerificationError
from action.github.store import open_github_store
from action.index import PackageIndex
from action.steps.attested import github_bundles
from tests.doubles import faults
from tests.doubles.fixtures import TOKEN
from tests.doubles.sigstore_local import GitHubJob, cli_verify

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.doubles.github import GitHubDouble
    from tests.doubles.sigstore_local import SigstoreInstance
    from tests.fixtures_index import Dists
    from tests.fixtures_warehouse import Warehouse



@pytest.fixture
def on_runner(keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
              monkeypatch: pytest.MonkeyPatch) -> GitHubJob:
    """A GitHub job with `id-token: write` whose action is pointed at the local instance."""
    monkeypatch.setenv(TRUST_CONFIG_VARIABLE, str(sigstore_instance.trust_config))
    return keyless_job


def run_details(job: GitHubJob) -> RunDetails:
    return RunDetails(server_url="https://github.com", repository=job.repository,
                      commit=job.sha, tag=job.ref.removeprefix("refs/tags/"),
                      run_id=job.run_id, run_attempt=int(job.run_attempt),
                      workflow=job.workflow, event=job.event_name, lane="main",
                      started_on=datetime(2026, 12, 1, tzinfo=UTC))


def test_keyless_provenance_verifies_independently_and_a_changed_byte_fails(
    on_runner: GitHubJob, sigstore_instance: SigstoreInstance,
    build_dists: Callable[..., Dists], tmp_path: Path,
):
    dists = build_dists(name="widget", version="1.0.0")
    subjects = [Subject(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in dists.all]
    signer = make_signer(SignerConfig.from_environ(os.environ))
    assert isinstance(signer, SigstoreSigner)
    out = tmp_path / "release"
    out.mkdir()
    files = sign_provenance(signer, build_statement(subjects, run_details(on_runner), ()), out,
                            "main")
    assert files.bundle is not None

    verdict = verify_provenance(
        files.provenance, {p.name: p for p in dists.all}, sigstore_bundle=files.bundle,
        expected_repository=on_runner.repository, expected_commit=on_runner.sha,
        expected_workflow=on_runner.workflow,
        trust_config=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    assert verdict.ok
    identity = f"https://github.com/{on_runner.repository}/{on_runner.workflow}"
    assert verdict.signer == f"sigstore:{identity}"

    for dist in dists.all:
        good = cli_verify(sigstore_instance, files.bundle, dist, on_runner.identity)
        assert good.returncode == 0, good.stderr
        assert f"OK: {dist}" in good.stderr
    data = bytearray(dists.wheel.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    dists.wheel.write_bytes(bytes(data))
    bad = cli_verify(sigstore_instance, files.bundle, dists.wheel, on_runner.identity)
    assert bad.returncode == 1
    assert "in-toto statement has no subject for digest" in bad.stderr
    verdict = verify_provenance(
        files.provenance, {p.name: p for p in dists.all}, sigstore_bundle=files.bundle,
        expected_repository=on_runner.repository, expected_commit=on_runner.sha,
        expected_workflow=on_runner.workflow,
        trust_config=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    assert [v.name for v in verdict.problems] == [dists.wheel.name]


def test_the_action_refuses_provenance_from_another_workflow(
    on_runner: GitHubJob, build_dists: Callable[..., Dists], tmp_path: Path,
):
    dists = build_dists(name="widget", version="1.0.0")
    subjects = [Subject(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in dists.all]
    signer = SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    files = sign_provenance(signer, build_statement(subjects, run_details(on_runner), ()),
                            tmp_path, "main")
    assert files.bundle is not None
    with pytest.raises(VerificationError, match=r"nightly\.yml"):
        verify_provenance(
            files.provenance, {p.name: p for p in dists.all}, sigstore_bundle=files.bundle,
            expected_repository=on_runner.repository, expected_commit=on_runner.sha,
            expected_workflow=".github/workflows/nightly.yml",
            trust_config=Path(os.environ[TRUST_CONFIG_VARIABLE]))


def test_publish_attestations_from_the_action_are_accepted_by_the_index(
    on_runner: GitHubJob, warehouse: Warehouse, build_dists: Callable[..., Dists],
):
    """`ensure_publish_attestations` (the action's attester) signs one attestation per dist;
    the index verifies each against its trusted publisher and serves it back."""
    del on_runner
    dists = build_dists(name="widget", version="1.0.0")
    attestations = ensure_publish_attestations(list(dists.all), environ=dict(os.environ))
    index = PackageIndex(warehouse.config())
    for dist, attestation in zip(dists.all, attestations, strict=True):
        index.upload(dist, attestations=[attestation])
        assert warehouse.provenance("widget", "1.0.0", dist.name).status_code == 200


def test_an_unusable_trust_configuration_is_a_config_error(
    keyless_job: GitHubJob, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
):
    del keyless_job
    broken = tmp_path / "trust.json"
    broken.write_text("{}")
    monkeypatch.setenv(TRUST_CONFIG_VARIABLE, str(broken))
    with pytest.raises(ConfigError, match="trust configuration") as info:
        SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE])).sign(b"{}")
    assert TRUST_CONFIG_VARIABLE in info.value.hint


def test_a_certificate_refusal_is_a_signing_error(
    sigstore_instance: SigstoreInstance, monkeypatch: pytest.MonkeyPatch,
):
    """Fulcio refuses a token without the job's workflow: sigstore-python raises its private
    client error, which the action turns into a SigningError with what to do."""
    job = GitHubJob(extra={"job_workflow_ref": ""})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    for name, value in sigstore_instance.runner_environ(job).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(TRUST_CONFIG_VARIABLE, str(sigstore_instance.trust_config))
    with pytest.raises(SigningError, match="Sigstore could not get a signing certificate") as info:
        SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE])).sign(b"{}")
    assert "id-token: write" in info.value.hint


def test_more_subjects_than_github_takes_are_split(
    on_runner: GitHubJob, github_api: GitHubDouble, tmp_path: Path,
):
    """GitHub's attestations API takes at most 1024 subjects: 1025 files are signed again as
    two statements (1024 + 1), each stored, each found by its files' digests."""
    subjects = [Subject(f"widget-1.0.0-{n}-py3-none-any.whl", f"{n:064x}") for n in range(1025)]
    run = run_details(on_runner)
    signer = SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    whole = sign_provenance(signer, build_statement(subjects, run, ()), tmp_path, "main")
    assert whole.bundle is not None
    parts = github_bundles(signer, whole.bundle.read_text(), subjects, run, ())
    assert [len(statement_of(b)["subject"]) for b in parts] == [1024, 1]
    repo = github_api.create_repo(on_runner.repository)
    store = open_github_store(api_url=github_api.api_url, token=TOKEN,
                              repository=on_runner.repository)
    with store:
        ids = [store.create_attestation(json.loads(b)) for b in parts]
    assert len(set(ids)) == 2
    assert [len(a.subject_digests) for a in repo.state.attestations] == [1024, 1]
    assert repo.state.attestations[1].subject_digests == [f"sha256:{1024:064x}"]


def test_fewer_subjects_store_the_provenance_bundle_itself(on_runner: GitHubJob, tmp_path: Path):
    subjects = [Subject("widget-1.0.0.tar.gz", "ab" * 32)]
    signer = SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    whole = sign_provenance(signer, build_statement(subjects, run_details(on_runner), ()),
                            tmp_path, "main")
    assert whole.bundle is not None
    text = whole.bundle.read_text()
    assert github_bundles(signer, text, subjects, run_details(on_runner), ()) == [text]


def test_without_the_attestations_permission_github_says_what_to_grant(
    on_runner: GitHubJob, github_api: GitHubDouble, tmp_path: Path,
):
    """A token without `attestations: write` gets GitHub's 403: a GitHubError naming the
    permission to add."""
    signer = SigstoreSigner(trust=Path(os.environ[TRUST_CONFIG_VARIABLE]))
    whole = sign_provenance(signer, build_statement(
        [Subject("widget-1.0.0.tar.gz", "ab" * 32)], run_details(on_runner), ()), tmp_path,
        "main")
    assert whole.bundle is not None
    github_api.create_repo(on_runner.repository)
    github_api.inject(faults.ServerError(status=403,
                                         message="Resource not accessible by integration"),
                      method="POST", path="/attestations$")
    with open_github_store(api_url=github_api.api_url, token=TOKEN,
                           repository=on_runner.repository) as store, \
            pytest.raises(GitHubError, match="forbade storing the attestation") as info:
        store.create_attestation(json.loads(whole.bundle.read_text()))
    assert "attestations: write" in info.value.hint


def statement_of(bundle_json: str) -> dict[str, Any]:
    payload = json.loads(bundle_json)["dsseEnvelope"]["payload"]
    return dict(json.loads(base64.b64decode(payload)))
