"""Trusted publishing: the workflow's OIDC identity exchanged for a short-lived upload token.

The index says which audience it wants (`/_/oidc/audience`), GitHub gives the job an OIDC token
for it (`id`), the index mints an API token for that (`/_/oidc/mint-token`). Each token is
masked as soon as it exists. When the index refuses, the hint names the values a trusted
publisher must have, read from the OIDC token's claims (unverified: for messages only).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt as pyjwt
import requests

from action.errors import ConfigError, PackageIndexError
from action.index.config import ApiToken, TrustedPublishing, workflow_file
from action.index.transport import json_of, retrying, send
from action.logs import get_logger, mask
from action.retry import Backoff

if TYPE_CHECKING:
    from collections.abc import Callable

    from action.index.config import IndexConfig

log = get_logger("action.index")

TOKEN_LIFETIME = 15 * 60.0  # what PyPI gives a minted token when it does not say
REFRESH_MARGIN = 2 * 60.0  # re-mint when less than this is left
NOT_FOUND = 404


@dataclass(frozen=True)
class MintedToken:
    """A short-lived API token from trusted publishing; `expires_at` is Unix time."""

    token: str = field(repr=False)
    expires_at: float

    def fresh(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        return self.expires_at - now > margin


def _detect_credential(audience: str) -> str | None:
    import id as oidc_id  # noqa: PLC0415 - only trusted publishing needs it

    try:
        return oidc_id.detect_credential(audience)
    except oidc_id.AmbientCredentialError as exc:
        raise ConfigError(
            f"could not get an OIDC token from GitHub: {exc}",
            hint="Trusted publishing needs `permissions: id-token: write` on the publishing job "
            "(and does not work from inside a reusable workflow).",
        ) from exc


def mint_token(
    index: IndexConfig,
    *,
    session: requests.Session | None = None,
    detect: Callable[[str], str | None] = _detect_credential,
    now: Callable[[], float] = time.time,
    backoff: Backoff | None = None,
    timeout: float = 30.0,
) -> MintedToken:
    """Exchange the workflow's OIDC identity for a short-lived upload token; mask it at once."""
    http = session or requests.Session()
    retry = backoff or Backoff()
    audience = retrying(f"GET {index.root_url}_/oidc/audience",
                        lambda: _audience(http, index, timeout), retry)
    identity = detect(audience)
    if not identity:
        raise ConfigError(
            "no OIDC identity: this is not GitHub Actions or the job may not request one",
            hint="Give the publishing job `permissions: id-token: write`, or configure an API "
            "token instead of trusted publishing.",
        )
    mask(identity)
    response = retrying(f"POST {index.root_url}_/oidc/mint-token",
                        lambda: send(http, "POST", f"{index.root_url}_/oidc/mint-token",
                                     json={"token": identity}, timeout=timeout), retry)
    minted = _minted_from(response, index, identity, now())
    log.info("index.token-minted", index=index.name,
             expires_in_seconds=round(minted.expires_at - now()))
    return minted


def _audience(http: requests.Session, index: IndexConfig, timeout: float) -> str:
    url = f"{index.root_url}_/oidc/audience"
    response = send(http, "GET", url, timeout=timeout)
    if response.status_code == NOT_FOUND:
        raise PackageIndexError(
            f"{index.name} does not offer trusted publishing ({url} is 404)",
            hint="Use an API token for this index.",
        )
    audience = json_of(response).get("audience") if response.ok else None
    if not isinstance(audience, str) or not audience:
        raise PackageIndexError(f"{url} answered {response.status_code} without an audience")
    return audience


def _minted_from(
    response: requests.Response, index: IndexConfig, identity: str, now: float
) -> MintedToken:
    data = json_of(response)
    token = data.get("token")
    if not response.ok or not isinstance(token, str) or not token:
        raise mint_error(response.status_code, data, index, identity)
    mask(token)
    expires = data.get("expires")
    expires_at = float(expires) if isinstance(expires, (int, float)) else now + TOKEN_LIFETIME
    return MintedToken(token, expires_at)


_MINT_HINTS = {
    "invalid-publisher": "No trusted publisher on {root} matches this workflow. Add one "
    "(project settings -> Publishing; for a project that does not exist yet, a pending publisher "
    "under your account's Publishing page) with exactly these values: {claims}.",
    "invalid-payload": "The index could not read the OIDC token; this is a bug, please report it.",
    "invalid-token": "The index refused the OIDC token (expired or wrong audience). Re-run the "
    "job; if it persists, check the job's `id-token: write` permission.",
    "not-enabled": "Trusted publishing is switched off on {root}; use an API token for now.",
}


def mint_error(
    status: int, data: dict[str, Any], index: IndexConfig, identity: str
) -> PackageIndexError:
    """The index's refusal to mint, in its own words, with what to register or change."""
    errors = data.get("errors")
    listed = errors if isinstance(errors, list) else []
    pairs = [(str(e.get("code", "")), str(e.get("description", "")))
             for e in listed if isinstance(e, dict)]
    said = "; ".join(f"{code}: {text}" for code, text in pairs) or f"HTTP {status}"
    hints = [_MINT_HINTS[code] for code, _ in pairs if code in _MINT_HINTS]
    hint = " ".join(dict.fromkeys(hints)) or publisher_hint(index, identity)
    return PackageIndexError(
        f"{index.name} refused to mint an upload token: {said}",
        hint=hint.format(root=index.root_url, claims=_claims_text(identity)),
    )


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (for messages and the job's own identity only)."""
    try:
        claims = pyjwt.decode(token, options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _claims_text(identity: str) -> str:
    claims = jwt_claims(identity)
    workflow = workflow_file(str(claims.get("job_workflow_ref")
                                 or claims.get("workflow_ref") or ""))
    values = {
        "repository": claims.get("repository", "?"),
        "workflow": workflow or "?",
        "environment": claims.get("environment") or "(none: leave it empty)",
    }
    return ", ".join(f"{key} {value}" for key, value in values.items())


def publisher_hint(index: IndexConfig, identity: str = "") -> str:
    """Which trusted publisher to register on the index, with the values it must hold."""
    tp = index.credentials if isinstance(index.credentials, TrustedPublishing) else None
    if identity:
        values = _claims_text(identity)
    elif tp is not None:
        values = (f"repository {tp.repository or '?'}, workflow {tp.workflow or '?'}, "
                  f"environment {tp.environment or '(none: leave it empty)'}")
    else:
        values = "this repository, workflow file and environment"
    return (f"Register a trusted publisher on {index.root_url} (project settings -> Publishing; "
            f"a pending publisher for a new project) with {values}.")


class Login:
    """The user and password of an upload: the API token, or a token minted by trusted
    publishing, once for all threads and again when less than two minutes are left."""

    def __init__(self, config: IndexConfig, *, minter: Callable[[IndexConfig], MintedToken],
                 clock: Callable[[], float]) -> None:
        self.config = config
        self._minter = minter
        self._clock = clock
        self._lock = threading.Lock()
        self._minted: MintedToken | None = None
        if isinstance(config.credentials, ApiToken):
            mask(config.credentials.token)

    def __call__(self) -> tuple[str, str]:
        credentials = self.config.credentials
        if isinstance(credentials, ApiToken):
            return credentials.username, credentials.token
        with self._lock:  # uploads run in several threads: mint once, not once each
            if self._minted is None or not self._minted.fresh(self._clock()):
                self._minted = self._minter(self.config)
                mask(self._minted.token)
            return "__token__", self._minted.token
