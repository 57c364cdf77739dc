"""Wheels from the sdist without Docker: the pure wheel built from the unpacked sdist, a file the
sdist lacks named in the error, and a failed cibuildwheel run's one line off GitHub."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from action.builders.sdist import build_pure_wheel, build_sdist
from action.builders.wheels import expected_identifiers
from action.errors import BuildError
from tests.fixtures_docker import SOURCE_DATE_EPOCH, copy_example

FORCED = "src/sample_pure/data.txt"


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}


def test_the_pure_wheel_is_built_from_the_sdist(tmp_path):
    """build_pure_wheel(sdist=...) builds from the unpacked sdist and records it as the source."""
    project = copy_example("sample-pure", tmp_path)
    out = tmp_path / "dist"
    sdist = build_sdist(project, out, source_date_epoch=SOURCE_DATE_EPOCH, env=_environ())
    wheel = build_pure_wheel(project, out, source_date_epoch=SOURCE_DATE_EPOCH, env=_environ(),
                             sdist=sdist.files[0])
    assert [p.name for p in wheel.files] == ["sample_pure-1.0.0-py3-none-any.whl"]
    assert wheel.source == sdist.files[0]


def test_a_file_the_sdist_leaves_out_fails_the_pure_wheel_naming_it(tmp_path):
    """hatchling force-includes a file into the wheel that the sdist excludes: built from the
    sdist, the wheel fails, and the error names the file and how to put it in the sdist."""
    project = copy_example("sample-pure", tmp_path)
    (project / FORCED).write_text("data\n", encoding="utf-8")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[tool.hatch.build.targets.wheel.force-include]\n"{FORCED}" = '
                   f'"sample_pure/data.txt"\n\n[tool.hatch.build.targets.sdist]\n'
                   f'exclude = ["{FORCED}"]\n')
    out = tmp_path / "dist"
    sdist = build_sdist(project, out, source_date_epoch=SOURCE_DATE_EPOCH, env=_environ())
    checkout = build_pure_wheel(project, tmp_path / "checkout", env=_environ(),
                                source_date_epoch=SOURCE_DATE_EPOCH)
    assert checkout.files  # the checkout builds: the sdist is the cause
    with pytest.raises(BuildError) as caught:
        build_pure_wheel(project, out, source_date_epoch=SOURCE_DATE_EPOCH, env=_environ(),
                         sdist=sdist.files[0])
    first = caught.value.message.splitlines()[0]
    assert first == (f"building the wheel from the sdist sample_pure-1.0.0.tar.gz failed: "
                     f"{FORCED} is in the checkout but missing from the sdist")
    assert caught.value.hint.startswith(f"Add {FORCED} to the sdist (")
    assert "[tool.hatch.build.targets.sdist] include" in caught.value.hint


def test_off_github_a_failed_run_keeps_its_output_in_a_file(tmp_path):
    """A cibuildwheel run that fails (an architecture it does not know) ends in one line, and
    off GitHub the hint names the file that holds its whole output."""
    env = {**_environ(), "CIBW_ARCHS_LINUX": "sparc64"}
    with pytest.raises(BuildError) as caught:
        expected_identifiers(copy_example("sample-cext", tmp_path), "linux", env=env)
    assert caught.value.message == ("cibuildwheel failed before building any wheel "
                                    "(--platform linux): Invalid architecture 'sparc64'")
    found = re.search(r"full output is in (\S+\.log);", caught.value.hint)
    assert found, caught.value.hint
    kept = Path(found.group(1))
    try:
        assert "Invalid architecture 'sparc64'" in kept.read_text(encoding="utf-8")
    finally:
        kept.unlink()
