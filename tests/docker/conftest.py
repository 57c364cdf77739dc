"""The `docker` tier's shared fixture: the action's image, built once per session.

The image (`release-action:test-<hash>`) is built from the Dockerfile on the local Debian base
and reused while the build context (the files .dockerignore lets in, the Dockerfile, the build
arguments) hashes the same: the hash names the tag and is stored as an image label. The tag
names the content, so test runs of other trees on the same engine (other clones, CI) never
replace the image a run is using. What the tests measure goes
into `MEASURED` and is printed at the end of the session.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures_docker import BASE_IMAGE, HOST_CA_BUNDLE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures_docker import LocalDocker

REPO = Path(__file__).resolve().parents[2]
DOCKER = "/usr/bin/docker"  # Debian's client: matches the daemon and has BuildKit
LABEL = "org.release-action.context-sha256"
# What .dockerignore lets into the build context, plus the files that shape the build.
CONTEXT = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md",
           "requirements/lock.txt", "requirements/build-lock.txt")
CONTEXT_TREES = ("statemachine", "action")
BUILD_ARGS = ("--build-arg", f"BASE_IMAGE={BASE_IMAGE}")
MEASURED: dict[str, str] = {}


def context_hash() -> str:
    digest = hashlib.sha256(" ".join(BUILD_ARGS).encode())
    files = [REPO / name for name in CONTEXT]
    for tree in CONTEXT_TREES:
        files += sorted(p for p in (REPO / tree).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in files:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


IMAGE = f"release-action:test-{context_hash()[:16]}"


def docker(*args: str, check: bool = True, timeout: float = 120,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                          check=check)


@pytest.fixture(scope="session")
def image(docker_engine: LocalDocker, request: pytest.FixtureRequest) -> Iterator[str]:
    """release-action:test-<hash>, built from the tree unless this context is built already."""
    want = context_hash()
    have = docker("image", "inspect", "-f", f'{{{{ index .Config.Labels "{LABEL}" }}}}', IMAGE,
                  check=False).stdout.strip()
    if have != want:
        secret = (["--secret", f"id=cacert,src={HOST_CA_BUNDLE}"]
                  if HOST_CA_BUNDLE.is_file() else [])
        started = time.monotonic()
        built = subprocess.run(
            [DOCKER, "build", "--network", "host", *BUILD_ARGS, *secret,
             "--label", f"{LABEL}={want}", "-t", IMAGE, "."],
            cwd=REPO, env={**os.environ, "DOCKER_BUILDKIT": "1"}, capture_output=True,
            text=True, timeout=900, check=False)
        assert built.returncode == 0, built.stderr[-6000:]
        MEASURED["image build"] = f"{time.monotonic() - started:.1f} s"
    else:
        MEASURED["image build"] = "reused (same context hash)"
    yield IMAGE
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for name, value in MEASURED.items():
            print(f"\nrelease-action image: {name}: {value}", end="")  # noqa: T201 - the report
        print()  # noqa: T201
