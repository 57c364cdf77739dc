"""Real projects (tests/real_projects.py): each repository, made from its published sdist at its
tag, builds the version that was published, whatever computes it (the tag, the code, or
pyproject.toml)."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile

import pytest

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
