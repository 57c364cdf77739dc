"""action.builders against the real Docker engine and the local manylinux-like image."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from action.builders.checks import check_dist
from action.builders.docker_engine import check_docker
from action.builders.identifiers import wheel_matches_identifier
from action.builders.sdist import build_pure_wheel, build_sdist
from action.builders.wheels import build_wheels, expected_identifiers
from action.errors import BuildError, DockerUnavailableError
from tests.fixtures_docker import (
    BUILD_IDENTIFIER,
    BUILDER_IMAGE,
    EXAMPLES,
    FNV_HEADER,
    SOURCE_DATE_EPOCH,
    LocalDocker,
    cibuildwheel_env,
    copy_example,
    leave_header_out_of_sdist,
)
from tests.real_projects import COMMIT_EPOCH, PROJECTS, git, make_repository, tagged_example

if TYPE_CHECKING:
    from action.builders.outputs import BuildOutput


@dataclass(frozen=True)
class Built:
    sdist: BuildOutput
    wheels: BuildOutput


def _build_cext(root: Path, *, run_tests: bool = True) -> Built:
    project = copy_example("sample-cext", root)
    out = root / "dist"
    env = cibuildwheel_env()
    if not run_tests:  # the project's test-command runs after the wheel is final
        env["CIBW_TEST_SKIP"] = "*"
    sdist = build_sdist(project, out, source_date_epoch=SOURCE_DATE_EPOCH,
                                 env=dict(os.environ))
    wheels = build_wheels(project, out, source_date_epoch=SOURCE_DATE_EPOCH, env=env,
                          sdist=sdist.files[0])
    return Built(sdist=sdist, wheels=wheels)


@pytest.fixture(scope="module")
def built(docker_engine: LocalDocker, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """examples/sample-cext built once: its sdist and its one Linux wheel."""
    return _build_cext(tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def rebuilt(docker_engine: LocalDocker, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The same sources built again, from another directory, with the same epoch."""
    return _build_cext(tmp_path_factory.mktemp("second"), run_tests=False)


def _venv_with(root: Path, wheel: Path) -> Path:
    """A fresh venv (no pip of its own) with only `wheel` installed; returns its python."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index",
         "--no-deps", wheel],
        check=True,
    )
    return python


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class TestCExtension:
    def test_sdist_is_built_and_passes_checks(self, built: Built):
        """The sdist is sample_cext-1.0.0.tar.gz and passes twine and the tag check."""
        (sdist,) = built.sdist.files
        assert sdist.name == "sample_cext-1.0.0.tar.gz"
        check_dist(sdist, "v1.0.0")

    def test_sdist_contains_the_c_source(self, built: Built):
        """The C source is in the sdist, so the sdist can build the extension."""
        with tarfile.open(built.sdist.files[0]) as archive:
            names = archive.getnames()
        assert "sample_cext-1.0.0/src/sample_cext/_speedups.c" in names

    def test_the_wheel_is_built_from_the_sdist(self, built: Built):
        """The wheel's recorded source is the sdist that was built (and normalised) first."""
        assert built.wheels.source == built.sdist.files[0]
        assert built.wheels.to_json()["source"] == str(built.sdist.files[0])

    def test_one_wheel_for_the_expected_identifier(self, built: Built):
        """cibuildwheel builds exactly the wheel its identifiers promise."""
        assert built.wheels.part == "linux"
        assert built.wheels.identifiers == (BUILD_IDENTIFIER,)
        assert built.wheels.completeness().ok
        (wheel,) = built.wheels.files
        assert wheel_matches_identifier(wheel.name, BUILD_IDENTIFIER)
        check_dist(wheel, "v1.0.0")

    def test_wheel_installs_and_the_c_function_works(self, built: Built, tmp_path: Path):
        """The wheel installs into a fresh venv; the C function gives the reference value."""
        python = _venv_with(tmp_path, built.wheels.files[0])
        code = (
            "import sample_cext, sample_cext._speedups as s; "
            "print(s.__file__.endswith('.so'), sample_cext.fnv1a(b'hello'), "
            "sample_cext.fnv1a(b'hello') == sample_cext.fnv1a_py(b'hello'))"
        )
        result = subprocess.run(
            [python, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
        )
        assert result.stdout.split() == ["True", "1335831723", "True"]

    def test_readme_examples_hold_for_the_wheel(self, built: Built, tmp_path: Path):
        """The sample's README examples pass as doctests against the installed wheel."""
        python = _venv_with(tmp_path, built.wheels.files[0])
        subprocess.run(
            [python, "-m", "doctest", EXAMPLES / "sample-cext" / "README.md"],
            cwd=tmp_path, check=True,
        )

    def test_recorded_image_is_the_one_docker_reports(self, built: Built):
        """The recorded image id is what `docker image inspect` says (no repo digest locally)."""
        (image,) = built.wheels.images
        inspected = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Id}} {{len .RepoDigests}}", BUILDER_IMAGE],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        assert image.name == BUILDER_IMAGE
        assert [image.image_id, str(len(image.repo_digests))] == inspected
        assert image.digest == inspected[0]

    def test_build_records_tool_versions(self, built: Built):
        """Tool versions, the engine version and the epoch are recorded with the wheels."""
        tools = built.wheels.tools
        assert {"python", "build", "cibuildwheel", "twine", "docker-engine"} <= set(tools)
        assert tools["cibuildwheel"] == "4.3.5"
        assert built.wheels.source_date_epoch == SOURCE_DATE_EPOCH

    def test_epoch_reaches_the_build_container(self, built: Built):
        """Every entry of the wheel carries the SOURCE_DATE_EPOCH date (set inside Docker)."""
        epoch = dt.datetime.fromtimestamp(SOURCE_DATE_EPOCH, tz=dt.UTC)
        with zipfile.ZipFile(built.wheels.files[0]) as archive:
            dates = {info.date_time for info in archive.infolist()}
        assert dates == {epoch.timetuple()[:6]}


class TestReproducibility:
    def test_sdists_are_byte_identical(self, built: Built, rebuilt: Built):
        """Two builds of the same sources with the same epoch give the same sdist bytes."""
        assert _sha256(built.sdist.files[0]) == _sha256(rebuilt.sdist.files[0])

    def test_wheels_are_byte_identical(self, built: Built, rebuilt: Built):
        """Two builds of the same sources in the same image give the same wheel bytes."""
        assert built.wheels.files[0].name == rebuilt.wheels.files[0].name
        assert _sha256(built.wheels.files[0]) == _sha256(rebuilt.wheels.files[0])


class TestPurePython:
    def test_pure_sample_builds_sdist_and_wheel(self, sample_pure: Path, tmp_path: Path):
        """The pure sample gives an sdist and a py3-none-any wheel that pass the checks."""
        out = tmp_path / "dist"
        env = dict(os.environ)
        sdist = build_sdist(sample_pure, out, source_date_epoch=SOURCE_DATE_EPOCH,
                                     env=env)
        wheel = build_pure_wheel(sample_pure, out, source_date_epoch=SOURCE_DATE_EPOCH,
                                          env=env)
        assert [p.name for p in sdist.files] == ["sample_pure-1.0.0.tar.gz"]
        assert [p.name for p in wheel.files] == ["sample_pure-1.0.0-py3-none-any.whl"]
        for path in (*sdist.files, *wheel.files):
            check_dist(path, "1.0.0")
        python = _venv_with(tmp_path, wheel.files[0])
        subprocess.run(
            [python, "-m", "doctest", EXAMPLES / "sample-pure" / "README.md"],
            cwd=tmp_path, check=True,
        )

    def test_cibuildwheel_refuses_a_pure_project(self, sample_pure: Path, tmp_path: Path, cibw_env):
        """A pure project is not a cibuildwheel project: the build fails and says so."""
        with pytest.raises(BuildError, match="cibuildwheel"):
            build_wheels(
                sample_pure, tmp_path / "dist", source_date_epoch=SOURCE_DATE_EPOCH, env=cibw_env
            )


def kept_output(hint: str) -> str:
    """The output file a failure's hint names (off GitHub), read and removed."""
    found = re.search(r"full output is in (\S+\.log)", hint)
    assert found, hint
    path = Path(found.group(1))
    try:
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink()


@pytest.fixture
def header_left_out(tmp_path: Path) -> tuple[Path, Path]:
    """The C sample as a git checkout whose sdist lacks a header the C source includes; the
    project and its sdist."""
    project = tagged_example("sample-cext", tmp_path / "src")
    leave_header_out_of_sdist(project)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a header for the constants")
    sdist = build_sdist(project, tmp_path / "sdist", source_date_epoch=SOURCE_DATE_EPOCH,
                        env=dict(os.environ))
    return project, sdist.files[0]


class TestFromTheSdist:
    def test_a_file_missing_from_the_sdist_fails_naming_it(self, header_left_out, tmp_path,
                                                          cibw_env):
        """Built from its sdist, the project fails in cibuildwheel; the one-line error names
        the build, the compiler's line and the file the sdist lacks, and says what to do."""
        project, sdist = header_left_out
        with pytest.raises(BuildError) as caught:
            build_wheels(project, tmp_path / "dist", source_date_epoch=SOURCE_DATE_EPOCH,
                         env=cibw_env, sdist=sdist)
        error = caught.value
        assert "\n" not in error.message
        assert error.message == (
            f"cibuildwheel failed building {BUILD_IDENTIFIER} from the sdist {sdist.name}: "
            "src/sample_cext/_speedups.c:5:10: fatal error: fnv_constants.h: No such file or "
            f"directory ({FNV_HEADER} is in the checkout but missing from the sdist)")
        assert error.hint.startswith(f"Add {FNV_HEADER} to the sdist (setuptools: MANIFEST.in")
        assert "fatal error: fnv_constants.h" in kept_output(error.hint)
        assert not list((tmp_path / "dist").glob("*.whl"))

    def test_the_checkout_of_the_same_project_builds(self, header_left_out, tmp_path,
                                                     cibw_env):
        """The same commit built from the checkout works: the sdist was the cause."""
        project, _sdist = header_left_out
        cibw_env["CIBW_TEST_SKIP"] = "*"
        built = build_wheels(project, tmp_path / "dist", source_date_epoch=SOURCE_DATE_EPOCH,
                             env=cibw_env)
        assert built.source is None
        assert [wheel_matches_identifier(p.name, BUILD_IDENTIFIER) for p in built.files] == [
            True]

    def test_a_failure_without_a_missing_file_says_how_to_reproduce(self, sample_cext,
                                                                    tmp_path, cibw_env):
        """A build that fails for another reason: the error line, and the command to re-run."""
        cibw_env["CIBW_BEFORE_BUILD"] = (
            "echo 'RuntimeError: the before-build step broke' >&2; false")
        sdist = build_sdist(sample_cext, tmp_path / "sdist", source_date_epoch=SOURCE_DATE_EPOCH,
                            env=dict(os.environ)).files[0]
        with pytest.raises(BuildError) as caught:
            build_wheels(sample_cext, tmp_path / "dist", source_date_epoch=SOURCE_DATE_EPOCH,
                         env=cibw_env, sdist=sdist)
        assert caught.value.message == (
            f"cibuildwheel failed building {BUILD_IDENTIFIER} from the sdist {sdist.name}: "
            "RuntimeError: the before-build step broke")
        assert f"`cibuildwheel --only {BUILD_IDENTIFIER} {sdist.name}`" in caught.value.hint
        assert "the before-build step broke" in kept_output(caught.value.hint)


class TestRealProject:
    def test_markupsafe_s_wheel_is_built_from_its_sdist(self, tmp_path, cibw_env):
        """markupsafe 3.0.2 (setuptools + C) at its tag: the sdist, then its cp311 wheel from
        that sdist through cibuildwheel; the wheel passes the checks and its C code imports."""
        project = PROJECTS["markupsafe"]
        repo = make_repository(project, tmp_path / "markupsafe")
        out = tmp_path / "dist"
        sdist = build_sdist(repo.path, out, source_date_epoch=COMMIT_EPOCH,
                            env=dict(os.environ)).files[0]
        wheels = build_wheels(repo.path, out, source_date_epoch=COMMIT_EPOCH, env=cibw_env,
                              sdist=sdist)
        assert wheels.source == sdist
        (wheel,) = wheels.files
        assert wheel_matches_identifier(wheel.name, BUILD_IDENTIFIER)
        for path in (sdist, wheel):
            check_dist(path, project.tag)
        python = _venv_with(tmp_path, wheel)
        result = subprocess.run(
            [python, "-c", "import markupsafe._speedups as s; print(s.__file__.endswith('.so'))"],
            cwd=tmp_path, check=True, capture_output=True, text=True)
        assert result.stdout.strip() == "True"


class TestIdentifiers:
    def test_expected_identifiers_follow_the_configuration(self, sample_cext: Path, cibw_env):
        """--print-build-identifiers with the project's config and CIBW_BUILD gives one id."""
        found = expected_identifiers(sample_cext, "linux", env=cibw_env)
        assert found == [BUILD_IDENTIFIER]

    def test_only_selects_a_backfill_identifier(self, sample_cext: Path, cibw_env):
        """`only` asks cibuildwheel about exactly that identifier, past CIBW_BUILD."""
        found = expected_identifiers(
            sample_cext, "linux", only=["cp314-manylinux_x86_64"], env=cibw_env
        )
        assert found == ["cp314-manylinux_x86_64"]


class TestChecks:
    def test_twine_refuses_a_broken_wheel(self, tmp_path: Path):
        """A file twine cannot read fails check_dist with a BuildError naming the file."""
        broken = tmp_path / "sample_cext-1.0.0-py3-none-any.whl"
        broken.write_bytes(b"this is not a zip file")
        with pytest.raises(BuildError, match=r"twine cannot read sample_cext-1\.0\.0"):
            check_dist(broken, "v1.0.0")


class TestNoEngine:
    def test_dead_socket_fails_clearly(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """DOCKER_HOST at a dead socket: DockerUnavailableError naming it and the fix."""
        dead = f"unix://{tmp_path}/dead.sock"
        monkeypatch.setenv("DOCKER_HOST", dead)
        with pytest.raises(DockerUnavailableError) as caught:
            check_docker(dict(os.environ))
        text = str(caught.value)
        assert dead in text
        assert "/var/run/docker.sock" in text
        assert "DOCKER_HOST" in text
        assert "ubuntu" in text

    def test_wheel_build_stops_before_any_work(self, sample_cext: Path, tmp_path: Path):
        """With the build env's DOCKER_HOST dead, build_wheels fails at once, writing nothing."""
        env = {"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
        out = tmp_path / "dist"
        with pytest.raises(DockerUnavailableError, match=r"dead\.sock"):
            build_wheels(sample_cext, out, source_date_epoch=SOURCE_DATE_EPOCH, env=env)
        assert not out.exists()
