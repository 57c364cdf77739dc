"""Where a package index is and how the job logs in to it (an API token or trusted
publishing); which project a dist file belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from action.config import workflow_path
from action.errors import ConfigError, PackageIndexError

if TYPE_CHECKING:
    from collections.abc import Mapping

IndexName = Literal["testpypi", "pypi"]

# name -> (upload URL, simple API URL, root where `/_/oidc/` lives)
_CONVENTIONAL: dict[str, tuple[str, str, str]] = {
    "pypi": ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/", "https://pypi.org/"),
    "testpypi": (
        "https://test.pypi.org/legacy/",
        "https://test.pypi.org/simple/",
        "https://test.pypi.org/",
    ),
}


@dataclass(frozen=True)
class ApiToken:
    """An API token (`pypi-...`), sent as the password of user `__token__`."""

    token: str = field(repr=False)
    username: str = "__token__"

    def __post_init__(self) -> None:
        if not self.token.strip():
            raise ConfigError("the package-index API token is empty",
                              hint="Set the token input from a repository or environment secret, "
                              "or use trusted publishing instead.")


@dataclass(frozen=True, kw_only=True)
class TrustedPublishing:
    """Short-lived tokens minted from the workflow's OIDC identity; the fields feed the hints."""

    repository: str = ""  # owner/name
    workflow: str = ""  # workflow file name, e.g. release.yml
    environment: str = ""  # the GitHub environment the publishing job runs in

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, environment: str = ""
    ) -> TrustedPublishing:
        """Read the repository and workflow file from the runner's variables."""
        return cls(repository=env.get("GITHUB_REPOSITORY", ""),
                   workflow=workflow_file(env.get("GITHUB_WORKFLOW_REF", "")),
                   environment=environment)


def workflow_file(ref: str) -> str:
    """The workflow's file name (what a trusted publisher names) from a workflow reference."""
    return PurePosixPath(workflow_path(ref)).name


Credentials = ApiToken | TrustedPublishing


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """One package index: where to upload, where to read, how to authenticate."""

    name: IndexName
    upload_url: str  # the legacy upload API, e.g. https://upload.pypi.org/legacy/
    simple_url: str  # the simple API root, ending in /
    root_url: str  # the web root, where /_/oidc/ lives (trusted publishing)
    credentials: Credentials
    json_api: bool = True  # serves /pypi/<project>/<version>/json (PyPI does; pypiserver not)

    def __post_init__(self) -> None:
        if self.name not in get_args(IndexName):
            raise ConfigError(f"unknown package index {self.name!r}",
                              hint="Use 'testpypi' or 'pypi'.")
        for what in ("upload_url", "simple_url", "root_url"):
            url = getattr(self, what)
            if urlsplit(url).scheme not in {"http", "https"} or not url.endswith("/"):
                raise ConfigError(f"{self.name}: {what} {url!r} is not an http(s) URL ending in /")

    @classmethod
    def create(
        cls,
        name: IndexName,
        *,
        credentials: Credentials,
        upload_url: str | None = None,
        simple_url: str | None = None,
        root_url: str | None = None,
        json_api: bool = True,
    ) -> IndexConfig:
        """Fill in the conventional URLs for PyPI/Test PyPI, or derive them from upload_url."""
        conventional = _CONVENTIONAL.get(name)
        if upload_url is None or (conventional and _slash(upload_url) == conventional[0]):
            if conventional is None:
                raise ConfigError(f"{name}: no upload URL given")
            upload, simple, root = conventional
        else:
            upload = _slash(upload_url)
            root = upload.removesuffix("legacy/")
            simple = root + "simple/"
        return cls(
            name=name, upload_url=upload, simple_url=_slash(simple_url or simple),
            root_url=_slash(root_url or root), credentials=credentials, json_api=json_api,
        )

    def project_url(self, project: str) -> str:
        """The simple API page of a project (name normalised, PEP 503)."""
        return f"{self.simple_url}{canonicalize_name(project)}/"

    def release_url(self, project: str, version: str) -> str:
        """The JSON API page of a release (PyPI's /pypi/<project>/<version>/json)."""
        return f"{self.root_url}pypi/{canonicalize_name(project)}/{version}/json"


def project_of(name: str) -> str:
    """The (normalised) project a dist file name belongs to: `Sample_Pure-1.0.tar.gz` -> ..."""
    try:
        if name.endswith(".whl"):
            return str(parse_wheel_filename(name)[0])
        return str(parse_sdist_filename(name)[0])
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise PackageIndexError(
            f"{name} is not a wheel or sdist file name",
            hint="Only .whl and .tar.gz distributions built by the release can be uploaded.",
        ) from exc


def project_version(name: str) -> tuple[str, str]:
    """The (normalised) project and the version of a dist file name."""
    project_of(name)  # a clear error for a name that is neither
    if name.endswith(".whl"):
        project, version, *_ = parse_wheel_filename(name)
    else:
        project, version = parse_sdist_filename(name)
    return str(project), str(version)


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
