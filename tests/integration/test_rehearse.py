"""`release-action rehearse`: a whole release on this machine, resumable, with clear refusals."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from action.cli import main
from action.config import read_environment
from action.rehearse import Rehearsal, rehearse
from statemachine.log import load

ROOT = Path(__file__).resolve().parents[2]
PURE = ROOT / "examples" / "sample-pure"


def snapshot(workdir: Path) -> Path:
    return next((workdir / "store" / "releases" / "1" / "assets").glob("release-state.*.jsonl"))


def index_files(workdir: Path, name: str) -> dict[str, str]:
    folder = workdir / "indexes" / name
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file()}


def test_rehearsal_of_the_pure_sample_publishes_and_installs(tmp_path, capsys):
    """The whole release ends published, installed from the local PyPI and imported."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(PURE), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "installed sample-pure==1.0.0 from the local PyPI" in out
    assert "imported sample_pure" in out
    state = load(snapshot(workdir).read_bytes()).state
    assert state.main.state.value == "published"
    ledger = {f.name: f.sha256 for f in state.main.dists()}
    assert index_files(workdir, "pypi") == ledger
    assert index_files(workdir, "testpypi") == ledger


def test_the_rehearsals_release_folder_holds_only_what_a_github_release_would(tmp_path):
    """After a rehearsal the assets are the files, the provenance and one log snapshot: no
    digest sidecars, partial uploads or superseded snapshots; each asset's digest is recorded."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(PURE), "--approve", "--workdir", str(workdir)]) == 0
    release = workdir / "store" / "releases" / "1"
    state = load(snapshot(workdir).read_bytes()).state
    expected = {f.name for f in state.main.release_files()} | {snapshot(workdir).name}
    assert {p.name for p in (release / "assets").iterdir()} == expected
    assert {p.name for p in (release / "digests").iterdir()} == expected
    for name in expected:
        digest = (release / "digests" / name).read_text(encoding="ascii")
        assert digest == hashlib.sha256((release / "assets" / name).read_bytes()).hexdigest()
    assert list((release / "uploading").iterdir()) == []


def test_the_commands_the_rehearsal_prints_work_as_printed(tmp_path, capsys):
    """The closing `read it:` (status) and `verify it:` lines, run as a shell would, succeed:
    status and verify read a rehearsal like a real release."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(PURE), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    printed = dict(re.findall(r"^  (read it|verify it): +(.+)$", out, re.MULTILINE))
    assert set(printed) == {"read it", "verify it"}
    status = subprocess.run(shlex.split(printed["read it"]), capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert status.returncode == 0, status.stderr
    assert "lane main: published" in status.stdout
    verify = subprocess.run(shlex.split(printed["verify it"]), capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "verdict: every file verified" in verify.stdout


def test_an_interrupted_rehearsal_resumes_from_its_log(tmp_path):
    """Ctrl-C at the first upload's progress line (the batch has landed, its results are not
    stored); the next run checks the index and finishes with every file once."""
    workdir = tmp_path / "r"
    seen: list[str] = []

    def interrupting(text: str) -> None:
        seen.append(text)
        if text.lstrip().startswith("testpypi ["):
            raise KeyboardInterrupt

    r = Rehearsal(project=PURE, workdir=workdir, tag="v1.0.0", approve=True, interactive=False)
    assert rehearse(r, interrupting, read_environment()) == 130
    state = load(snapshot(workdir).read_bytes()).state
    assert state.main.state.value == "approved"
    assert index_files(workdir, "testpypi")  # on the index ...
    assert not state.main.confirmed("testpypi")  # ... and unknown to the log
    lines: list[str] = []
    assert rehearse(r, lines.append, read_environment()) == 0
    assert any("check-uploads" in line for line in lines)
    state = load(snapshot(workdir).read_bytes()).state
    ledger = {f.name: f.sha256 for f in state.main.dists()}
    assert index_files(workdir, "testpypi") == ledger
    assert index_files(workdir, "pypi") == ledger
    # The bars count what is left: the files already on Test PyPI (its whole batch landed
    # before the interrupt) are found there, not sent again.
    bars = [(line.split()[0], line.split("]")[1].split()[0], line.split()[-1]) for line in lines
            if line.lstrip().startswith(("testpypi [", "pypi "))]
    assert bars == [("testpypi", "1/2", "already-present"), ("testpypi", "2/2", "already-present"),
                    ("pypi", "1/2", "uploaded"), ("pypi", "2/2", "uploaded")]


def test_a_rehearsal_interrupted_between_builds_resumes_its_bar_at_the_second_part(tmp_path):
    """Ctrl-C as part 2 of 2 starts: the next run builds only part 2, its bar at 1/2, not a
    bar restarting at 0/2 for part 1."""
    workdir = tmp_path / "r"

    def interrupting(text: str) -> None:
        if " part 2 " in text:
            raise KeyboardInterrupt

    r = Rehearsal(project=PURE, workdir=workdir, tag="v1.0.0", approve=True, interactive=False)
    assert rehearse(r, interrupting, read_environment()) == 130
    lane = load(snapshot(workdir).read_bytes()).state.main
    assert [name for name, part in lane.parts.items() if part.finished] == ["sdist"]
    lines: list[str] = []
    assert rehearse(r, lines.append, read_environment()) == 0
    builds = [line.split("]", 1)[1].strip() for line in lines
              if line.lstrip().startswith("- build ")]
    assert builds == ["1/2 part 2 (wheel)"]


def test_a_version_that_is_not_the_tags_is_refused_and_nothing_published(tmp_path, capsys):
    """Rehearsing tag v9.9.9 of a 1.0.0 project stops at the build with a clear error."""
    workdir = tmp_path / "r"
    code = main(["rehearse", str(PURE), "--approve", "--tag", "v9.9.9", "--workdir",
                 str(workdir)])
    assert code != 0
    err = capsys.readouterr().err
    assert "9.9.9" in err
    assert "1.0.0" in err
    assert index_files(workdir, "testpypi") == {}
    assert index_files(workdir, "pypi") == {}


@pytest.mark.parametrize("answer", ["n\n", "\n"])
def test_without_approval_nothing_is_published(tmp_path, monkeypatch, answer):
    """Answering no at the prompt stops before any upload, with what to do."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    workdir = tmp_path / "r"
    r = Rehearsal(project=PURE, workdir=workdir, tag="v1.0.0", approve=False, interactive=True)
    with pytest.raises(Exception, match="no approval"):
        rehearse(r, lambda _text: None, read_environment())
    assert index_files(workdir, "pypi") == {}


def test_without_docker_the_rehearsal_says_what_it_skipped_and_builds_what_it_can(
        tmp_path, capsys, monkeypatch):
    """No engine: the C sample's sdist alone is released, installed (compiled) and imported."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    workdir = tmp_path / "r"
    cext = ROOT / "examples" / "sample-cext"
    assert main(["rehearse", str(cext), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "skipped: Linux wheels: no Docker engine is reachable" in out
    assert "imported sample_cext" in out
    assert list(index_files(workdir, "pypi")) == ["sample_cext-1.0.0.tar.gz"]
