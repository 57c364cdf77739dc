"""Fixtures for the `docker` tier: the local engine, the local images, cibuildwheel's settings.

`.ci/setup-docker` installs and starts the engine and builds the images (no registry needed);
these fixtures only check that it did. Locally a missing engine skips the tests; under CI=true
it fails them (`tests.conftest.require`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
BASE_IMAGE = "local/debian:bookworm"
BUILDER_IMAGE = "local/manylinux-like:1"
BUILD_IDENTIFIER = "cp311-manylinux_x86_64"  # the only one the local image can build
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA_BUNDLE = "/cibuildwheel-ca-bundle.pem"  # where cibuildwheel copies $SSL_CERT_FILE
SOURCE_DATE_EPOCH = 1700000000  # 2023-11-14T22:13:20Z, a fixed "tag commit date"
SETUP_HINT = "run .ci/setup-docker"
# The host network only (the workplace's rule); no /host mount (it would be the wrong host on
# GitHub, where the engine is the runner's and the action runs in a container).
CONTAINER_ENGINE = "docker; create_args: --network=host; disable_host_mount: true"


@dataclass(frozen=True)
class LocalDocker:
    """The engine the tests use and the local images it holds (name -> image id)."""

    server_version: str
    images: dict[str, str]


def _engine_and_images() -> tuple[str | None, dict[str, str], str]:
    try:
        import docker
        import docker.errors

        client: Any = docker.from_env()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"; the reason is shown
        return None, {}, f"no Docker engine ({exc})"
    problem = ""
    version: str | None = None
    images: dict[str, str] = {}
    try:
        version = str(client.version().get("Version", "?"))
        for name in (BASE_IMAGE, BUILDER_IMAGE):
            try:
                images[name] = str(client.images.get(name).id)
            except docker.errors.ImageNotFound:
                problem = problem or f"the local image {name} is missing"
    except Exception as exc:  # noqa: BLE001
        version, problem = None, f"the Docker engine does not answer ({exc})"
    finally:
        client.close()
    return version, images, problem


@pytest.fixture(scope="session")
def docker_engine() -> LocalDocker:
    """A reachable Docker engine holding the local base and builder images."""
    version, images, problem = _engine_and_images()
    require(not problem, f"{problem}; {SETUP_HINT}")
    assert version is not None
    return LocalDocker(server_version=version, images=images)


@pytest.fixture
def cibw_env(docker_engine: LocalDocker) -> dict[str, str]:
    """The environment for cibuildwheel to build on the local manylinux-like image."""
    return cibuildwheel_env()


def cibuildwheel_env() -> dict[str, str]:
    """os.environ plus what cibuildwheel needs to build on the local manylinux-like image.

    The host network only (the workplace's rule), no /host mount (as on GitHub), one build
    identifier (others would need images that cannot be pulled), and pip in the build
    container trusting the machine's CA bundle: cibuildwheel copies $SSL_CERT_FILE to
    /cibuildwheel-ca-bundle.pem, and PIP_CERT points there.
    """
    env = dict(os.environ)
    if "SSL_CERT_FILE" not in env and HOST_CA_BUNDLE.is_file():
        env["SSL_CERT_FILE"] = str(HOST_CA_BUNDLE)
    env.update(
        {
            "CIBW_MANYLINUX_X86_64_IMAGE": BUILDER_IMAGE,
            "CIBW_CONTAINER_ENGINE": CONTAINER_ENGINE,
            "CIBW_BUILD": BUILD_IDENTIFIER,
            "CIBW_ENVIRONMENT_LINUX": f"PIP_CERT={CONTAINER_CA_BUNDLE}",
        }
    )
    return env


def copy_example(name: str, dest: Path) -> Path:
    """A clean copy of examples/<name> (no build leftovers), so tests never write into the tree."""
    target = dest / name
    shutil.copytree(
        EXAMPLES / name,
        target,
        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.so"),
    )
    return target


@pytest.fixture
def sample_cext(tmp_path: Path) -> Path:
    """A fresh copy of examples/sample-cext (C extension, setuptools, cibuildwheel config)."""
    return copy_example("sample-cext", tmp_path)


@pytest.fixture
def sample_pure(tmp_path: Path) -> Path:
    """A fresh copy of examples/sample-pure (pure Python, hatchling)."""
    return copy_example("sample-pure", tmp_path)


FNV_HEADER = "src/sample_cext/fnv_constants.h"


def leave_header_out_of_sdist(project: Path) -> None:
    """Give the C sample a header its MANIFEST.in leaves out: the checkout builds, its sdist
    does not (the C source includes the header, which setuptools does not put in the sdist)."""
    source = project / "src" / "sample_cext" / "_speedups.c"
    text = source.read_text(encoding="utf-8")
    text = text.replace("#include <stdint.h>\n",
                        '#include <stdint.h>\n#include "fnv_constants.h"\n', 1)
    text = text.replace("2166136261u", "FNV_OFFSET").replace("16777619u", "FNV_PRIME")
    source.write_text(text, encoding="utf-8")
    (project / FNV_HEADER).write_text(
        "#define FNV_OFFSET 2166136261u\n#define FNV_PRIME 16777619u\n", encoding="utf-8")
