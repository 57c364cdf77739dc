"""The local Sigstore instance itself: sigstore-python signs against it through its trust
configuration alone, and the `sigstore` CLI, as an independent verifier given the same trust
configuration, accepts the bundle for the workflow's identity and refuses a changed byte or
another identity."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import jwt
import pytest
import requests
from cryptography import x509
from sigstore.dsse import StatementBuilder, Subject
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from tests.doubles.sigstore_local import GITHUB_ISSUER, GitHubJob, cli_verify

if TYPE_CHECKING:
    from pathlib import Path

    from tests.doubles.sigstore_local import SigstoreInstance



def trust(instance: SigstoreInstance) -> ClientTrustConfig:
    return ClientTrustConfig.from_json(instance.trust_config.read_text())


def sign_statement(instance: SigstoreInstance, job: GitHubJob, artifact: Path) -> Bundle:
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    statement = (
        StatementBuilder()
        .subjects([Subject(name=artifact.name, digest={"sha256": digest})])
        .predicate_type("https://slsa.dev/provenance/v1")
        .predicate({"buildDefinition": {}, "runDetails": {}})
        .build()
    )
    context = SigningContext.from_trust_config(trust(instance))
    with context.signer(IdentityToken(instance.token(job))) as signer:
        return signer.sign_dsse(statement)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "widget-1.0.0-py3-none-any.whl"
    path.write_bytes(b"PK\x03\x04 not really a wheel, but bytes to sign " * 50)
    return path


def test_the_runner_token_endpoint_mints_github_tokens(sigstore_instance: SigstoreInstance):
    """Tokens carry GitHub's claims, are signed with the issuer's published key, and a request
    without the job's request token is refused as GitHub refuses it."""
    job = GitHubJob(repository="pallets/markupsafe", environment="release")
    raw = sigstore_instance.token(job, audience="pypi")
    keys = jwt.PyJWKClient(sigstore_instance.jwks_url)
    claims = jwt.decode(raw, keys.get_signing_key_from_jwt(raw).key, algorithms=["RS256"],
                        audience="pypi", issuer=GITHUB_ISSUER)
    assert claims["repository"] == "pallets/markupsafe"
    assert claims["sub"] == "repo:pallets/markupsafe:environment:release"
    assert claims["workflow_ref"] == (
        "pallets/markupsafe/.github/workflows/release.yml@refs/tags/v1.0.0")
    assert claims["job_workflow_ref"] == claims["workflow_ref"]
    assert claims["environment"] == "release"
    assert claims["run_id"] == "4242"
    assert 0 < claims["exp"] - claims["iat"] <= 600
    env = sigstore_instance.runner_environ(job)
    refused = requests.get(env["ACTIONS_ID_TOKEN_REQUEST_URL"], params={"audience": "pypi"},
                           headers={"Authorization": "bearer not-the-request-token"}, timeout=10)
    assert refused.status_code == 401


def test_signed_bundle_verifies_with_the_cli_and_a_changed_byte_fails(
    sigstore_instance: SigstoreInstance, github_job: GitHubJob, artifact: Path, tmp_path: Path
):
    bundle = sign_statement(sigstore_instance, github_job, artifact)
    bundle_path = tmp_path / "provenance.sigstore.json"
    bundle_path.write_text(bundle.to_json())
    san = bundle.signing_certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [github_job.identity]

    good = cli_verify(sigstore_instance, bundle_path, artifact, github_job.identity)
    assert good.returncode == 0, good.stderr
    assert f"OK: {artifact}" in good.stderr

    artifact.write_bytes(b"Q" + artifact.read_bytes()[1:])
    changed = cli_verify(sigstore_instance, bundle_path, artifact, github_job.identity)
    assert changed.returncode != 0
    assert "FAIL" in changed.stderr
    assert "no subject for digest" in changed.stderr


def test_another_workflow_identity_is_refused(
    sigstore_instance: SigstoreInstance, github_job: GitHubJob, artifact: Path, tmp_path: Path
):
    bundle_path = tmp_path / "provenance.sigstore.json"
    bundle_path.write_text(sign_statement(sigstore_instance, github_job, artifact).to_json())
    other = GitHubJob(workflow=".github/workflows/other.yml").identity
    refused = cli_verify(sigstore_instance, bundle_path, artifact, other)
    assert refused.returncode != 0
    assert "FAIL" in refused.stderr
    assert f"Certificate's SANs do not match {other}" in refused.stderr


def test_python_verifier_with_the_instance_root(
    sigstore_instance: SigstoreInstance, github_job: GitHubJob, artifact: Path
):
    """sigstore's Verifier built from the instance's trusted root: the identity policy holds,
    and a bundle whose signature was altered is refused."""
    bundle = sign_statement(sigstore_instance, github_job, artifact)
    verifier = Verifier(trusted_root=trust(sigstore_instance).trusted_root)
    kind, payload = verifier.verify_dsse(
        bundle, Identity(identity=github_job.identity, issuer=GITHUB_ISSUER))
    assert kind == "application/vnd.in-toto+json"
    assert json.loads(payload)["subject"][0]["name"] == artifact.name
    data = json.loads(bundle.to_json())
    sig = data["dsseEnvelope"]["signatures"][0]["sig"]
    data["dsseEnvelope"]["signatures"][0]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(SigstoreError):
        verifier.verify_dsse(Bundle.from_json(json.dumps(data)),
                             Identity(identity=github_job.identity, issuer=GITHUB_ISSUER))


def test_fulcio_refuses_a_token_it_did_not_issue(sigstore_instance: SigstoreInstance):
    """The certificate authority checks the token as Fulcio does: a token signed by anyone else
    gets no certificate (sigstore-python drops the reason, so it is read from the answer too)."""
    forged = jwt.encode({**GitHubJob().claims(), "iss": GITHUB_ISSUER, "aud": "sigstore",
                         "iat": 1, "exp": 2**40}, "a forger's key of at least 32 bytes",
                        algorithm="HS256")
    answer = requests.post(f"{sigstore_instance.url}/api/v2/signingCert",
                           headers={"Authorization": f"Bearer {forged}"},
                           json={"certificateSigningRequest": ""}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["message"] == "the identity token was not signed by this issuer"
    context = SigningContext.from_trust_config(trust(sigstore_instance))
    with pytest.raises(Exception) as info, context.signer(IdentityToken(forged)) as signer:  # noqa: PT011 - the type is private to sigstore, checked by name
        signer.sign_artifact(b"bytes")
    assert type(info.value).__name__ == "FulcioClientError"
