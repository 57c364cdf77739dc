"""Verifying provenance against the exact bytes of the files: the signature (a public key, or a
Sigstore bundle for keyless), the origin (repository, commit), and one verdict per file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import requests
from cryptography import x509

from action.attestation.dsse import Envelope, pae, read_envelopes
from action.attestation.keys import PublicKey, keyid_of, load_public_key, verifies
from action.attestation.statement import (
    PAYLOAD_TYPE,
    ProvenanceClaims,
    WheelSource,
    read_statement,
)
from action.digests import sha256_file
from action.errors import ConfigError, VerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from sigstore.models import Bundle

__all__ = [
    "FileStatus",
    "FileVerdict",
    "SourceMismatch",
    "Verdict",
    "WorkflowIdentity",
    "check_origin",
    "file_verdicts",
    "files_in",
    "verify_envelope",
    "verify_provenance",
    "wheel_source_mismatches",
]

GITHUB_OIDC_ISSUER: Final = "https://token.actions.githubusercontent.com"
_PROVENANCE_SUFFIXES: Final = (".intoto.jsonl", ".sigstore.json", ".attestation")


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


@dataclass(frozen=True, slots=True)
class SourceMismatch:
    """A lane's provenance says its wheels were built from an sdist that is not among the
    verified files with that sha256 (`actual`: the verified file's, None if none verified)."""

    lane: str
    source: WheelSource
    actual: str | None = None

    def describe(self) -> str:
        sdist = self.source.sdist
        said = (f"lane {self.lane}'s provenance says its {' '.join(self.source.parts)} wheels "
                f"were built from {sdist.name} (sha256 {sdist.sha256})")
        if self.actual is None:
            return f"{said}, which is not among the verified files"
        return f"{said}, but the verified {sdist.name} has sha256 {self.actual}"


def wheel_source_mismatches(
    claims: Iterable[ProvenanceClaims], verified: Mapping[str, str]
) -> tuple[SourceMismatch, ...]:
    """Each wheel-source sdist a provenance names that is not a verified file (name -> sha256
    of the files that verified) with the same sha256."""
    return tuple(
        SourceMismatch(claim.lane, source, verified.get(source.sdist.name))
        for claim in claims for source in claim.wheel_sources
        if verified.get(source.sdist.name) != source.sdist.sha256
    )


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
    trust_config: Path | None = None,
) -> Verdict:
    """Verify the signature, the origin (repository, commit) and every file's digest.

    With `public_key_pem`, each envelope line must be signed by that key. With `sigstore_bundle`
    (keyless), the bundle must verify against the roots of the Sigstore instance in use (the
    `trust_config` file, else Sigstore's public-good roots) for the identity of
    `expected_workflow` in `expected_repository`, and hold the same statement as the file.
    """
    envelopes = read_envelopes(provenance_path)
    if public_key_pem is not None:
        key = load_public_key(public_key_pem)
        payloads = [verify_envelope(e, key) for e in envelopes]
        signer = f"key:{keyid_of(key)}"
    elif sigstore_bundle is not None:
        identity = _workflow_identity(server_url, expected_repository, expected_workflow)
        payloads = [_verify_bundle(sigstore_bundle, envelopes, identity, trust_config)]
        signer = f"sigstore:{identity}"
    else:
        raise ConfigError("verifying provenance needs a public key or a Sigstore bundle")
    claims = tuple(read_statement(p) for p in payloads)
    for claim in claims:
        check_origin(claim, repository=expected_repository, commit=expected_commit)
    listed = files if isinstance(files, Mapping) else files_in(files)
    return Verdict(file_verdicts(_subjects(claims), listed), claims, signer)


def verify_envelope(envelope: Envelope, key: PublicKey) -> bytes:
    """The payload, if a signature by `key` (matching keyid) verifies; else VerificationError."""
    if envelope.payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"the envelope's payloadType is {envelope.payload_type!r}, "
                                f"not {PAYLOAD_TYPE!r}")
    keyid = keyid_of(key)
    message = pae(envelope.payload_type, envelope.payload)
    if any(s.keyid == keyid and verifies(key, s.sig, message) for s in envelope.signatures):
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


# --- keyless verification (offline with a trust configuration; else Sigstore's TUF roots) ---


@dataclass(frozen=True, slots=True)
class WorkflowIdentity:
    """A sigstore policy: the certificate was issued to this workflow file (any ref)."""

    workflow_uri: str

    def verify(self, cert: x509.Certificate) -> None:
        from sigstore.errors import VerificationError as SigstoreVerificationError  # noqa: PLC0415

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


def read_bundle(path: Path) -> Bundle:
    """A Sigstore bundle file, read; any malformed content is a VerificationError naming it."""
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415 - sigstore: bundles only
    from sigstore.models import Bundle  # noqa: PLC0415

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerificationError(f"the Sigstore bundle {path} cannot be read: {exc}") from exc
    try:
        return Bundle.from_json(data)
    except RecursionError:
        raise VerificationError(f"the Sigstore bundle {path.name} is JSON nested too deeply",
                                hint=_BUNDLE_HINT) from None
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        # sigstore raises its own errors, pydantic's (a ValueError) and, for some shapes of
        # bytes, plain TypeError/KeyError; none of them is more than "this is no bundle".
        raise VerificationError(f"the Sigstore bundle {path.name} is malformed: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                                hint=_BUNDLE_HINT) from None


_BUNDLE_HINT = ("Download the `.intoto.sigstore.json` asset of the release again; if it is "
                "the release's own, it was altered after signing: do not publish.")


def _verify_bundle(path: Path, envelopes: Sequence[Envelope], identity: WorkflowIdentity,
                   trust_config: Path | None) -> bytes:
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415 - sigstore: bundles only
    from sigstore.verify.policy import AllOf, OIDCIssuer  # noqa: PLC0415

    from action.attestation.keyless import sigstore_verifier  # noqa: PLC0415

    bundle = read_bundle(path)
    try:
        policy = AllOf([OIDCIssuer(GITHUB_OIDC_ISSUER), identity])
        kind, payload = sigstore_verifier(trust_config).verify_dsse(bundle, policy)
    except (SigstoreError, OSError, requests.RequestException) as exc:
        raise VerificationError(f"the Sigstore bundle {path.name} does not verify: {exc}") from exc
    if kind != PAYLOAD_TYPE or [e.payload for e in envelopes] != [payload]:
        raise VerificationError(f"{path.name} does not sign the statement in the provenance file")
    return payload
