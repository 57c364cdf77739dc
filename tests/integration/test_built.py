"""built -> attested: a file changed after it was built is caught before anything is signed."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from action import pipeline
from action.attestation.keys import generate_key
from action.errors import DigestMismatchError, ForeignDistError, UnsafeInputError
from action.steps.built import expected_wheels
from statemachine.payloads import FileRecorded
from statemachine.plan import StopKind
from tests.integration.harness import (
    NAME,
    SDIST,
    TAG,
    VERSION,
    WHEEL,
    ProcessDied,
    Progress,
    Uploads,
    World,
    _git,
    build,
    make_project,
    sha256,
)
from tests.many_dists import write_wheel

if TYPE_CHECKING:
    from pathlib import Path



def test_a_file_changed_after_it_was_built_is_caught_before_attesting(tmp_path, testpypi, pypi):
    """The wheel is altered between the build and the release step: both digests are named."""
    private, _public = generate_key()
    # The indexes are read before building (has the release's 14-day window closed?).
    world = World(make_project(tmp_path / "p"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    first = world.job(tmp_path / "job", progress=Progress(stop_before="seal-built"))
    with pytest.raises(ProcessDied):
        pipeline.run(first)
    built = first.workdir / "files" / WHEEL
    recorded = sha256(built)
    for copy in (built, first.config.dist_dir / WHEEL):
        copy.write_bytes(copy.read_bytes() + b"tampered")
    changed = sha256(built)

    second = world.job(tmp_path / "job", in_environment=False)
    with pytest.raises(DigestMismatchError) as caught:
        pipeline.run(second)
    message = str(caught.value)
    assert WHEEL in message
    assert recorded in message
    assert changed in message
    assert second.lane.state.value == "tagged"
    assert second.lane.provenance is None


def test_the_completeness_gate_lists_missing_and_unexpected_wheels(tmp_path, testpypi, pypi):
    """Expected identifiers without wheels and wheels without identifiers: both listed."""
    from action.errors import BuildError

    private, _public = generate_key()
    # The indexes are read before building (has the release's 14-day window closed?).
    world = World(make_project(tmp_path / "p"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    job = world.job(tmp_path / "job", wheels=("cp312-manylinux_x86_64",), in_environment=False)
    with pytest.raises(BuildError) as caught:
        pipeline.run(job)
    message = str(caught.value)
    assert "cp312-manylinux_x86_64" in message
    assert WHEEL in message
    assert job.lane.state.value == "tagged"


def _cibuildwheel_build(project: Path, selector: str) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[tool.cibuildwheel]\nbuild = "{selector}"\n')


def test_the_gate_reads_the_wheel_source_sdists_configuration(tmp_path, testpypi, pypi):
    """The wheels come from the sdist, so the completeness gate asks cibuildwheel what the
    sdist's [tool.cibuildwheel] builds (cp312 here), not the checkout's (cp313)."""
    project = make_project(tmp_path / "p")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(project, elsewhere)
    _cibuildwheel_build(elsewhere, "cp312-manylinux_x86_64")
    dist = tmp_path / "job" / "dist"
    build(elsewhere, dist, "sdist")
    build(elsewhere, dist, "wheel", wheel_tag="cp312-cp312-manylinux_2_17_x86_64")
    _cibuildwheel_build(project, "cp313-manylinux_x86_64")
    _git(project, "commit", "-qam", "the checkout builds cp313")
    _git(project, "tag", "-f", TAG)
    private, _public = generate_key()
    world = World(project, tmp_path / "store", private, {"testpypi": testpypi, "pypi": pypi})
    job = world.job(tmp_path / "job", parts=(), platforms=("linux",), in_environment=False,
                    progress=Progress(stop_before="attest"))
    with pytest.raises(ProcessDied):
        pipeline.run(job)
    assert job.lane.state.value == "built"

    checkout = world.job(tmp_path / "checkout-job", parts=(), platforms=("linux",),
                         wheel_source="checkout", dist_dir=dist, in_environment=False)
    assert expected_wheels(checkout) == ["cp313-manylinux_x86_64"]


def test_a_handed_over_wheel_of_another_project_is_refused_and_a_rerun_without_it_finishes(
        tmp_path, testpypi, pypi):
    """Issue 11: `requests-1.0.0-...whl` in the dist directory was taken in and attached. Now
    the take-in refuses it before it is recorded, nothing is uploaded, and once it is removed
    a rerun publishes the release."""
    private, _public = generate_key()
    world = World(make_project(tmp_path / "p"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    dist = tmp_path / "dist"
    dist.mkdir()
    foreign = write_wheel(dist, "requests", VERSION, "py3-none-any", 64)
    uploads = Uploads()
    job = world.job(tmp_path / "job", dist_dir=dist, uploads=uploads)
    with pytest.raises(ForeignDistError) as caught:
        pipeline.run(job)
    assert caught.value.message == (f"{foreign.name} is a file of the project 'requests', not "
                                    f"of '{NAME}' (this release's)")
    recorded = [e.payload.file.name for e in job.log.events
                if isinstance(e.payload, FileRecorded)]
    assert recorded == [SDIST, WHEEL]  # the lane's own files, built before the take-in
    assert uploads.done == []

    foreign.unlink()
    rerun = world.job(tmp_path / "rerun", dist_dir=dist, uploads=uploads)
    assert pipeline.run(rerun).stop.kind is StopKind.DONE
    assert sorted(uploads.done) == [(index, name, "uploaded") for index in ("pypi", "testpypi")
                                    for name in sorted((SDIST, WHEEL))]


def test_a_symlink_in_the_dist_directory_is_refused_before_anything_is_read(
        tmp_path, testpypi, pypi):
    """Issue 11: a symlink in the dist directory to a file outside the workspace was followed."""
    private, _public = generate_key()
    world = World(make_project(tmp_path / "p"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    outside = tmp_path / "outside"
    outside.mkdir()
    target = write_wheel(outside, NAME, VERSION, "py3-none-any", 64)
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / target.name).symlink_to(target)
    job = world.job(tmp_path / "job", parts=(), dist_dir=dist)
    with pytest.raises(UnsafeInputError) as caught:
        pipeline.run(job)
    assert caught.value.message.startswith(f"{target.name} in the dist directory is a symlink "
                                           f"pointing to {str(target)!r}")
    assert len(job.log) == 0
