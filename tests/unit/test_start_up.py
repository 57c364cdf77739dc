"""What a job's process loads before it knows what it needs: the heavy libraries wait for the
jobs that use them (Python's start-up is most of a short job's time; benchmarks/bench_release.py
shows the whole-release figures)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each loads only in the jobs that need it: sigstore and pypi-attestations to sign keyless or
# check a bundle, twine's upload client to publish, twine's description checks (docutils) to
# take files in, the docker SDK to build wheels.
DEFERRED = ("sigstore", "pypi_attestations", "twine.repository", "twine.commands.check",
            "docutils", "docker")


def loaded_by(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["action.github_run", "action.cli"])
def test_the_run_path_loads_no_heavy_library_before_a_job_needs_it(module):
    """Importing what `release-action run` imports loads none of the deferred libraries."""
    loaded = loaded_by(module)
    early = sorted(name for name in loaded
                   if any(name == lib or name.startswith(f"{lib}.") for lib in DEFERRED))
    assert not early, early


def test_the_check_can_fail():
    """The same check sees a deferred library once something imports it."""
    assert "sigstore" in loaded_by("action.attestation.keyless")
