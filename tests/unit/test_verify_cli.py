"""`release-action verify DIR`: every file covered by one lane's provenance, none contradicted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from action.attestation.keys import KeySigner, generate_key
from action.attestation.signers import sign_provenance
from action.attestation.statement import RunDetails, Subject, WheelSource, build_statement
from action.cli import main
from action.errors import VerificationError

COMMIT = "c" * 40


def signed_lane(folder, signer, lane, files, built_from=None):
    """Sign `files` (name -> bytes) as `lane`; `built_from` (name, bytes): the wheels' sdist."""
    subjects = [Subject(name=n, sha256=hashlib.sha256(b).hexdigest()) for n, b in files.items()]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    run = RunDetails(server_url="https://github.com", repository="octo/x", commit=COMMIT,
                     tag="v1.0.0", run_id="1", run_attempt=1, workflow="release.yml",
                     event="push", lane=lane, started_on=datetime(2026, 1, 1, tzinfo=UTC),
                     python=() if lane == "main" else (lane,))
    sources = [] if built_from is None else [WheelSource(
        Subject(built_from[0], hashlib.sha256(built_from[1]).hexdigest()), ("linux",))]
    sign_provenance(signer, build_statement(subjects, run, wheel_sources=sources), folder, lane)


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


def _key(tmp_path):
    private, public = generate_key()
    (tmp_path / "key.pub").write_text(public)
    return KeySigner.from_pem(private)


def test_a_wheel_built_from_a_verified_sdist_verifies(tmp_path, capsys):
    """The backfill's wheel was built from main's sdist, which verified with those bytes."""
    signer = _key(tmp_path)
    signed_lane(tmp_path, signer, "main", {"x-1.0.0.tar.gz": b"s", "x-1.0.0-cp311.whl": b"w"},
                built_from=("x-1.0.0.tar.gz", b"s"))
    signed_lane(tmp_path, signer, "cp314", {"x-1.0.0-cp314.whl": b"n"},
                built_from=("x-1.0.0.tar.gz", b"s"))
    assert verify(tmp_path, tmp_path / "key.pub") == 0
    assert "verdict: every file verified" in capsys.readouterr().out


def test_a_wheel_built_from_other_sdist_bytes_fails_naming_both(tmp_path, capsys):
    """The backfill's provenance says its wheel came from an sdist with other bytes than the
    release's verified sdist: every file verifies on its own, the verdict fails naming both."""
    signer = _key(tmp_path)
    signed_lane(tmp_path, signer, "main", {"x-1.0.0.tar.gz": b"s"})
    signed_lane(tmp_path, signer, "cp314", {"x-1.0.0-cp314.whl": b"n"},
                built_from=("x-1.0.0.tar.gz", b"other"))
    assert verify(tmp_path, tmp_path / "key.pub") == VerificationError.exit_code
    out = capsys.readouterr().out
    said, verified = hashlib.sha256(b"other").hexdigest(), hashlib.sha256(b"s").hexdigest()
    assert (f"FAIL lane cp314's provenance says its linux wheels were built from "
            f"x-1.0.0.tar.gz (sha256 {said}), but the verified x-1.0.0.tar.gz has sha256 "
            f"{verified}") in out
    assert out.count("ok   ") == 2
    assert "verdict: FAILED" in out


def test_a_wheel_whose_sdist_is_not_among_the_files_fails(tmp_path, capsys):
    """The wheel's provenance names an sdist no verified file is (here: none beside it)."""
    signer = _key(tmp_path)
    signed_lane(tmp_path, signer, "cp314", {"x-1.0.0-cp314.whl": b"n"},
                built_from=("x-1.0.0.tar.gz", b"s"))
    assert verify(tmp_path, tmp_path / "key.pub") == VerificationError.exit_code
    out = capsys.readouterr().out
    assert "x-1.0.0.tar.gz (sha256 " in out
    assert "), which is not among the verified files" in out
    assert "verdict: FAILED" in out
