"""Real projects (tests/real_projects.py): each repository, made from its published sdist at its
tag, builds the version that was published, whatever computes it (the tag, the code, or
pyproject.toml)."""

from __future__ import annotations

import email.parser
import hashlib
import subprocess
import sys
import tarfile
import zipfile

import pytest

from action.cli import main
from tests.real_projects import PROJECTS, git, make_repository


def pkg_info(sdist) -> dict[str, str]:
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive if m.name.count("/") == 1 and m.name.endswith("PKG-INFO")]
        handle = archive.extractfile(member)
        assert handle is not None
        return dict(email.parser.Parser().parsestr(handle.read().decode(), headersonly=True))


def wheel_metadata(wheel) -> dict[str, str]:
    prefix = "-".join(wheel.name.split("-")[:2])  # flit_core vendors another .dist-info
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n == f"{prefix}.dist-info/METADATA"]
        return dict(email.parser.Parser().parsestr(archive.read(name).decode(),
                                                   headersonly=True))


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_the_repository_at_the_tag_builds_the_published_version(name, tmp_path):
    """`python -m build` (the sdist, then the wheel from it) of the tag's checkout."""
    project = PROJECTS[name]
    repo = make_repository(project, tmp_path / name)
    assert git(repo.path, "describe", "--tags", "--exact-match") == project.tag
    held = git(repo.path, "ls-files").splitlines()
    assert not {"PKG-INFO", *project.generated} & set(held)
    out = tmp_path / "dist"
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", out, repo.path],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    assert pkg_info(sdist)["Version"] == project.version
    assert wheel_metadata(wheel)["Version"] == project.version
    platform = wheel.name.removesuffix(".whl").rsplit("-", 1)[-1]
    assert (platform != "any") == project.native


def ledger_and_held(workdir):
    from statemachine.log import load

    log = next((workdir / "store" / "releases" / "1" / "assets").glob("release-state.*.jsonl"))
    lane = load(log.read_bytes()).state.main
    held = {}
    for name in ("testpypi", "pypi"):
        folder = workdir / "indexes" / name
        held[name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in folder.iterdir() if p.is_file()}
    return lane, held


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_rehearsed_to_published_and_installed(name, tmp_path, capsys, monkeypatch):
    """Each real project, at its tag, rehearsed to published and installed from the local
    PyPI (no Docker engine here: a C extension releases its sdist, compiled at install)."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    project = PROJECTS[name]
    repo = make_repository(project, tmp_path / name)
    workdir = tmp_path / "r"
    assert main(["rehearse", str(repo.path), "--approve", "--workdir", str(workdir)]) == 0, (
        capsys.readouterr())
    out = capsys.readouterr().out
    assert f"rehearsing {project.tag} of" in out
    assert f"=={project.version} from the local PyPI" in out
    assert f"imported {project.module}" in out
    lane, held = ledger_and_held(workdir)
    assert lane.state.value == "published"
    assert lane.opened.commit == repo.commit
    ledger = {f.name: f.sha256 for f in lane.dists()}
    assert held == {"testpypi": ledger, "pypi": ledger}
    sdists = [n for n in ledger if n.endswith(".tar.gz")]
    assert len(sdists) == 1
    assert len(ledger) == (1 if project.native else 2)


def test_a_dirty_checkout_of_a_vcs_project_is_refused_with_the_vcs_hint(tmp_path, capsys,
                                                                       monkeypatch):
    """setuptools-scm makes a .dev version of a changed work tree: refused at the build,
    saying where the version comes from, not to edit pyproject.toml."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    repo = make_repository(PROJECTS["pluggy"], tmp_path / "pluggy")
    with (repo.path / "README.rst").open("a") as readme:
        readme.write("\nA change after the tag.\n")
    workdir = tmp_path / "r"
    assert main(["rehearse", str(repo.path), "--approve", "--workdir", str(workdir)]) != 0
    err = capsys.readouterr().err
    assert "was built as version 1.6.1.dev0+" in err
    assert "the tag 1.6.0 says 1.6.0" in err
    assert "setuptools-scm computes the version from git" in err
    assert "Set the version in pyproject.toml" not in err
    assert not any((workdir / "indexes" / "pypi").iterdir())
