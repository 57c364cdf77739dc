"""What a job's environment says about Sigstore, read without loading sigstore: whether the job
has an OIDC identity to sign with, and which Sigstore instance it names (see `keyless.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["GITHUB_OIDC_VARIABLES", "TRUST_CONFIG_VARIABLE", "named_trust_config",
           "oidc_available"]

GITHUB_OIDC_VARIABLES: Final = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
TRUST_CONFIG_VARIABLE: Final = "RELEASE_ACTION_SIGSTORE_TRUST_CONFIG"


def oidc_available(environ: Mapping[str, str]) -> bool:
    """GitHub sets both variables only for jobs with `permissions: id-token: write`."""
    return all(environ.get(name) for name in GITHUB_OIDC_VARIABLES)


def named_trust_config(environ: Mapping[str, str]) -> Path | None:
    """The trust configuration a job's environment names (RELEASE_ACTION_SIGSTORE_TRUST_CONFIG)."""
    named = environ.get(TRUST_CONFIG_VARIABLE, "").strip()
    return Path(named) if named else None
