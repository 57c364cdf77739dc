"""PEP 740 publish attestations: one per file, made once (keyless, through Sigstore) and reused
for Test PyPI and PyPI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pypi_attestations import Attestation, AttestationError, Distribution

from action.attestation.keyless import (
    named_trust_config,
    oidc_available,
    open_sigstore_signer,
    sigstore_call,
)
from action.attestation.signers import write_atomic
from action.config import read_environment
from action.digests import sha256_file
from action.errors import ConfigError, SigningError
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sigstore.oidc import IdentityToken
    from sigstore.sign import Signer

__all__ = [
    "ATTESTATION_SUFFIX",
    "Attester",
    "attestation_path",
    "ensure_publish_attestations",
    "sigstore_attester",
]

log = get_logger(__name__)

ATTESTATION_SUFFIX: Final = ".publish.attestation"


Attester = Callable[[Sequence[Path]], Sequence[str]]
"""Makes the attestation JSON for each of the given dist files, in order."""


def attestation_path(dist: Path) -> Path:
    return dist.with_name(dist.name + ATTESTATION_SUFFIX)


def ensure_publish_attestations(
    dists: Sequence[Path],
    *,
    attest: Attester | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """`<dist>.publish.attestation` for each dist: made once, then reused for every index.

    An existing attestation is reused if it attests exactly this file's name and bytes; one for
    other bytes is refused. Missing ones are made with `attest` (default: keyless Sigstore,
    which needs the workflow's OIDC identity).
    """
    missing = [d for d in dists if not _reusable(d)]
    if missing:
        env = read_environment() if environ is None else environ
        made = (attest or sigstore_attester(env))(missing)
        for dist, text in zip(missing, made, strict=True):
            write_atomic(attestation_path(dist), text)
        log.info("publish attestations made", files=[d.name for d in missing])
    return tuple(attestation_path(d) for d in dists)


def _reusable(dist: Path) -> bool:
    path = attestation_path(dist)
    if not path.exists():
        return False
    subject = _attested_subject(path)
    actual = (dist.name, sha256_file(dist))
    if subject != actual:
        raise SigningError(
            f"{path.name} attests {subject[0]} with sha256 {subject[1]}, but {dist.name} "
            f"has sha256 {actual[1]}",
            hint="The file changed after it was attested. Find out why; delete the stale "
            "attestation only if these bytes are the ones to publish.",
        )
    return True


def _attested_subject(path: Path) -> tuple[str, str]:
    try:
        statement = Attestation.model_validate_json(path.read_bytes()).statement
        (subject,) = statement["subject"]
        return str(subject["name"]), str(subject["digest"]["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SigningError(
            f"{path.name} is not a PEP 740 attestation for one file",
            hint="Delete it; it is made again on the next run.",
        ) from exc


def sigstore_attester(
    environ: Mapping[str, str], identity: Callable[[], IdentityToken] | None = None
) -> Attester:
    """Keyless PEP 740 attestations; refuses at once when the job has no OIDC identity (and
    no other source of tokens, as the rehearsal's, is given)."""
    trust = named_trust_config(environ)
    if identity is not None:
        return lambda dists: _attest_with_sigstore(dists, identity, trust)
    if not oidc_available(environ):
        raise ConfigError(
            "PEP 740 publish attestations need the workflow's OIDC identity, and this job has none",
            hint="Attestations are made only on GitHub Actions with `permissions: id-token: "
            "write` (and PyPI accepts them only from a Trusted Publisher); or turn them off.",
        )
    return lambda dists: _attest_with_sigstore(dists, None, trust)


def _attest_with_sigstore(
    dists: Sequence[Path], identity: Callable[[], IdentityToken] | None, trust: Path | None
) -> list[str]:
    signer = open_sigstore_signer(identity=identity, trust=trust)
    return [_attest_one(signer, dist) for dist in dists]


def _attest_one(signer: Signer, dist: Path) -> str:
    """One attestation; `Attestation.sign` also reaches Rekor, so its failures are wrapped."""
    try:
        attestation = sigstore_call(
            f"attest {dist.name}", lambda: Attestation.sign(signer, Distribution.from_file(dist))
        )
    except (AttestationError, ValueError) as exc:
        raise SigningError(f"the PEP 740 attestation for {dist.name} failed: {exc}") from exc
    return attestation.model_dump_json()
