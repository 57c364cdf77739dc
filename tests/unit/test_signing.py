"""Signing provenance: DSSE, key and keyless signers, verification, PEP 740 attestations."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from pypi_attestations import Attestation
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from action import logs
from action.attestation.dsse import Envelope, pae
from action.attestation.keyless import GITHUB_OIDC_VARIABLES, SigstoreSigner, signed_from_bundle
from action.attestation.keys import (
    KeySigner,
    generate_key,
    keyid_of,
    load_private_key,
    load_public_key,
)
from action.attestation.pep740 import Attester, attestation_path, ensure_publish_attestations
from action.attestation.signers import SignerConfig, make_signer, sign_provenance, write_provenance
from action.attestation.statement import PAYLOAD_TYPE, build_statement
from action.attestation.verify import (
    FileStatus,
    Verdict,
    files_in,
    verify_envelope,
    verify_provenance,
)
from action.errors import ConfigError, SigningError, VerificationError
from tests.unit.test_provenance import COMMIT, FILES, IMAGES, RUN, subjects_for

REPO = "pallets/markupsafe"
KINDS = ["ecdsa-p256", "ed25519"]
OIDC_ENV = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/x",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t0ken"}


def statement() -> bytes:
    return build_statement(subjects_for(FILES), RUN, IMAGES)


def dist_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "dist"
    directory.mkdir()
    for name, data in FILES.items():
        (directory / name).write_bytes(data)
    return directory


def signed_lane(tmp_path: Path, kind: str = "ecdsa-p256") -> tuple[Path, Path, str]:
    """A dist directory with a signed multiple.intoto.jsonl; returns it, the file, public key."""
    private, public = generate_key(kind)
    directory = dist_dir(tmp_path)
    files = sign_provenance(KeySigner.from_pem(private), statement(), directory, "main")
    return directory, files.provenance, public


def verify(provenance: Path, files: Any, public: str, **kwargs: str) -> Verdict:
    expected = {"expected_repository": REPO, "expected_commit": COMMIT, **kwargs}
    return verify_provenance(provenance, files, public_key_pem=public, **expected)


def sslib_verify(line: bytes, public_pem: str) -> None:
    """Verify an envelope line with securesystemslib alone; raises if it does not verify."""
    key = serialization.load_pem_public_key(public_pem.encode())
    keyid = hashlib.sha256(key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    envelope = SslibEnvelope.from_dict(json.loads(line))
    envelope.verify([SSlibKey.from_crypto(key, keyid=keyid)], threshold=1)  # type: ignore[arg-type]


class TestDsse:
    def test_pae_is_the_spec_encoding(self):
        """PAE is 'DSSEv1 <len type> <type> <len body> <body>' (DSSE spec's example)."""
        assert pae("http://example.com/HelloWorld", b"hello world") == (
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        )

    def test_pae_matches_securesystemslib(self):
        """Our PAE is securesystemslib's, for our payload type."""
        ours = pae(PAYLOAD_TYPE, statement())
        assert ours == SslibEnvelope(statement(), PAYLOAD_TYPE, {}).pae()

    def test_envelope_line_shape(self, tmp_path: Path):
        """The line is {payload, payloadType, signatures: [{keyid, sig}]} with base64 values."""
        _, provenance, public = signed_lane(tmp_path)
        data = json.loads(provenance.read_text())
        assert list(data) == ["payload", "payloadType", "signatures"]
        assert base64.b64decode(data["payload"]) == statement()
        assert data["payloadType"] == "application/vnd.in-toto+json"
        key = load_public_key(public)
        assert data["signatures"][0]["keyid"] == keyid_of(key)
        assert provenance.read_text().count("\n") == 1

    @pytest.mark.parametrize("text", ["e30", "e30==", "e3 0=", "e31="])
    def test_base64_must_be_canonical(self, text: str):
        """Base64 with stray characters, wrong padding or set spare bits is refused."""
        line = json.dumps({"payload": text, "payloadType": PAYLOAD_TYPE, "signatures": []})
        with pytest.raises(VerificationError, match="base64"):
            Envelope.from_line(line)

    def test_spare_base64_bits_are_refused_though_securesystemslib_accepts(self, tmp_path: Path):
        """Base64 ignores the spare bits of its last character: a lenient reader (like
        securesystemslib) accepts the changed line as the same envelope; we do not."""
        directory, provenance, public = signed_lane(tmp_path, "ed25519")
        data = json.loads(provenance.read_text())
        sig = data["signatures"][0]["sig"]  # 64 bytes: 86 characters + '==', 4 spare bits
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        changed = alphabet[alphabet.index(sig[-3]) ^ 1]
        data["signatures"][0]["sig"] = sig[:-3] + changed + sig[-2:]
        provenance.write_text(json.dumps(data) + "\n")
        sslib_verify(provenance.read_bytes(), public)
        with pytest.raises(VerificationError, match="not canonical base64"):
            verify(provenance, directory, public)

    def test_duplicate_keys_are_refused(self):
        """Two 'payload' members would let parsers disagree: refused."""
        line = '{"payload":"e30=","payload":"W10=","payloadType":"x","signatures":[]}'
        with pytest.raises(VerificationError, match="duplicate"):
            Envelope.from_line(line)


class TestKeySigner:
    @pytest.mark.parametrize("kind", KINDS)
    def test_round_trip(self, tmp_path: Path, kind: str):
        """Sign with a key, verify with its public key: every file ok."""
        directory, provenance, public = signed_lane(tmp_path, kind)
        verdict = verify(provenance, directory, public)
        assert verdict.ok
        assert {f.name for f in verdict.files} == set(FILES)
        assert verdict.signer == f"key:{keyid_of(load_public_key(public))}"

    @pytest.mark.parametrize("kind", KINDS)
    def test_securesystemslib_accepts_our_envelope(self, tmp_path: Path, kind: str):
        """An independent DSSE implementation verifies what we wrote."""
        _, provenance, public = signed_lane(tmp_path, kind)
        sslib_verify(provenance.read_bytes().strip(), public)

    @pytest.mark.parametrize("kind", KINDS)
    def test_we_accept_securesystemslib_envelope(self, kind: str):
        """An envelope signed by securesystemslib's CryptoSigner verifies with ours."""
        private, public = generate_key(kind)
        key = serialization.load_pem_private_key(private.encode(), None)
        keyid = keyid_of(load_public_key(public))
        sslib_key = SSlibKey.from_crypto(key.public_key(), keyid=keyid)  # type: ignore[arg-type]
        envelope = SslibEnvelope(statement(), PAYLOAD_TYPE, {})
        envelope.sign(CryptoSigner(key, sslib_key))  # type: ignore[arg-type]
        ours = Envelope.from_json(envelope.to_dict())
        assert verify_envelope(ours, load_public_key(public)) == statement()

    def test_encrypted_key_with_passphrase(self):
        """An encrypted PEM key loads with its passphrase."""
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"s3cret pass"))
        signer = KeySigner.from_pem(pem.decode(), "s3cret pass")
        assert signer.keyid == keyid_of(key.public_key())

    def test_repr_hides_the_key(self):
        """Neither the signer nor the config shows the key in a repr (logs, tracebacks)."""
        private, _ = generate_key()
        signer = KeySigner.from_pem(private)
        config = SignerConfig(private_key=private, passphrase="pw")
        line = private.splitlines()[1]
        assert line not in repr(signer)
        assert line not in repr(config)
        assert "pw" not in repr(config)


class TestMasking:
    def test_every_pem_line_is_masked(self, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch):
        """Each line of the private key gets its own ::add-mask:: before anything else."""
        monkeypatch.setattr(logs, "_SECRETS", set())
        private, _ = generate_key("ecdsa-p256")
        make_signer(SignerConfig(private_key=private))
        masked = [line.removeprefix("::add-mask::")
                  for line in capsys.readouterr().out.splitlines()
                  if line.startswith("::add-mask::")]
        assert masked == [line.strip() for line in private.splitlines() if line.strip()]

    def test_passphrase_is_masked(self, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch):
        """The passphrase of an encrypted key is masked too."""
        monkeypatch.setattr(logs, "_SECRETS", set())
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"hunter22"))
        KeySigner.from_pem(pem.decode(), "hunter22")
        assert "::add-mask::hunter22" in capsys.readouterr().out.splitlines()

    def test_garbage_is_masked_before_refusal(self, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch):
        """A key that does not load is still masked: it may be a real secret pasted wrongly."""
        monkeypatch.setattr(logs, "_SECRETS", set())
        with pytest.raises(ConfigError):
            KeySigner.from_pem("not a key but secret")
        assert "::add-mask::not a key but secret" in capsys.readouterr().out


def _pem(key: Any, encryption: Any = None) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption or serialization.NoEncryption()).decode()


class TestKeyErrors:
    def test_rsa_is_unsupported(self):
        """An RSA key is refused, naming the supported kinds."""
        with pytest.raises(ConfigError, match=r"type RSA, which is not supported") as info:
            KeySigner.from_pem(_pem(rsa.generate_private_key(65537, 2048)))
        assert "P-256 or an Ed25519" in info.value.hint

    def test_other_curve_is_unsupported(self):
        """An ECDSA key on P-384 is refused."""
        with pytest.raises(ConfigError, match="secp384r1"):
            KeySigner.from_pem(_pem(ec.generate_private_key(ec.SECP384R1())))

    def test_encrypted_without_passphrase(self):
        """An encrypted key without a passphrase says so."""
        pem = _pem(ec.generate_private_key(ec.SECP256R1()),
                   serialization.BestAvailableEncryption(b"pw"))
        with pytest.raises(ConfigError, match="encrypted, but no passphrase"):
            KeySigner.from_pem(pem)

    def test_wrong_passphrase(self):
        """A wrong passphrase is a ConfigError, not a crash."""
        pem = _pem(ec.generate_private_key(ec.SECP256R1()),
                   serialization.BestAvailableEncryption(b"pw"))
        with pytest.raises(ConfigError, match="passphrase is wrong"):
            KeySigner.from_pem(pem, "other")

    @pytest.mark.parametrize("pem", [
        "", "garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ])
    def test_garbage(self, pem: str):
        """Text that is not a PEM private key is a ConfigError."""
        with pytest.raises(ConfigError, match="signing key"):
            load_private_key(pem)

    def test_unknown_kind_to_generate(self):
        """generate_key names the kinds it knows."""
        with pytest.raises(ConfigError, match="ecdsa-p256, ed25519"):
            generate_key("rsa")


class TestFactory:
    def test_key_makes_a_key_signer(self):
        """A key given as a secret gives a KeySigner."""
        private, _ = generate_key()
        signer = make_signer(SignerConfig.from_environ({}, private_key=private))
        assert isinstance(signer, KeySigner)
        assert signer.description.startswith("key:")

    def test_oidc_makes_a_sigstore_signer(self):
        """With GitHub's OIDC variables and no key, signing is keyless."""
        signer = make_signer(SignerConfig.from_environ(OIDC_ENV))
        assert isinstance(signer, SigstoreSigner)
        assert signer.description == "sigstore"

    def test_key_wins_over_oidc(self):
        """A given key is used even when OIDC is available."""
        private, _ = generate_key()
        config = SignerConfig.from_environ(OIDC_ENV, private_key=private)
        assert isinstance(make_signer(config), KeySigner)

    @pytest.mark.parametrize("environ", [{}, {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://x"},
                                         {**OIDC_ENV, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""}])
    def test_no_way_to_sign(self, environ: dict[str, str]):
        """Without a key and without both OIDC variables there is a clear ConfigError."""
        with pytest.raises(ConfigError, match="no way to sign") as info:
            make_signer(SignerConfig.from_environ(environ))
        assert "id-token: write" in info.value.hint


class TestSigstoreOffline:
    def test_no_identity_is_a_signing_error(self, monkeypatch: pytest.MonkeyPatch):
        """Keyless signing without any ambient OIDC credential fails with SigningError."""
        for name in (*GITHUB_OIDC_VARIABLES, "GITHUB_ACTIONS", "GOOGLE_SERVICE_ACCOUNT_NAME",
                     "BUILDKITE", "GITLAB_CI", "CIRCLECI"):
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(SigningError, match="no OIDC identity") as info:
            SigstoreSigner().sign(statement())
        assert "id-token: write" in info.value.hint

    def test_missing_permission_is_a_signing_error(self, monkeypatch: pytest.MonkeyPatch):
        """On GitHub without `id-token: write` the token cannot be fetched: SigningError."""
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        for name in GITHUB_OIDC_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(SigningError, match=r"could not be fetched.*REQUEST_TOKEN") as info:
            SigstoreSigner().sign(statement())
        assert "id-token: write" in info.value.hint

    def test_bundle_envelope_goes_to_the_jsonl(self, tmp_path: Path):
        """The DSSE envelope of a bundle is the provenance line; the bundle is written beside."""
        envelope = {"payload": base64.b64encode(statement()).decode(),
                    "payloadType": PAYLOAD_TYPE, "signatures": [{"sig": "c2ln"}]}
        bundle = json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                             "dsseEnvelope": envelope})
        files = write_provenance(signed_from_bundle(bundle), tmp_path, "cp314")
        assert files.provenance.name == "cp314.intoto.jsonl"
        assert files.bundle is not None
        assert files.bundle.name == "cp314.intoto.sigstore.json"
        assert files.bundle.read_text() == bundle
        line = json.loads(files.provenance.read_text())
        assert line["payload"] == envelope["payload"]
        assert line["signatures"] == [{"keyid": "", "sig": "c2ln"}]

    def test_bundle_without_envelope(self):
        """A bundle that holds no DSSE envelope is a SigningError."""
        with pytest.raises(SigningError, match="without a DSSE envelope"):
            signed_from_bundle('{"messageSignature": {}}')


class TestVerification:
    def test_flipped_byte_in_a_file(self, tmp_path: Path):
        """A file with one changed byte is a digest mismatch with both digests."""
        directory, provenance, public = signed_lane(tmp_path)
        name = "markupsafe-3.0.0.tar.gz"
        data = bytearray(FILES[name])
        data[3] ^= 0x01
        (directory / name).write_bytes(bytes(data))
        verdict = verify(provenance, directory, public)
        assert not verdict.ok
        (problem,) = verdict.problems
        assert problem.status is FileStatus.DIGEST_MISMATCH
        assert problem.expected == hashlib.sha256(FILES[name]).hexdigest()
        assert problem.actual == hashlib.sha256(bytes(data)).hexdigest()
        assert problem.expected in problem.describe()
        assert problem.actual in problem.describe()

    def test_file_not_covered(self, tmp_path: Path):
        """A file the provenance does not name is reported as not covered."""
        directory, provenance, public = signed_lane(tmp_path)
        (directory / "extra-1.0-py3-none-any.whl").write_bytes(b"x")
        (problem,) = verify(provenance, directory, public).problems
        assert (problem.name, problem.status) == ("extra-1.0-py3-none-any.whl",
                                                  FileStatus.NOT_COVERED)

    def test_missing_file(self, tmp_path: Path):
        """A file the provenance names that is not there is reported as missing."""
        directory, provenance, public = signed_lane(tmp_path)
        files = files_in(directory)
        files["markupsafe-3.0.0.tar.gz"] = directory / "gone.tar.gz"
        (problem,) = verify(provenance, files, public).problems
        assert (problem.name, problem.status) == ("markupsafe-3.0.0.tar.gz",
                                                  FileStatus.MISSING)

    def test_directory_skips_provenance_files(self, tmp_path: Path):
        """Scanning a directory ignores provenance, bundles and attestations."""
        directory, _, _ = signed_lane(tmp_path)
        (directory / "x.whl.publish.attestation").write_text("{}")
        (directory / "multiple.intoto.sigstore.json").write_text("{}")
        assert set(files_in(directory)) == set(FILES)

    def test_wrong_repository(self, tmp_path: Path):
        """Provenance for another repository is refused."""
        directory, provenance, public = signed_lane(tmp_path)
        with pytest.raises(VerificationError, match="repository pallets/markupsafe, not evil/x"):
            verify(provenance, directory, public, expected_repository="evil/x")

    def test_wrong_commit(self, tmp_path: Path):
        """Provenance for another commit is refused."""
        directory, provenance, public = signed_lane(tmp_path)
        with pytest.raises(VerificationError, match=f"commit {COMMIT}, not {'f' * 40}"):
            verify(provenance, directory, public, expected_commit="f" * 40)

    def test_other_key(self, tmp_path: Path):
        """A signature by another key is refused."""
        directory, provenance, _ = signed_lane(tmp_path)
        _, other = generate_key()
        with pytest.raises(VerificationError, match="no signature by key"):
            verify(provenance, directory, other)

    def test_empty_provenance(self, tmp_path: Path):
        """An empty provenance file is refused."""
        directory, provenance, public = signed_lane(tmp_path)
        provenance.write_text("\n")
        with pytest.raises(VerificationError, match="holds no envelope"):
            verify(provenance, directory, public)

    def test_needs_a_key_or_bundle(self, tmp_path: Path):
        """Verification without a public key or a bundle is a ConfigError."""
        directory, provenance, _ = signed_lane(tmp_path)
        with pytest.raises(ConfigError):
            verify_provenance(provenance, directory, expected_repository=REPO,
                                 expected_commit=COMMIT)

    @pytest.mark.parametrize("where", ["payload", "sig"])
    @pytest.mark.parametrize("kind", KINDS)
    def test_changed_payload_or_signature(self, tmp_path: Path, where: str, kind: str):
        """One changed byte of the decoded payload or signature fails ours and securesystemslib."""
        directory, provenance, public = signed_lane(tmp_path, kind)
        data = json.loads(provenance.read_text())
        target = data if where == "payload" else data["signatures"][0]
        raw = bytearray(base64.b64decode(target[where]))
        raw[len(raw) // 2] ^= 0x20
        target[where] = base64.b64encode(bytes(raw)).decode()
        provenance.write_text(json.dumps(data) + "\n")
        with pytest.raises(VerificationError):
            verify(provenance, directory, public)
        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal by securesystemslib
            sslib_verify(provenance.read_bytes(), public)


def _decoded(line: bytes) -> tuple[Any, ...] | None:
    """What a lenient reader sees in a line (None if it cannot read it)."""
    try:
        data = json.loads(line)
        sigs = tuple((s.get("keyid"), base64.b64decode(s["sig"])) for s in data["signatures"])
        return base64.b64decode(data["payload"]), data["payloadType"], sigs, tuple(data)
    except Exception:  # noqa: BLE001 - unreadable is an answer here
        return None


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, str]]:
    """One signed lane per key kind, shared by the examples of the property test."""
    return {kind: signed_lane(tmp_path_factory.mktemp(kind), kind) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_of_the_envelope_is_refused(
    lanes: dict[str, tuple[Path, Path, str]], kind: str, data: st.DataObject
):
    """Flip one byte anywhere in the line: we refuse; securesystemslib refuses too, unless
    the flip left the decoded envelope identical (a non-canonical base64 spelling)."""
    directory, provenance, public = lanes[kind]
    line = provenance.read_bytes().strip()
    index = data.draw(st.integers(0, len(line) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    flipped = bytearray(line)
    flipped[index] ^= flip
    target = directory.parent / "flipped.intoto.jsonl"
    target.write_bytes(bytes(flipped) + b"\n")
    with pytest.raises(VerificationError):
        verify(target, directory, public)
    try:
        sslib_verify(bytes(flipped), public)
    except Exception:  # noqa: BLE001 - any refusal counts
        return
    assert _decoded(bytes(flipped)) == _decoded(line), (
        f"securesystemslib accepted a changed envelope (byte {index} ^ {flip})"
    )


class TestPublishAttestations:
    def _dists(self, tmp_path: Path) -> list[Path]:
        directory = dist_dir(tmp_path)
        return sorted(p for p in directory.iterdir() if p.name.endswith((".whl", ".tar.gz")))

    def _fake_attester(self, calls: list[list[str]]) -> Attester:
        def attest(dists: Any) -> list[str]:
            calls.append([d.name for d in dists])
            return [_attestation(d.name, hashlib.sha256(d.read_bytes()).hexdigest())
                    for d in dists]
        return attest

    def test_name(self):
        """The attestation of a dist is <dist>.publish.attestation beside it."""
        path = attestation_path(Path("dist/a-1.0.tar.gz"))
        assert path == Path("dist/a-1.0.tar.gz.publish.attestation")

    def test_refused_without_identity(self, tmp_path: Path):
        """Without GitHub's OIDC identity, attestations are refused clearly; nothing written."""
        dists = self._dists(tmp_path)
        with pytest.raises(ConfigError, match="OIDC identity") as info:
            ensure_publish_attestations(dists, environ={})
        assert "id-token: write" in info.value.hint
        assert not list(tmp_path.rglob("*.attestation"))

    def test_made_once_and_reused(self, tmp_path: Path):
        """Test PyPI then PyPI: made on the first call, reused on the second, without identity."""
        dists = self._dists(tmp_path)
        calls: list[list[str]] = []
        first = ensure_publish_attestations(dists, attest=self._fake_attester(calls))
        second = ensure_publish_attestations(dists, environ={})
        assert first == second == tuple(attestation_path(d) for d in dists)
        assert calls == [[d.name for d in dists]]
        for dist, path in zip(dists, first, strict=True):
            subject = Attestation.model_validate_json(path.read_bytes()).statement["subject"]
            assert subject[0]["name"] == dist.name

    def test_only_missing_ones_are_made(self, tmp_path: Path):
        """A partial earlier run: only the missing attestations are made."""
        dists = self._dists(tmp_path)
        calls: list[list[str]] = []
        ensure_publish_attestations(dists[:1], attest=self._fake_attester(calls))
        ensure_publish_attestations(dists, attest=self._fake_attester(calls))
        assert calls == [[dists[0].name], [d.name for d in dists[1:]]]

    def test_stale_attestation_is_refused(self, tmp_path: Path):
        """An attestation for other bytes of the file is refused, not silently reused."""
        dists = self._dists(tmp_path)
        ensure_publish_attestations(dists, attest=self._fake_attester([]))
        dists[0].write_bytes(b"rebuilt")
        with pytest.raises(SigningError, match="changed after it was attested"):
            ensure_publish_attestations(dists, environ={})

    def test_unreadable_attestation(self, tmp_path: Path):
        """A damaged attestation file is a SigningError that says to delete it."""
        dists = self._dists(tmp_path)
        attestation_path(dists[0]).write_text("{not json")
        with pytest.raises(SigningError, match="not a PEP 740 attestation") as info:
            ensure_publish_attestations(dists, attest=self._fake_attester([]))
        assert "Delete it" in info.value.hint


def _attestation(name: str, sha256: str) -> str:
    """A structurally valid PEP 740 attestation (dummy certificate and signature)."""
    stmt = {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": sha256}}],
            "predicateType": "https://docs.pypi.org/attestations/publish/v1", "predicate": {}}
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return Attestation.model_validate({
        "version": 1,
        "verification_material": {"certificate": b64(b"not a cert"),
                                  "transparency_entries": [{}]},
        "envelope": {"statement": b64(json.dumps(stmt).encode()), "signature": b64(b"sig")},
    }).model_dump_json()
