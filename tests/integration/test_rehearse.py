"""`release-action rehearse`: a whole release on this machine, resumable, with clear refusals."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from action.cli import main
from action.config import read_environment
from action.rehearse import Rehearsal, rehearse
from statemachine.log import load
from tests.conftest import require
from tests.doubles import sigstore_local
from tests.real_projects import git, tagged_example


@pytest.fixture
def pure(tmp_path: Path) -> Path:
    """examples/sample-pure as its own repository, tagged v1.0.0."""
    return tagged_example("sample-pure", tmp_path / "src")


def snapshot(workdir: Path) -> Path:
    return next((workdir / "store" / "releases" / "1" / "assets").glob("release-state.*.jsonl"))


def index_files(workdir: Path, name: str) -> dict[str, str]:
    folder = workdir / "indexes" / name
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file()}


def test_rehearsal_of_the_pure_sample_publishes_and_installs(tmp_path, pure, capsys):
    """The whole release ends published, installed from the local PyPI and imported."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(pure), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "installed sample-pure==1.0.0 from the local PyPI" in out
    assert "imported sample_pure" in out
    state = load(snapshot(workdir).read_bytes()).state
    assert state.main.state.value == "published"
    ledger = {f.name: f.sha256 for f in state.main.dists()}
    assert index_files(workdir, "pypi") == ledger
    assert index_files(workdir, "testpypi") == ledger


def test_the_rehearsals_release_folder_holds_only_what_a_github_release_would(tmp_path, pure):
    """After a rehearsal the assets are the files, the provenance and one log snapshot: no
    digest sidecars, partial uploads or superseded snapshots; each asset's digest is recorded."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(pure), "--approve", "--workdir", str(workdir)]) == 0
    release = workdir / "store" / "releases" / "1"
    state = load(snapshot(workdir).read_bytes()).state
    expected = {f.name for f in state.main.release_files()} | {snapshot(workdir).name}
    assert {p.name for p in (release / "assets").iterdir()} == expected
    assert {p.name for p in (release / "digests").iterdir()} == expected
    for name in expected:
        digest = (release / "digests" / name).read_text(encoding="ascii")
        assert digest == hashlib.sha256((release / "assets" / name).read_bytes()).hexdigest()
    assert list((release / "uploading").iterdir()) == []


def test_the_commands_the_rehearsal_prints_work_as_printed(tmp_path, pure, capsys):
    """The closing `read it:` (status) and `verify it:` lines, run as a shell would, succeed:
    status and verify read a rehearsal like a real release."""
    workdir = tmp_path / "r"
    assert main(["rehearse", str(pure), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    printed = dict(re.findall(r"^  (read it|verify it): +(.+)$", out, re.MULTILINE))
    assert set(printed) == {"read it", "verify it"}
    status = subprocess.run(shlex.split(printed["read it"]), capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert status.returncode == 0, status.stderr
    assert "lane main: published" in status.stdout
    assert "done: 1.0.0 is published on Test PyPI and PyPI" in status.stdout
    assert "next:" not in status.stdout
    verify = subprocess.run(shlex.split(printed["verify it"]), capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "verdict: every file verified" in verify.stdout


def test_an_interrupted_rehearsal_resumes_from_its_log(tmp_path, pure):
    """Ctrl-C at the first upload's progress line (the batch has landed, its results are not
    stored); the next run checks the index and finishes with every file once."""
    workdir = tmp_path / "r"
    seen: list[str] = []

    def interrupting(text: str) -> None:
        seen.append(text)
        if text.lstrip().startswith("testpypi ["):
            raise KeyboardInterrupt

    r = Rehearsal(project=pure, workdir=workdir, tag="v1.0.0", approve=True, interactive=False)
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


def test_a_rehearsal_interrupted_between_builds_resumes_its_bar_at_the_second_part(tmp_path, pure):
    """Ctrl-C as part 2 of 2 starts: the next run builds only part 2, its bar at 1/2, not a
    bar restarting at 0/2 for part 1."""
    workdir = tmp_path / "r"

    def interrupting(text: str) -> None:
        if " part 2 " in text:
            raise KeyboardInterrupt

    r = Rehearsal(project=pure, workdir=workdir, tag="v1.0.0", approve=True, interactive=False)
    assert rehearse(r, interrupting, read_environment()) == 130
    lane = load(snapshot(workdir).read_bytes()).state.main
    assert [name for name, part in lane.parts.items() if part.finished] == ["sdist"]
    lines: list[str] = []
    assert rehearse(r, lines.append, read_environment()) == 0
    builds = [line.split("]", 1)[1].strip() for line in lines
              if line.lstrip().startswith("- build ")]
    assert builds == ["1/2 part 2 (wheel)"]


def test_a_version_that_is_not_the_tags_is_refused_and_nothing_published(tmp_path, pure,
                                                                         capsys):
    """Tag v9.9.9 on a commit whose pyproject.toml says 1.0.0 stops at the build, saying to
    edit pyproject.toml (the version is static)."""
    git(pure, "tag", "-a", "v9.9.9", "-m", "v9.9.9")
    workdir = tmp_path / "r"
    code = main(["rehearse", str(pure), "--approve", "--tag", "v9.9.9", "--workdir",
                 str(workdir)])
    assert code != 0
    err = capsys.readouterr().err
    assert "was built as version 1.0.0" in err
    assert "the tag v9.9.9 says 9.9.9" in err
    assert "Set the version in pyproject.toml" in err
    assert index_files(workdir, "testpypi") == {}
    assert index_files(workdir, "pypi") == {}


@pytest.mark.parametrize("answer", ["n\n", "\n"])
def test_without_approval_nothing_is_published(tmp_path, pure, monkeypatch, answer):
    """Answering no at the prompt stops before any upload, with what to do."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    workdir = tmp_path / "r"
    r = Rehearsal(project=pure, workdir=workdir, tag="v1.0.0", approve=False, interactive=True)
    with pytest.raises(Exception, match="no approval"):
        rehearse(r, lambda _text: None, read_environment())
    assert index_files(workdir, "pypi") == {}


def test_without_docker_the_rehearsal_says_what_it_skipped_and_builds_what_it_can(
        tmp_path, capsys, monkeypatch):
    """No engine: the C sample's sdist alone is released, installed (compiled) and imported."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    workdir = tmp_path / "r"
    cext = tagged_example("sample-cext", tmp_path / "src")
    assert main(["rehearse", str(cext), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "skipped: Linux wheels: no Docker engine is reachable" in out
    assert "imported sample_cext" in out
    assert list(index_files(workdir, "pypi")) == ["sample_cext-1.0.0.tar.gz"]


class TestTheTagFromGit:
    def test_a_tag_git_does_not_have_is_refused_naming_the_near_ones(self, tmp_path, pure,
                                                                     capsys):
        """--tag v1.0.1 when git has v1.0.0: refused before anything is built."""
        code = main(["rehearse", str(pure), "--approve", "--tag", "v1.0.1", "--workdir",
                     str(tmp_path / "r")])
        assert code == 2
        err = capsys.readouterr().err
        assert "there is no tag 'v1.0.1'" in err
        assert "Tags near it: v1.0.0." in err
        assert not (tmp_path / "r" / "indexes").exists()

    def test_the_version_tag_on_head_is_the_default_as_git_spells_it(self, tmp_path, capsys):
        """A tag `1.0.0` (no v) is rehearsed as `1.0.0`."""
        project = tagged_example("sample-pure", tmp_path / "src", tag="1.0.0")
        assert main(["rehearse", str(project), "--approve", "--workdir",
                     str(tmp_path / "r")]) == 0
        out = capsys.readouterr().out
        assert "rehearsing 1.0.0 of" in out
        assert "installed sample-pure==1.0.0" in out

    def test_an_untagged_head_is_refused(self, tmp_path, pure, capsys):
        (pure / "NOTES.txt").write_text("after the release\n")
        git(pure, "add", "NOTES.txt")
        git(pure, "commit", "-q", "-m", "notes")
        assert main(["rehearse", str(pure), "--approve", "--workdir", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert "has no version tag" in err
        assert "its tags: v1.0.0" in err

    def test_a_project_in_a_subfolder_with_project_dir(self, tmp_path, capsys):
        """The repository's tag, the subfolder's pyproject.toml."""
        repo = tmp_path / "repo"
        repo.mkdir()
        sub = tagged_example("sample-pure", repo)  # repo/sample-pure
        import shutil

        shutil.rmtree(sub / ".git")
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "monorepo")
        git(repo, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
        assert main(["rehearse", str(repo), "--project-dir", "sample-pure", "--approve",
                     "--workdir", str(tmp_path / "r")]) == 0
        assert "installed sample-pure==1.0.0" in capsys.readouterr().out


class TestRefusals:
    def test_no_pyproject_is_a_clear_error_not_a_traceback(self, tmp_path, capsys):
        empty = tmp_path / "empty"
        empty.mkdir()
        assert main(["rehearse", str(empty), "--tag", "v1.0.0", "--approve"]) == 2
        err = capsys.readouterr().err
        assert "has no pyproject.toml" in err
        assert "--project-dir" in err
        assert "Traceback" not in err

    def test_the_approval_is_read_from_a_pipe(self, tmp_path, pure, monkeypatch, capsys):
        """`echo y | release-action rehearse`: the prompt is shown and the answer taken."""
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
        assert main(["rehearse", str(pure), "--workdir", str(tmp_path / "r")]) == 0
        out = capsys.readouterr().out
        assert "publish exactly these files? [y/N] y" in out
        assert "installed sample-pure==1.0.0" in out

    def test_no_answer_on_a_pipe_says_to_answer_or_pass_approve(self, tmp_path, pure,
                                                               monkeypatch, capsys):
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert main(["rehearse", str(pure), "--workdir", str(tmp_path / "r")]) != 0
        err = capsys.readouterr().err
        assert "no answer was given" in err
        assert "--approve" in err
        assert "Settings > Environments" not in err


def test_a_keyless_rehearsal_signs_through_the_local_sigstore_and_says_how_to_verify(
    tmp_path, pure, capsys,
):
    """--keyless: provenance and PEP 740 attestations signed by the local Sigstore instance;
    the printed commands verify the release (release-action verify and the sigstore CLI), and
    a changed byte fails the sigstore CLI."""
    require(sigstore_local.available() is None, f"no local Sigstore: {sigstore_local.available()}")
    workdir = tmp_path / "r"
    assert main(["rehearse", str(pure), "--approve", "--keyless", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "imported sample_pure" in out
    state = load(snapshot(workdir).read_bytes()).state
    assert state.main.signer == "sigstore"
    assets = snapshot(workdir).parent
    assert sorted(p.name for p in assets.glob("*.publish.attestation")) == sorted(
        f"{f.name}.publish.attestation" for f in state.main.dists())
    verify = shlex.split(next(line for line in out.splitlines() if "verify it: " in line)
                         .split("verify it: ", 1)[1])
    command = verify[verify.index("verify"):]
    assert "--trust-config" in command
    assert main(command) == 0
    assert "verdict: every file verified" in capsys.readouterr().out
    cli = next(line for line in out.splitlines() if "with the sigstore CLI" in line)
    sigstore = shlex.split(cli.split("for each file: sigstore ", 1)[1])[:-1]
    wheel = next(assets.glob("*.whl"))
    done = subprocess.run([str(Path(sys.executable).with_name("sigstore")), *sigstore,
                           str(wheel)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    changed = tmp_path / wheel.name
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    done = subprocess.run([str(Path(sys.executable).with_name("sigstore")), *sigstore,
                           str(changed)], capture_output=True, text=True, check=False)
    assert done.returncode == 1
