"""The signer interface, the choice of signer from the configuration, and the provenance files
a signature is written to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from action.attestation.keys import KeySigner
from action.attestation.sigstore_env import named_trust_config, oidc_available
from action.attestation.statement import bundle_file_name, provenance_file_name
from action.errors import ConfigError
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from action.attestation.dsse import SignedStatement

__all__ = [
    "ProvenanceFiles",
    "ProvenanceSigner",
    "SignerConfig",
    "make_signer",
    "sign_provenance",
    "write_atomic",
    "write_provenance",
]

log = get_logger(__name__)


class ProvenanceSigner(Protocol):
    """Signs canonical statement bytes into a DSSE envelope."""

    @property
    def description(self) -> str:
        """Who signs, for the log and the `attested` event: `key:<keyid>` or `sigstore`."""
        ...

    def sign(self, statement: bytes) -> SignedStatement: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerConfig:
    """How to sign: a key given as a secret wins; otherwise keyless Sigstore if OIDC is there."""

    private_key: str = field(default="", repr=False)
    passphrase: str = field(default="", repr=False)
    oidc: bool = False
    staging: bool = False
    trust_config: Path | None = None  # the Sigstore instance's; None: the public-good one

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, private_key: str = "", passphrase: str = ""
    ) -> SignerConfig:
        return cls(private_key=private_key, passphrase=passphrase, oidc=oidc_available(environ),
                   trust_config=named_trust_config(environ))


def make_signer(config: SignerConfig) -> ProvenanceSigner:
    """The signer the configuration asks for; ConfigError when there is no way to sign."""
    if config.private_key.strip():
        return KeySigner.from_pem(config.private_key, config.passphrase)
    if config.oidc:
        from action.attestation.keyless import SigstoreSigner  # noqa: PLC0415 - sigstore: keyless only

        return SigstoreSigner(staging=config.staging, trust=config.trust_config)
    raise ConfigError(
        "there is no way to sign the provenance: no signing key and no OIDC identity",
        hint="Give a signing key (a PEM private key, as a secret), or grant the job "
        "`permissions: id-token: write` for keyless Sigstore signing.",
    )


@dataclass(frozen=True, slots=True)
class ProvenanceFiles:
    provenance: Path
    bundle: Path | None = None


def write_provenance(signed: SignedStatement, directory: Path, lane: str) -> ProvenanceFiles:
    """Write `<lane>.intoto.jsonl` (one envelope per line) and the Sigstore bundle, if any."""
    path = directory / provenance_file_name(lane)
    write_atomic(path, signed.envelope.to_line() + "\n")
    if signed.bundle_json is None:
        return ProvenanceFiles(path)
    bundle = directory / bundle_file_name(lane)
    write_atomic(bundle, signed.bundle_json)
    return ProvenanceFiles(path, bundle)


def sign_provenance(
    signer: ProvenanceSigner, statement: bytes, directory: Path, lane: str
) -> ProvenanceFiles:
    """Sign a lane's statement and write its provenance files."""
    files = write_provenance(signer.sign(statement), directory, lane)
    log.info("provenance signed", lane=lane, signer=signer.description, file=files.provenance.name)
    return files


def write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
