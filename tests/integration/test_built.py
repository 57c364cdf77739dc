"""built -> attested: a file changed after it was built is caught before anything is signed."""

from __future__ import annotations

import pytest

from action import pipeline
from action.attestation.keys import generate_key
from action.errors import DigestMismatchError
from tests.integration.harness import WHEEL, ProcessDied, Progress, World, make_project, sha256


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
