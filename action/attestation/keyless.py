"""Keyless signing with Sigstore: a Fulcio certificate for the workflow's OIDC identity, each
signature logged in Rekor; the bundle is kept next to the envelope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import requests
from sigstore._internal.fulcio import ExpiredCertificate
from sigstore._internal.fulcio.client import FulcioClientError
from sigstore._internal.rekor import RekorClientError
from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig
from sigstore.oidc import ExpiredIdentity, IdentityError, IdentityToken, detect_credential
from sigstore.sign import Signer, SigningContext

from action.attestation.dsse import Envelope, SignedStatement
from action.errors import SigningError
from action.logs import mask

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "GITHUB_OIDC_VARIABLES",
    "SigstoreSigner",
    "github_identity_token",
    "oidc_available",
    "open_sigstore_signer",
    "signed_from_bundle",
    "sigstore_call",
]

T = TypeVar("T")

GITHUB_OIDC_VARIABLES: Final = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
_OIDC_HINT: Final = (
    "Keyless signing needs `permissions: id-token: write` on the job (and a workflow that is not "
    "triggered from a fork); otherwise give a signing key as a secret."
)


@dataclass(frozen=True, slots=True)
class SigstoreSigner:
    """Keyless: a Fulcio certificate for the workflow's OIDC identity, logged in Rekor."""

    staging: bool = False

    @property
    def description(self) -> str:
        return "sigstore"

    def sign(self, statement: bytes) -> SignedStatement:
        signer = open_sigstore_signer(staging=self.staging)
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


def oidc_available(environ: Mapping[str, str]) -> bool:
    """GitHub sets both variables only for jobs with `permissions: id-token: write`."""
    return all(environ.get(name) for name in GITHUB_OIDC_VARIABLES)


def github_identity_token() -> IdentityToken:
    """The workflow's OIDC token for Sigstore (audience `sigstore`), masked."""
    try:
        raw = detect_credential()
    except IdentityError as exc:
        raise SigningError(f"the OIDC token for Sigstore could not be fetched: {exc}",
                           hint=_OIDC_HINT) from exc
    if raw is None:
        raise SigningError("no OIDC identity is available for keyless signing", hint=_OIDC_HINT)
    mask(raw)
    try:
        return IdentityToken(raw)
    except IdentityError as exc:
        raise SigningError(f"the OIDC token is not usable for Sigstore: {exc}",
                           hint=_OIDC_HINT) from exc


def open_sigstore_signer(*, staging: bool = False) -> Signer:
    """A sigstore `Signer` holding one Fulcio certificate, for several signatures."""
    token = github_identity_token()
    trust = sigstore_call(
        "load its trust root",
        lambda: ClientTrustConfig.staging() if staging else ClientTrustConfig.production(),
    )
    context = SigningContext.from_trust_config(trust)
    return sigstore_call("get a signing certificate", lambda: Signer(token, context, cache=True))


def sigstore_call(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except (
        SigstoreError, ExpiredIdentity, ExpiredCertificate, FulcioClientError, RekorClientError,
        requests.RequestException,
    ) as exc:
        raise SigningError(
            f"Sigstore could not {what}: {exc}",
            hint="Sigstore (Fulcio, Rekor, TUF) may be unreachable; re-run the job. "
            + _OIDC_HINT,
        ) from exc
