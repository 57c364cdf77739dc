"""The Docker engine: is it reachable, and which exact images did a build use.

cibuildwheel drives the engine itself (through the same socket); this module only asks the
engine API questions, through the docker SDK, before and after a build. `client_factory`
is the seam tests replace (the default reads DOCKER_HOST and friends: `docker.from_env`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from action.errors import BuildError, DockerUnavailableError
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["DockerInfo", "ImageRecord", "check_docker", "image_record"]

log = get_logger(__name__)

_HINT = (
    "Building wheels needs a Docker engine: cibuildwheel starts the manylinux containers through "
    "it. Run the action on a GitHub-hosted Linux runner (`runs-on: ubuntu-latest`); as a Docker "
    "container action it gets the runner's /var/run/docker.sock mounted. Elsewhere, mount the "
    "engine's socket into the action's container (`-v /var/run/docker.sock:/var/run/docker.sock`) "
    "or set DOCKER_HOST to a reachable engine (unix:///path/to/docker.sock or tcp://HOST:PORT "
    "with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH). macOS and Windows runners cannot run this action."
)


@dataclass(frozen=True, kw_only=True)
class DockerInfo:
    """What the engine said about itself when we checked it."""

    endpoint: str
    server_version: str
    api_version: str
    os: str
    arch: str

    def __post_init__(self) -> None:
        if not self.server_version:
            raise DockerUnavailableError(f"the Docker engine at {self.endpoint} sent no version")

    def to_json(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "server_version": self.server_version,
            "api_version": self.api_version,
            "os": self.os,
            "arch": self.arch,
        }


@dataclass(frozen=True, kw_only=True)
class ImageRecord:
    """An image a build ran in, pinned by content.

    `digest` is the registry digest (`name@sha256:...`) when the image came from a registry,
    otherwise (a locally built or imported image) its image id `sha256:...`.
    """

    name: str
    image_id: str
    repo_digests: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.image_id.startswith("sha256:"):
            raise BuildError(f"image {self.name}: id {self.image_id!r} is not a sha256 digest")

    @property
    def digest(self) -> str:
        repo = _repository(self.name)
        for candidate in self.repo_digests:
            if candidate.split("@", 1)[0] == repo:
                return candidate
        return self.repo_digests[0] if self.repo_digests else self.image_id

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_id": self.image_id,
            "repo_digests": list(self.repo_digests),
            "digest": self.digest,
        }


def _repository(name: str) -> str:
    """`quay.io/pypa/manylinux_2_28_x86_64:2025.01.01-1@sha256:...` -> the part before tag."""
    name = name.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def _endpoint(env: Mapping[str, str]) -> str:
    return env.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _client(env: Mapping[str, str], client_factory: Callable[[], Any] | None) -> Any:
    import docker  # noqa: PLC0415 - the docker SDK loads in the jobs that build wheels only
    import docker.errors  # noqa: PLC0415

    endpoint = _endpoint(env)
    try:
        if client_factory is not None:
            return client_factory()
        return docker.from_env(environment=dict(env))
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise DockerUnavailableError(
            f"cannot connect to the Docker engine at {endpoint}: {exc}", hint=_HINT
        ) from exc


def check_docker(
    env: Mapping[str, str], *, client_factory: Callable[[], Any] | None = None
) -> DockerInfo:
    """Ask the engine for its version; DockerUnavailableError saying what to set up if it fails.

    `env` is the environment whose DOCKER_HOST (and TLS settings) count (the job's, from
    `action.config.read_environment`).
    """
    import docker.errors  # noqa: PLC0415 - see _client

    endpoint = _endpoint(env)
    client = _client(env, client_factory)
    try:
        client.ping()
        version: dict[str, Any] = client.version()
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise DockerUnavailableError(
            f"the Docker engine at {endpoint} does not answer: {exc}", hint=_HINT
        ) from exc
    finally:
        client.close()
    info = DockerInfo(
        endpoint=endpoint,
        server_version=str(version.get("Version", "")),
        api_version=str(version.get("ApiVersion", "")),
        os=str(version.get("Os", "")),
        arch=str(version.get("Arch", "")),
    )
    log.info("docker engine", **info.to_json())
    return info


def image_record(
    name: str,
    env: Mapping[str, str],
    *,
    client_factory: Callable[[], Any] | None = None,
) -> ImageRecord:
    """Read an image's id and registry digests from the engine (after a build used it)."""
    import docker.errors  # noqa: PLC0415 - see _client

    client = _client(env, client_factory)
    try:
        attrs: dict[str, Any] = client.images.get(name).attrs
    except docker.errors.ImageNotFound as exc:
        raise BuildError(
            f"the build used image {name}, but the Docker engine does not have it any more",
            hint="Something removed the image during the build; run the build again.",
        ) from exc
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise DockerUnavailableError(
            f"cannot read image {name} from the Docker engine at {_endpoint(env)}: {exc}",
            hint=_HINT,
        ) from exc
    finally:
        client.close()
    return ImageRecord(
        name=name,
        image_id=str(attrs["Id"]),
        repo_digests=tuple(str(d) for d in attrs.get("RepoDigests") or ()),
    )
