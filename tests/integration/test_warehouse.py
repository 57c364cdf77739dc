"""The action's index client against a PyPI-like index (pypiserver behind the Warehouse layer)
that checks what PyPI checks: trusted publishing's token exchange with the local OIDC issuer,
PEP 740 attestations verified against the trusted publisher with the local Sigstore instance's
trusted root, and the Integrity API serving them back."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from pypi_attestations import Attestation, Distribution
from sigstore.models import ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from structlog.testing import capture_logs

from action.errors import PackageIndexError
from action.index import ApiToken, IndexConfig, PackageIndex, TrustedPublishing, mint_token
from tests.doubles.sigstore_local import GitHubJob
from tests.doubles.warehouse import TrustedPublisher
from tests.fixtures_index import TEST_TOKEN

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.doubles.sigstore_local import SigstoreInstance
    from tests.fixtures_index import Dists
    from tests.fixtures_warehouse import Warehouse


def attest(instance: SigstoreInstance, job: GitHubJob, dists: tuple[Path, ...],
           directory: Path) -> list[Path]:
    """PEP 740 attestations signed with `job`'s identity, one file per dist."""
    context = SigningContext.from_trust_config(
        ClientTrustConfig.from_json(instance.trust_config.read_text()))
    made = []
    with context.signer(IdentityToken(instance.token(job))) as signer:
        for dist in dists:
            attestation = Attestation.sign(signer, Distribution.from_file(dist))
            path = directory / f"{dist.name}.publish.attestation"
            path.write_text(attestation.model_dump_json())
            made.append(path)
    return made


@pytest.fixture
def widget(build_dists: Callable[..., Dists]) -> Dists:
    return build_dists(name="widget", version="1.0.0")


def test_trusted_publishing_with_attestations_and_the_integrity_api(
    warehouse: Warehouse, keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
    widget: Dists, tmp_path: Path,
):
    index = PackageIndex(warehouse.config())
    for dist, attestation in zip(widget.all, attest(sigstore_instance, keyless_job, widget.all,
                                                    tmp_path), strict=True):
        index.upload(dist, attestations=[attestation])
    assert set(index.files("widget")) == {p.name for p in widget.all}
    for dist in widget.all:
        answer = warehouse.provenance("widget", "1.0.0", dist.name)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/vnd.pypi.integrity.v1+json"
        (bundle,) = answer.json()["attestation_bundles"]
        assert bundle["publisher"] == {"kind": "GitHub", "repository": "acme/widget",
                                       "workflow": "release.yml", "environment": "pypi"}
        (served,) = bundle["attestations"]
        statement = Attestation.model_validate(served).statement
        assert statement["subject"][0]["name"] == dist.name
    missing = warehouse.provenance("widget", "1.0.0", "widget-9.tar.gz")
    assert missing.status_code == 404


def test_the_provenance_read_back_must_name_this_workflows_publisher(
    warehouse: Warehouse, keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
    widget: Dists, tmp_path: Path,
):
    """After the upload the action reads the Integrity API: provenance from its own workflow's
    publisher passes; the same file seen by a job of another workflow, or a file the index
    holds no provenance for, is refused with what to check."""
    (attestation,) = attest(sigstore_instance, keyless_job, (widget.sdist,), tmp_path)
    index = PackageIndex(warehouse.config())
    index.upload(widget.sdist, attestations=[attestation])
    ours = IndexConfig.create("pypi", upload_url=warehouse.url + "/", credentials=
                              TrustedPublishing(repository="acme/widget", workflow="release.yml"))
    with capture_logs() as logs:
        PackageIndex(ours).confirm_provenance(widget.sdist)
    assert [e["file"] for e in logs if e["event"] == "index.provenance-confirmed"] == [
        widget.sdist.name]
    other = IndexConfig.create("pypi", upload_url=warehouse.url + "/", credentials=
                               TrustedPublishing(repository="acme/widget", workflow="nightly.yml"))
    with pytest.raises(PackageIndexError, match="names the publisher") as info:
        PackageIndex(other).confirm_provenance(widget.sdist)
    assert "'workflow': 'release.yml'" in info.value.message
    assert "Publishing" in info.value.hint
    index.upload(widget.wheel)
    with pytest.raises(PackageIndexError, match="holds no provenance for"):
        PackageIndex(ours).confirm_provenance(widget.wheel)


def test_an_attestation_from_another_workflow_is_refused_with_pypis_message(
    warehouse: Warehouse, keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
    widget: Dists, tmp_path: Path,
):
    """The token is minted for the publisher's workflow, but the attestation was signed by
    another workflow of the same repository: PyPI's 400, and nothing is stored."""
    other = GitHubJob(workflow=".github/workflows/nightly.yml")
    (attestation,) = attest(sigstore_instance, other, (widget.sdist,), tmp_path)
    index = PackageIndex(warehouse.config())
    with pytest.raises(PackageIndexError) as info:
        index.upload(widget.sdist, attestations=[attestation])
    message = info.value.message
    assert ("HTTP 400: Invalid attestations supplied during upload: Could not verify the "
            "uploaded artifact using the included attestation: Verification failed: ") in message
    assert "does not match expected Trusted Publisher (release.yml @ acme/widget)" in message
    assert index.files("widget") == {}


def test_an_attestation_of_other_bytes_is_refused(
    warehouse: Warehouse, keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
    widget: Dists, tmp_path: Path,
):
    (attestation,) = attest(sigstore_instance, keyless_job, (widget.sdist,), tmp_path)
    widget.sdist.write_bytes(widget.sdist.read_bytes() + b"\0")
    with pytest.raises(PackageIndexError, match="subject does not match distribution digest"):
        PackageIndex(warehouse.config()).upload(
            widget.sdist, attestations=[attestation])


def test_attestations_need_trusted_publishing(
    warehouse: Warehouse, keyless_job: GitHubJob, sigstore_instance: SigstoreInstance,
    widget: Dists, tmp_path: Path,
):
    """PyPI refuses attestations that come with an API token; so the action, uploading with
    one, leaves them out and the file is accepted without provenance."""
    (attestation,) = attest(sigstore_instance, keyless_job, (widget.sdist,), tmp_path)
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--repository-url",
         warehouse.url + "/", "--attestations", str(widget.sdist), str(attestation)],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": TEST_TOKEN,
             "COLUMNS": "300"},
    )
    assert twine.returncode == 1
    said = " ".join(twine.stdout.split())
    assert "HTTPError: 400 Bad Request" in said
    assert ("Invalid attestations supplied during upload: Attestations are only supported when "
            "using Trusted Publishing") in said
    config = IndexConfig.create("pypi", upload_url=warehouse.url + "/",
                                credentials=ApiToken(TEST_TOKEN))
    PackageIndex(config).upload(widget.sdist, attestations=[attestation])
    assert set(PackageIndex(config).files("widget")) == {widget.sdist.name}
    assert warehouse.provenance("widget", "1.0.0", widget.sdist.name).status_code == 404


@pytest.mark.parametrize(
    ("publisher", "wrong"),
    [
        (TrustedPublisher("widget", "acme/other", "release.yml", "pypi"), "repository"),
        (TrustedPublisher("widget", "acme/widget", "release.yml", "release"), "environment"),
    ],
)
def test_a_token_for_another_publisher_is_refused_with_the_fix(
    warehouse: Warehouse, keyless_job: GitHubJob, publisher: TrustedPublisher, wrong: str,
):
    """The index knows a publisher that differs in one field: it refuses to mint, and the
    action says which values to register."""
    del wrong
    warehouse.publishers(publisher)
    with pytest.raises(PackageIndexError) as info:
        mint_token(warehouse.config())
    assert info.value.message == (
        "pypi refused to mint an upload token: invalid-publisher: valid token, but no "
        "corresponding publisher (Publisher with matching claims was not found)")
    assert "repository acme/widget, workflow release.yml, environment pypi" in info.value.hint
    assert keyless_job.repository == "acme/widget"


def test_a_minted_token_is_for_the_publishers_project_only(
    warehouse: Warehouse, keyless_job: GitHubJob, build_dists: Callable[..., Dists],
):
    del keyless_job
    gadget = build_dists(name="gadget", version="1.0.0")
    with pytest.raises(PackageIndexError, match="HTTP 403: Invalid API Token: OIDC scoped "
                       "token is not valid for project 'gadget'"):
        PackageIndex(warehouse.config()).upload(gadget.sdist)
