"""Signed provenance: DSSE envelopes, the signers behind one interface, and their verification.

A signer turns the canonical statement bytes from `action.provenance` into a DSSE envelope:
`KeySigner` with a private key given as a secret, `SigstoreSigner` keyless through GitHub's OIDC
token (a Sigstore bundle is written next to the envelope). `make_signer` picks one from the
configuration. `verify_provenance` checks an `<lane>.intoto.jsonl` against the exact bytes of
the files. PEP 740 publish attestations (`ensure_publish_attestations`) are made once per file
and reused for Test PyPI and PyPI.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pypi_attestations import Attestation, AttestationError, Distribution
from sigstore._internal.fulcio import ExpiredCertificate
from sigstore._internal.fulcio.client import FulcioClientError
from sigstore._internal.rekor import RekorClientError
from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError as SigstoreVerificationError
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.oidc import ExpiredIdentity, IdentityError, IdentityToken, detect_credential
from sigstore.sign import Signer, SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import AllOf, OIDCIssuer

from action.digests import sha256_file
from action.errors import ConfigError, SigningError, VerificationError
from action.logs import get_logger, mask
from action.provenance import (
    PAYLOAD_TYPE,
    ProvenanceClaims,
    bundle_file_name,
    provenance_file_name,
    read_statement,
)

log = get_logger(__name__)

T = TypeVar("T")
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

GITHUB_OIDC_VARIABLES: Final = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
GITHUB_OIDC_ISSUER: Final = "https://token.actions.githubusercontent.com"
ATTESTATION_SUFFIX: Final = ".publish.attestation"
_PROVENANCE_SUFFIXES: Final = (".intoto.jsonl", ".sigstore.json", ".attestation")
_OIDC_HINT: Final = (
    "Keyless signing needs `permissions: id-token: write` on the job (and a workflow that is not "
    "triggered from a fork); otherwise give a signing key as a secret."
)


# --- DSSE -------------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True)
class DsseSignature:
    keyid: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope; one per line of an `.intoto.jsonl` file."""

    payload: bytes
    payload_type: str
    signatures: tuple[DsseSignature, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": _b64(s.sig)} for s in self.signatures],
        }

    def to_line(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any) -> Envelope:
        """Read an envelope strictly: any malformed part is a VerificationError."""
        try:
            return cls(
                payload=_unb64(data["payload"], "payload"),
                payload_type=_text(data["payloadType"], "payloadType"),
                signatures=tuple(_signature(s) for s in data["signatures"]),
            )
        except (KeyError, TypeError) as exc:
            raise VerificationError(f"malformed DSSE envelope: missing or wrong {exc}") from exc

    @classmethod
    def from_line(cls, line: bytes | str) -> Envelope:
        try:
            data = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except ValueError as exc:
            raise VerificationError(f"a provenance line is not JSON: {exc}") from exc
        return cls.from_json(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    """Standard base64 in its one canonical spelling (no ignored bits, no stray characters)."""
    if not isinstance(text, str):
        raise VerificationError(f"malformed DSSE envelope: {what} is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"malformed DSSE envelope: {what} is not base64") from exc
    if _b64(data) != text:
        raise VerificationError(f"malformed DSSE envelope: {what} is not canonical base64")
    return data


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise VerificationError(f"malformed DSSE envelope: {what} is not a string")
    return value


def _signature(data: Any) -> DsseSignature:
    keyid = _text(data.get("keyid", ""), "keyid")
    return DsseSignature(keyid=keyid, sig=_unb64(data["sig"], "sig"))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)


# --- keys -------------------------------------------------------------------------------------


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


def _verifies(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- signers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A signed statement: the envelope, and for keyless signing the Sigstore bundle (JSON)."""

    envelope: Envelope
    bundle_json: str | None = None


class ProvenanceSigner(Protocol):
    """Signs canonical statement bytes into a DSSE envelope."""

    @property
    def description(self) -> str:
        """Who signs, for the log and the `attested` event: `key:<keyid>` or `sigstore`."""
        ...

    def sign(self, statement: bytes) -> SignedStatement: ...


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


@dataclass(frozen=True, slots=True)
class SigstoreSigner:
    """Keyless: a Fulcio certificate for the workflow's OIDC identity, logged in Rekor."""

    staging: bool = False

    @property
    def description(self) -> str:
        return "sigstore"

    def sign(self, statement: bytes) -> SignedStatement:
        signer = open_sigstore_signer(staging=self.staging)
        bundle = _sigstore_call(
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
    trust = _sigstore_call(
        "load its trust root",
        lambda: ClientTrustConfig.staging() if staging else ClientTrustConfig.production(),
    )
    context = SigningContext.from_trust_config(trust)
    return _sigstore_call("get a signing certificate", lambda: Signer(token, context, cache=True))


def _sigstore_call(what: str, call: Callable[[], T]) -> T:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerConfig:
    """How to sign: a key given as a secret wins; otherwise keyless Sigstore if OIDC is there."""

    private_key: str = field(default="", repr=False)
    passphrase: str = field(default="", repr=False)
    oidc: bool = False
    staging: bool = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, private_key: str = "", passphrase: str = ""
    ) -> SignerConfig:
        return cls(private_key=private_key, passphrase=passphrase, oidc=oidc_available(environ))


def make_signer(config: SignerConfig) -> ProvenanceSigner:
    """The signer the configuration asks for; ConfigError when there is no way to sign."""
    if config.private_key.strip():
        return KeySigner.from_pem(config.private_key, config.passphrase)
    if config.oidc:
        return SigstoreSigner(staging=config.staging)
    raise ConfigError(
        "there is no way to sign the provenance: no signing key and no OIDC identity",
        hint="Give a signing key (a PEM private key, as a secret), or grant the job "
        "`permissions: id-token: write` for keyless Sigstore signing.",
    )


# --- provenance files -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvenanceFiles:
    provenance: Path
    bundle: Path | None = None


def write_provenance(signed: SignedStatement, directory: Path, lane: str) -> ProvenanceFiles:
    """Write `<lane>.intoto.jsonl` (one envelope per line) and the Sigstore bundle, if any."""
    path = directory / provenance_file_name(lane)
    _write_atomic(path, signed.envelope.to_line() + "\n")
    if signed.bundle_json is None:
        return ProvenanceFiles(path)
    bundle = directory / bundle_file_name(lane)
    _write_atomic(bundle, signed.bundle_json)
    return ProvenanceFiles(path, bundle)


def sign_provenance(
    signer: ProvenanceSigner, statement: bytes, directory: Path, lane: str
) -> ProvenanceFiles:
    """Sign a lane's statement and write its provenance files."""
    files = write_provenance(signer.sign(statement), directory, lane)
    log.info("provenance signed", lane=lane, signer=signer.description, file=files.provenance.name)
    return files


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


# --- verification -----------------------------------------------------------------------------


class FileStatus(StrEnum):
    OK = "ok"
    DIGEST_MISMATCH = "digest-mismatch"
    NOT_COVERED = "not-covered"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """One file: its digest in the provenance (`expected`) and of its bytes (`actual`)."""

    name: str
    status: FileStatus
    expected: str | None = None
    actual: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is FileStatus.OK

    def describe(self) -> str:
        return {
            FileStatus.OK: f"{self.name}: ok",
            FileStatus.DIGEST_MISMATCH: f"{self.name}: sha256 {self.actual}, but the provenance "
            f"says {self.expected}",
            FileStatus.NOT_COVERED: f"{self.name}: not covered by the provenance",
            FileStatus.MISSING: f"{self.name}: in the provenance, but the file is missing",
        }[self.status]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The signature and origin verified; per-file results, `ok` only if every file is."""

    files: tuple[FileVerdict, ...]
    claims: tuple[ProvenanceClaims, ...]
    signer: str

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(f.ok for f in self.files)

    @property
    def problems(self) -> tuple[FileVerdict, ...]:
        return tuple(f for f in self.files if not f.ok)


def verify_provenance(
    provenance_path: Path,
    files: Mapping[str, Path] | Path,
    *,
    public_key_pem: str | None = None,
    sigstore_bundle: Path | None = None,
    expected_repository: str,
    expected_commit: str,
    expected_workflow: str | None = None,
    server_url: str = "https://github.com",
) -> Verdict:
    """Verify the signature, the origin (repository, commit) and every file's digest.

    With `public_key_pem`, each envelope line must be signed by that key. With `sigstore_bundle`
    (keyless), the bundle must verify against Sigstore's public-good roots for the identity of
    `expected_workflow` in `expected_repository`, and hold the same statement as the file.
    """
    envelopes = read_envelopes(provenance_path)
    if public_key_pem is not None:
        key = load_public_key(public_key_pem)
        payloads = [verify_envelope(e, key) for e in envelopes]
        signer = f"key:{keyid_of(key)}"
    elif sigstore_bundle is not None:
        identity = _workflow_identity(server_url, expected_repository, expected_workflow)
        payloads = [_verify_bundle(sigstore_bundle, envelopes, identity)]
        signer = f"sigstore:{identity}"
    else:
        raise ConfigError("verifying provenance needs a public key or a Sigstore bundle")
    claims = tuple(read_statement(p) for p in payloads)
    for claim in claims:
        check_origin(claim, repository=expected_repository, commit=expected_commit)
    listed = files if isinstance(files, Mapping) else files_in(files)
    return Verdict(file_verdicts(_subjects(claims), listed), claims, signer)


def read_envelopes(path: Path) -> list[Envelope]:
    try:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise VerificationError(f"the provenance {path} cannot be read: {exc}") from exc
    if not lines:
        raise VerificationError(f"the provenance {path.name} holds no envelope")
    return [Envelope.from_line(line) for line in lines]


def verify_envelope(envelope: Envelope, key: PublicKey) -> bytes:
    """The payload, if a signature by `key` (matching keyid) verifies; else VerificationError."""
    if envelope.payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"the envelope's payloadType is {envelope.payload_type!r}, "
                                f"not {PAYLOAD_TYPE!r}")
    keyid = keyid_of(key)
    message = pae(envelope.payload_type, envelope.payload)
    if any(s.keyid == keyid and _verifies(key, s.sig, message) for s in envelope.signatures):
        return envelope.payload
    raise VerificationError(
        f"no signature by key {keyid} verifies: the provenance was altered, or another key "
        "signed it",
        hint="Do not publish these files. Check which public key belongs to the release.",
    )


def check_origin(claims: ProvenanceClaims, *, repository: str, commit: str) -> None:
    if claims.repository != repository:
        raise VerificationError(
            f"the provenance is for repository {claims.repository}, not {repository}"
        )
    if claims.commit != commit:
        raise VerificationError(
            f"the provenance is for commit {claims.commit}, not {commit} "
            f"(tag {claims.tag})"
        )


def _subjects(claims: Iterable[ProvenanceClaims]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for claim in claims:
        for subject in claim.subjects:
            if digests.setdefault(subject.name, subject.sha256) != subject.sha256:
                raise VerificationError(f"the provenance gives {subject.name} two digests")
    return digests


def files_in(directory: Path) -> dict[str, Path]:
    """The files of a directory, without provenance, bundles and attestations."""
    return {
        p.name: p
        for p in sorted(directory.iterdir())
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_PROVENANCE_SUFFIXES)
    }


def file_verdicts(
    subjects: Mapping[str, str], files: Mapping[str, Path]
) -> tuple[FileVerdict, ...]:
    return tuple(_verdict(n, subjects.get(n), files.get(n)) for n in sorted({*subjects, *files}))


def _verdict(name: str, expected: str | None, path: Path | None) -> FileVerdict:
    if path is None or not path.is_file():
        return FileVerdict(name, FileStatus.MISSING, expected=expected)
    actual = sha256_file(path)
    if expected is None:
        return FileVerdict(name, FileStatus.NOT_COVERED, actual=actual)
    status = FileStatus.OK if actual == expected else FileStatus.DIGEST_MISMATCH
    return FileVerdict(name, status, expected=expected, actual=actual)


# --- keyless verification (needs Sigstore's TUF roots, so: not offline) -----------------------


@dataclass(frozen=True, slots=True)
class WorkflowIdentity:
    """A sigstore policy: the certificate was issued to this workflow file (any ref)."""

    workflow_uri: str

    def verify(self, cert: x509.Certificate) -> None:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound as exc:
            raise SigstoreVerificationError("the certificate has no identity") from exc
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        if not any(uri.split("@", 1)[0] == self.workflow_uri for uri in uris):
            raise SigstoreVerificationError(
                f"the certificate is for {', '.join(uris)}, not {self.workflow_uri}"
            )

    def __str__(self) -> str:
        return self.workflow_uri


def _workflow_identity(server_url: str, repository: str, workflow: str | None) -> WorkflowIdentity:
    if not workflow:
        raise ConfigError("keyless verification needs the workflow path that signed")
    return WorkflowIdentity(f"{server_url}/{repository}/{workflow.lstrip('/')}")


def _verify_bundle(path: Path, envelopes: Sequence[Envelope], identity: WorkflowIdentity) -> bytes:
    try:
        bundle = Bundle.from_json(path.read_bytes())
        policy = AllOf([OIDCIssuer(GITHUB_OIDC_ISSUER), identity])
        kind, payload = Verifier.production().verify_dsse(bundle, policy)
    except (SigstoreError, OSError, requests.RequestException) as exc:
        raise VerificationError(f"the Sigstore bundle {path.name} does not verify: {exc}") from exc
    if kind != PAYLOAD_TYPE or [e.payload for e in envelopes] != [payload]:
        raise VerificationError(f"{path.name} does not sign the statement in the provenance file")
    return payload


# --- PEP 740 publish attestations -------------------------------------------------------------


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
        made = (attest or sigstore_attester(os.environ if environ is None else environ))(missing)
        for dist, text in zip(missing, made, strict=True):
            _write_atomic(attestation_path(dist), text)
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


def sigstore_attester(environ: Mapping[str, str]) -> Attester:
    """Keyless PEP 740 attestations; refuses at once when the job has no OIDC identity."""
    if not oidc_available(environ):
        raise ConfigError(
            "PEP 740 publish attestations need the workflow's OIDC identity, and this job has none",
            hint="Attestations are made only on GitHub Actions with `permissions: id-token: "
            "write` (and PyPI accepts them only from a Trusted Publisher); or turn them off.",
        )
    return _attest_with_sigstore


def _attest_with_sigstore(dists: Sequence[Path]) -> list[str]:
    signer = open_sigstore_signer()
    return [_attest_one(signer, dist) for dist in dists]


def _attest_one(signer: Signer, dist: Path) -> str:
    """One attestation; `Attestation.sign` also reaches Rekor, so its failures are wrapped."""
    try:
        attestation = _sigstore_call(
            f"attest {dist.name}", lambda: Attestation.sign(signer, Distribution.from_file(dist))
        )
    except (AttestationError, ValueError) as exc:
        raise SigningError(f"the PEP 740 attestation for {dist.name} failed: {exc}") from exc
    return attestation.model_dump_json()


__all__ = [
    "ATTESTATION_SUFFIX",
    "Attester",
    "DsseSignature",
    "Envelope",
    "FileStatus",
    "FileVerdict",
    "KeyKind",
    "KeySigner",
    "ProvenanceFiles",
    "ProvenanceSigner",
    "SignedStatement",
    "SignerConfig",
    "SigstoreSigner",
    "Verdict",
    "WorkflowIdentity",
    "attestation_path",
    "ensure_publish_attestations",
    "file_verdicts",
    "generate_key",
    "keyid_of",
    "load_private_key",
    "load_public_key",
    "make_signer",
    "pae",
    "sign_provenance",
    "verify_envelope",
    "verify_provenance",
    "write_provenance",
]
