"""Real projects as test inputs: published sdists made back into git repositories at their tags.

Each project is fetched once with pip from the package registry (`pip download --no-deps
--no-binary :all:`, the sdist's sha256 pinned with `--require-hashes`) into a cache outside the
repository (`$RELEASE_ACTION_TEST_CACHE`, default `~/.cache/release-action-tests`), then
unpacked into a git repository the way its maintainers keep it: the files a build generates
(PKG-INFO, `*.egg-info`, the version file a VCS plugin writes) are left out, what a backend
rewrote on the way into the sdist is put back (pdm-backend writes the computed version into
pyproject.toml), and the commit is tagged with the project's own tag, so that a VCS-versioned
project computes its version from that tag.

    repo = make_repository(PROJECTS["pluggy"], tmp_path / "pluggy")
    # repo.path: a git work tree at the tag; repo.commit; repo.tag
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

COMMIT_EPOCH = 1733011200  # 2024-12-01 00:00 UTC: the date of every real project's tag commit


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "release-action-tests"
    return Path(os.environ.get("RELEASE_ACTION_TEST_CACHE", default)) / "sdists"


def _pdm_dynamic_version(root: Path) -> None:
    """pdm-backend wrote `version = "..."` and `dynamic = []` into the sdist's pyproject.toml;
    the repository says `dynamic = ["version"]` and lets [tool.pdm.version] compute it."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^version = "[^"]*"\n', "", text, count=1)
    text = re.sub(r"(?m)^dynamic = \[\]$", 'dynamic = ["version"]', text, count=1)
    path.write_text(text, encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class RealProject:
    """A published release of a real project and how its repository looked at the tag."""

    dist: str  # the name pip knows it by
    version: str
    sha256: str  # of the published sdist
    tag: str  # the project's own tag for the release
    backend: str  # build backend, as a reader would say it
    versioning: str  # where the version comes from
    module: str  # what to import once installed
    generated: tuple[str, ...] = ()  # files of the sdist the repository does not hold
    restore: Callable[[Path], None] | None = None
    native: bool = False  # compiled code (wheels through cibuildwheel)

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


PROJECTS: dict[str, RealProject] = {p.dist: p for p in (
    RealProject(
        dist="pluggy", version="1.6.0", tag="1.6.0",
        sha256="7dcc130b76258d33b90f61b658791dede3486c3e6bfb003ee5c9bfb396dd22f3",
        backend="setuptools", versioning="setuptools-scm", module="pluggy",
        generated=("PKG-INFO", "src/pluggy.egg-info", "src/pluggy/_version.py"),
    ),
    RealProject(
        dist="iniconfig", version="2.1.0", tag="v2.1.0",
        sha256="3abbd2e30b36733fee78f9c7f7308f2d0050e88f0087fd25c2645f63c773e1c7",
        backend="hatchling", versioning="hatch-vcs", module="iniconfig",
        generated=("PKG-INFO", "src/iniconfig/_version.py"),
    ),
    RealProject(
        dist="flit_core", version="3.12.0", tag="3.12.0",
        sha256="18f63100d6f94385c6ed57a72073443e1a71a4acb4339491615d0f16d6ff01b2",
        backend="flit_core", versioning="flit: __version__ in the module", module="flit_core",
        generated=("PKG-INFO",),
    ),
    RealProject(
        dist="dep-logic", version="0.5.2", tag="0.5.2",
        sha256="f8dc4a74d1bad0d35a45c236572cf5d6534b5c2e84de87f2a354c849eec7e562",
        backend="pdm-backend", versioning="pdm-backend scm", module="dep_logic",
        generated=("PKG-INFO",), restore=_pdm_dynamic_version,
    ),
    RealProject(
        dist="markupsafe", version="3.0.2", tag="3.0.2",
        sha256="ee55d3edf80167e48ea11a923c7386f4669df67d7994554387f84e7d8b0a2bf0",
        backend="setuptools + C extension", versioning="static", module="markupsafe",
        generated=("PKG-INFO", "src/MarkupSafe.egg-info"), native=True,
    ),
)}


def fetch_sdist(project: RealProject) -> Path:
    """The published sdist, from the cache or downloaded with pip (its sha256 checked)."""
    cache = cache_dir()
    found = [p for p in cache.glob("*.tar.gz") if _sha256(p) == project.sha256]
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{project.requirement} --hash=sha256:{project.sha256}\n",
                                encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", "--require-hashes", "--dest", tmp, "-r", requirements],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip could not fetch {project.requirement}:\n{result.stderr}")
        (downloaded,) = Path(tmp).glob("*.tar.gz")
        target = cache / downloaded.name
        shutil.move(downloaded, target)
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Repository:
    project: RealProject
    path: Path
    commit: str

    @property
    def tag(self) -> str:
        return self.project.tag


def git(path: Path, *args: str, epoch: int = COMMIT_EPOCH) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{epoch} +0000",
           "GIT_COMMITTER_DATE": f"@{epoch} +0000"}
    return subprocess.run(
        ["git", "-C", str(path), "-c", "user.name=Maintainer", "-c",
         "user.email=maintainer@example.invalid", "-c", "init.defaultBranch=main",
         "-c", "tag.gpgSign=false", "-c", "commit.gpgSign=false", *args],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.strip()


def make_repository(project: RealProject, dest: Path) -> Repository:
    """The project's sdist unpacked into `dest` as its repository at the tag (one commit)."""
    sdist = fetch_sdist(project)
    dest.mkdir(parents=True)
    with tarfile.open(sdist, "r:gz") as archive:
        top = archive.getmembers()[0].name.split("/", 1)[0]
        archive.extractall(dest.parent / f".{dest.name}-unpack", filter="data")
    unpacked = dest.parent / f".{dest.name}-unpack" / top
    for entry in unpacked.iterdir():
        shutil.move(entry, dest / entry.name)
    shutil.rmtree(dest.parent / f".{dest.name}-unpack")
    for relative in project.generated:
        target = dest / relative
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise FileNotFoundError(f"{project.requirement}: the sdist has no {relative}")
    if project.restore is not None:
        project.restore(dest)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"Release {project.version}")
    git(dest, "tag", "-a", project.tag, "-m", f"Release {project.version}")
    return Repository(project, dest, git(dest, "rev-parse", "HEAD"))


def tagged_example(name: str, dest: Path, tag: str = "v1.0.0") -> Path:
    """A copy of examples/<name> as its own git repository, one commit tagged `tag`."""
    from tests.fixtures_docker import copy_example

    path = copy_example(name, dest)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"{name} {tag}")
    git(path, "tag", "-a", tag, "-m", tag)
    return path
