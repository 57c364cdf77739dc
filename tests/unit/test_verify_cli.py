"""`release-action verify DIR`: every file covered by one lane's provenance, none contradicted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from action.attestation.keys import KeySigner, generate_key
from action.attestation.signers import sign_provenance
from action.attestation.statement import RunDetails, Subject, build_statement
from action.cli import main
from action.errors import VerificationError

COMMIT = "c" * 40


def signed_lane(folder, signer, lane, files):
    subjects = [Subject(name=n, sha256=hashlib.sha256(b).hexdigest()) for n, b in files.items()]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    run = RunDetails(server_url="https://github.com", repository="octo/x", commit=COMMIT,
                     tag="v1.0.0", run_id="1", run_attempt=1, workflow="release.yml",
                     event="push", lane=lane, started_on=datetime(2026, 1, 1, tzinfo=UTC),
                     python=() if lane == "main" else (lane,))
    sign_provenance(signer, build_statement(subjects, run), folder, lane)


def verify(folder, public):
    return main(["verify", str(folder), "--public-key", str(public), "--repository", "octo/x",
                 "--commit", COMMIT])


def test_a_release_with_a_backfill_lane_verifies_file_by_file(tmp_path, capsys):
    """Main's provenance covers the sdist and a wheel, the backfill's its wheel: all ok."""
    private, public = generate_key()
    (tmp_path / "key.pub").write_text(public)
    signer = KeySigner.from_pem(private)
    signed_lane(tmp_path, signer, "main", {"x-1.0.0.tar.gz": b"s", "x-1.0.0-cp311.whl": b"w"})
    signed_lane(tmp_path, signer, "cp314", {"x-1.0.0-cp314.whl": b"n"})
    assert verify(tmp_path, tmp_path / "key.pub") == 0
    out = capsys.readouterr().out
    assert out.count("ok   ") == 3
    assert "verdict: every file verified" in out


def test_a_changed_backfill_wheel_fails_the_verdict(tmp_path, capsys):
    """One changed byte in a file covered by the backfill's provenance fails that file."""
    private, public = generate_key()
    (tmp_path / "key.pub").write_text(public)
    signer = KeySigner.from_pem(private)
    signed_lane(tmp_path, signer, "main", {"x-1.0.0.tar.gz": b"s"})
    signed_lane(tmp_path, signer, "cp314", {"x-1.0.0-cp314.whl": b"n"})
    (tmp_path / "x-1.0.0-cp314.whl").write_bytes(b"N")
    assert verify(tmp_path, tmp_path / "key.pub") == VerificationError.exit_code
    out = capsys.readouterr().out
    assert "FAIL x-1.0.0-cp314.whl: sha256" in out
    assert "verdict: FAILED" in out


def test_a_file_no_provenance_covers_fails(tmp_path, capsys):
    """A dist beside the provenance that no lane signed is not verified."""
    private, public = generate_key()
    (tmp_path / "key.pub").write_text(public)
    signed_lane(tmp_path, KeySigner.from_pem(private), "main", {"x-1.0.0.tar.gz": b"s"})
    (tmp_path / "x-1.0.0-extra.whl").write_bytes(b"?")
    assert verify(tmp_path, tmp_path / "key.pub") == VerificationError.exit_code
    assert "FAIL x-1.0.0-extra.whl: not covered" in capsys.readouterr().out
