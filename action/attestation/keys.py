"""Signing keys given as secrets (ECDSA P-256 or Ed25519): made, loaded, named; `KeySigner`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from action.attestation.dsse import DsseSignature, Envelope, SignedStatement, pae
from action.attestation.statement import PAYLOAD_TYPE
from action.errors import ConfigError
from action.logs import mask

__all__ = [
    "KeyKind",
    "KeySigner",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "keyid_of",
    "load_private_key",
    "load_public_key",
    "public_pem",
    "verifies",
]

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class KeyKind(StrEnum):
    ECDSA_P256 = "ecdsa-p256"
    ED25519 = "ed25519"


def generate_key(kind: KeyKind | str = KeyKind.ECDSA_P256) -> tuple[str, str]:
    """A new key pair for the local rehearsal: (PKCS#8 private PEM, SubjectPublicKeyInfo PEM)."""
    try:
        kind = KeyKind(kind)
    except ValueError as exc:
        known = ", ".join(k.value for k in KeyKind)
        raise ConfigError(f"unknown key kind {kind!r}: use one of {known}") from exc
    key: PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if kind is KeyKind.ECDSA_P256
        else ed25519.Ed25519PrivateKey.generate()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private.decode(), public_pem(key.public_key())


def public_pem(key: PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def keyid_of(key: PublicKey) -> str:
    """The key id: sha256 (hex) of the public key's DER SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_private_key(pem: str, passphrase: str = "") -> PrivateKey:
    """Load a PEM private key; ConfigError for garbage, a missing passphrase, a wrong type."""
    data = pem.strip().encode()
    if not data.startswith(b"-----BEGIN ") or b"PRIVATE KEY-----" not in data:
        raise ConfigError(
            "the signing key is not a PEM private key",
            hint="Give the whole PEM text (from '-----BEGIN PRIVATE KEY-----' to the END line).",
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode() or None)
    except TypeError as exc:
        raise _passphrase_error(bool(passphrase)) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            "the signing key could not be read: it is damaged, or the passphrase is wrong",
            hint="Check the secret holds the complete PEM text and its passphrase is right.",
        ) from exc
    return _supported_private(key)


def _passphrase_error(given: bool) -> ConfigError:  # noqa: FBT001 - one flag, one message each
    if given:
        return ConfigError("a passphrase was given, but the signing key is not encrypted")
    return ConfigError(
        "the signing key is encrypted, but no passphrase was given",
        hint="Give the passphrase as a secret too, or use an unencrypted key stored as a secret.",
    )


def _supported_private(key: object) -> PrivateKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise _unsupported(key)


def _unsupported(key: object) -> ConfigError:
    curve = getattr(key, "curve", None)
    kind = type(key).__name__.removesuffix("PrivateKey").removesuffix("PublicKey")
    what = f"ECDSA on {curve.name}" if curve is not None else kind
    return ConfigError(
        f"the key is of type {what}, which is not supported",
        hint="Use an ECDSA P-256 or an Ed25519 key (`generate_key` makes one).",
    )


def load_public_key(pem: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError("the public key is not a PEM public key") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise _unsupported(key)


def _sign_bytes(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def verifies(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class KeySigner:
    """Signs with a private key given as a secret (ECDSA P-256 with SHA-256, or Ed25519)."""

    private_key: PrivateKey = field(repr=False)

    @classmethod
    def from_pem(cls, pem: str, passphrase: str = "") -> KeySigner:
        """Mask the key (each PEM line) and the passphrase, then load the key."""
        mask(pem)
        if passphrase:
            mask(passphrase)
        return cls(load_private_key(pem, passphrase))

    @property
    def keyid(self) -> str:
        return keyid_of(self.private_key.public_key())

    @property
    def public_pem(self) -> str:
        return public_pem(self.private_key.public_key())

    @property
    def description(self) -> str:
        return f"key:{self.keyid}"

    def sign(self, statement: bytes) -> SignedStatement:
        signature = _sign_bytes(self.private_key, pae(PAYLOAD_TYPE, statement))
        sig = DsseSignature(keyid=self.keyid, sig=signature)
        return SignedStatement(Envelope(statement, PAYLOAD_TYPE, (sig,)))
