"""`./dev` on a machine where Docker cannot be set up: it says what is missing and the one
command that fixes it, then goes on with what it can build, or, under CI=true, stops.

The machine's own engine keeps running: each case runs ./dev as an unprivileged user (uid
1000 in a user namespace, so setting anything up needs root it does not have) with the client
pointed away from the engine, so .ci/setup-docker can only diagnose, never install or start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tests.real_projects import tagged_example

REPO = Path(__file__).resolve().parents[2]
UNPRIVILEGED = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


def unprivileged_ok() -> bool:
    if shutil.which("unshare") is None:
        return False
    seen = subprocess.run([*UNPRIVILEGED, "id", "-u"], capture_output=True, text=True,
                          check=False)
    return seen.returncode == 0 and seen.stdout.strip() == "1000"


@pytest.fixture(scope="module")
def unprivileged() -> list[str]:
    """The prefix that runs a command as uid 1000 (checked, so nothing runs as root)."""
    return unprivileged_prefix()


def unprivileged_prefix() -> list[str]:
    require(unprivileged_ok(), "unshare --user cannot map this user to uid 1000")
    return UNPRIVILEGED


def dev(prefix: list[str], *args: str, ci: bool, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CIBW_", "DOCKER"))}
    environ["CI"] = "true" if ci else "false"
    environ.update(env)
    return subprocess.run([*prefix, str(REPO / "dev"), *args], capture_output=True, text=True,
                          env=environ, timeout=900, check=False)


def test_without_a_docker_client_the_rehearsal_says_the_fix_and_builds_the_sdist(
        unprivileged, tmp_path):
    """No docker program and no root: the missing programs and the command, then an sdist."""
    sample = tagged_example("sample-cext", tmp_path / "src")  # a release is a tagged commit
    done = dev(unprivileged, "rehearse", str(sample), "--approve", "--workdir",
               str(tmp_path / "r"), ci=False, DOCKER="/nonexistent/docker")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "missing: the Docker client (/nonexistent/docker)" in done.stderr
    assert ("missing: Debian's docker.io and debootstrap (/nonexistent/docker not found); "
            "setting it up needs root") in done.stderr
    fix = next(line for line in done.stderr.splitlines() if line.startswith("setup-docker: fix:"))
    assert fix.endswith(("sudo " + str(REPO / ".ci/setup-docker"),
                         f"su root -c '{REPO / '.ci/setup-docker'}'"))
    assert "going on without Docker" in done.stderr
    assert "skipped: Linux wheels: --no-docker was given; only the sdist is built" in done.stdout
    assert "imported sample_cext" in done.stdout
    assert sorted(p.name for p in (tmp_path / "r" / "indexes" / "pypi").iterdir()) == [
        "sample_cext-1.0.0.tar.gz"]


@pytest.mark.parametrize("command", ["rehearse", "test"])
def test_under_ci_a_docker_that_cannot_be_set_up_stops_before_anything_runs(
        unprivileged, tmp_path, command):
    """CI=true: nothing that needs Docker may skip, so ./dev stops at once with the fix."""
    args = ["examples/sample-cext", "--approve", "--workdir", str(tmp_path / "r")]
    done = dev(unprivileged, command, *(args if command == "rehearse" else ["-x"]), ci=True,
               DOCKER="/nonexistent/docker")
    assert done.returncode == 1
    assert "setup-docker: fix:" in done.stderr
    assert "CI=true:" in done.stderr
    assert "== ruff" not in done.stderr
    assert not (tmp_path / "r").exists()
