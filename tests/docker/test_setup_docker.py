""".ci/setup-docker next to the machine's running engine: its check, and its refusal to start
a second daemon when the client cannot reach the first (run as uid 1000 in a user namespace,
so it could not start one anyway)."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import require
from tests.integration.test_dev_setup import REPO, unprivileged_prefix


def test_an_engine_the_client_cannot_reach_is_never_started_twice():
    """dockerd runs but DOCKER_HOST points elsewhere: the fix is DOCKER_HOST, no new daemon."""
    engine = subprocess.run(["/usr/bin/docker", "version"], capture_output=True, check=False)
    require(engine.returncode == 0, "no running Docker engine to hide")
    done = subprocess.run([*unprivileged_prefix(), str(REPO / ".ci/setup-docker")],
                          capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 3
    assert "dockerd runs (pid" in done.stderr
    assert "setup-docker: fix: unset DOCKER_HOST" in done.stderr
    assert subprocess.run(["/usr/bin/docker", "version"], capture_output=True,
                          check=False).returncode == 0


def test_the_check_lists_nothing_on_a_machine_that_is_set_up():
    """.ci/setup-docker --check: exit 0 and no output when the engine and images are there."""
    require(subprocess.run(["/usr/bin/docker", "version"], capture_output=True,
                           check=False).returncode == 0, "no Docker engine")
    done = subprocess.run([str(REPO / ".ci/setup-docker"), "--check"], capture_output=True,
                          text=True, check=False, timeout=120)
    require(done.returncode == 0, f"the local images are not built: {done.stdout}")
    assert done.stdout == ""
