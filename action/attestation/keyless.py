"""Keyless signing with Sigstore: a Fulcio certificate for the workflow's OIDC identity, each
signature logged in Rekor; the bundle is kept next to the envelope.

Which Sigstore instance: Sigstore's public-good instance, unless a `ClientTrustConfig` file is
given (RELEASE_ACTION_SIGSTORE_TRUST_CONFIG in the job's environment: a private Sigstore
deployment, or the local instance of the rehearsal and the tests); signing and verifying both
follow it. Only sigstore-python's public API is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import requests
from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig
from sigstore.oidc import ExpiredIdentity, IdentityError, IdentityToken, detect_credential
from sigstore.sign import Signer, SigningContext
from sigstore.verify import Verifier

from action.attestation.dsse import Envelope, SignedStatement
from action.attestation.sigstore_env import (  # here too: keyless.py's public names
    GITHUB_OIDC_VARIABLES,
    TRUST_CONFIG_VARIABLE,
    named_trust_config,
    oidc_available,
)
from action.errors import ConfigError, SigningError
from action.logs import mask

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = [
    "GITHUB_OIDC_VARIABLES",
    "TRUST_CONFIG_VARIABLE",
    "SigstoreSigner",
    "github_identity_token",
    "identity_token",
    "named_trust_config",
    "oidc_available",
    "open_sigstore_signer",
    "read_trust_config",
    "signed_from_bundle",
    "sigstore_call",
    "sigstore_verifier",
    "trust_config",
]

T = TypeVar("T")

_OIDC_HINT: Final = (
    "Keyless signing needs `permissions: id-token: write` on the job (and a workflow that is not "
    "triggered from a fork); otherwise give a signing key as a secret."
)


@dataclass(frozen=True, slots=True)
class SigstoreSigner:
    """Keyless: a Fulcio certificate for the workflow's OIDC identity, logged in Rekor."""

    staging: bool = False
    trust: Path | None = None
    """The Sigstore instance's trust configuration; None: Sigstore's public-good instance."""
    identity: Callable[[], IdentityToken] | None = None
    """Where the OIDC token comes from: the runner's (default), or the rehearsal's issuer."""

    @property
    def description(self) -> str:
        return "sigstore"

    def sign(self, statement: bytes) -> SignedStatement:
        signer = open_sigstore_signer(staging=self.staging, identity=self.identity,
                                      trust=self.trust)
        bundle = sigstore_call(
            "sign the provenance", lambda: signer.sign_dsse(Statement(statement))
        )
        return signed_from_bundle(bundle.to_json())


def signed_from_bundle(bundle_json: str) -> SignedStatement:
    """The DSSE envelope inside a Sigstore bundle, for the `.intoto.jsonl` file."""
    try:
        inner = json.loads(bundle_json)["dsseEnvelope"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SigningError("Sigstore returned a bundle without a DSSE envelope") from exc
    return SignedStatement(Envelope.from_json(inner), bundle_json)


def github_identity_token() -> IdentityToken:
    """The workflow's OIDC token for Sigstore (audience `sigstore`), masked."""
    try:
        raw = detect_credential()
    except IdentityError as exc:
        raise SigningError(f"the OIDC token for Sigstore could not be fetched: {exc}",
                           hint=_OIDC_HINT) from exc
    if raw is None:
        raise SigningError("no OIDC identity is available for keyless signing", hint=_OIDC_HINT)
    return identity_token(raw)


def identity_token(raw: str) -> IdentityToken:
    """An OIDC token for Sigstore, masked at once."""
    mask(raw)
    try:
        return IdentityToken(raw)
    except IdentityError as exc:
        raise SigningError(f"the OIDC token is not usable for Sigstore: {exc}",
                           hint=_OIDC_HINT) from exc


def trust_config(*, staging: bool = False, path: Path | None = None) -> ClientTrustConfig:
    """The Sigstore instance to use: the `ClientTrustConfig` file at `path`, else the
    public-good instance (or its staging)."""
    if path is not None:
        return read_trust_config(path)
    return sigstore_call(
        "load its trust root",
        lambda: ClientTrustConfig.staging() if staging else ClientTrustConfig.production(),
    )


def read_trust_config(path: Path) -> ClientTrustConfig:
    try:
        return ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, SigstoreError) as exc:
        raise ConfigError(
            f"the Sigstore trust configuration {path} cannot be used: {exc}",
            hint=f"{TRUST_CONFIG_VARIABLE} must name a ClientTrustConfig JSON file "
            "(media type application/vnd.dev.sigstore.clienttrustconfig.v0.1+json); unset it "
            "to use Sigstore's public-good instance.",
        ) from exc


def sigstore_verifier(trust: Path | None = None) -> Verifier:
    """A verifier for the instance in use: offline with a given trust configuration, else
    Sigstore's production roots (refreshed through TUF)."""
    if trust is not None:
        return Verifier(trusted_root=read_trust_config(trust).trusted_root)
    return sigstore_call("load its trust root", Verifier.production)


def open_sigstore_signer(
    *, staging: bool = False, identity: Callable[[], IdentityToken] | None = None,
    trust: Path | None = None,
) -> Signer:
    """A sigstore `Signer` holding one Fulcio certificate, for several signatures."""
    token = (identity or github_identity_token)()
    context = SigningContext.from_trust_config(trust_config(staging=staging, path=trust))
    return sigstore_call("get a signing certificate", lambda: Signer(token, context, cache=True))


def _from_sigstore(exc: Exception) -> bool:
    """An error sigstore-python raises: its public `sigstore.errors.Error` and `ExpiredIdentity`,
    the HTTP errors underneath, and the plain exceptions of its Fulcio and Rekor clients (those
    live in private modules, so they are recognised by where they come from, not imported)."""
    if isinstance(exc, (SigstoreError, ExpiredIdentity, requests.RequestException)):
        return True
    return type(exc).__module__.split(".", 1)[0] == "sigstore"


def sigstore_call(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as exc:
        if not _from_sigstore(exc):
            raise
        raise SigningError(
            f"Sigstore could not {what}: {exc or type(exc).__name__}",
            hint="Sigstore (Fulcio, Rekor, TUF) may be unreachable; re-run the job. "
            + _OIDC_HINT,
        ) from exc
