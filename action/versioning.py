"""Versions as build backends compute them: what a built file says, and where it came from.

The truth about a release's version is the core metadata the backend wrote into the built
files (an sdist's PKG-INFO, a wheel's `<name>-<version>.dist-info/METADATA`), not a static
field: most projects compute the version from the git tag (setuptools-scm, hatch-vcs,
pdm-backend's scm source) or from the code (flit's `__version__`). `version_source` reads
pyproject.toml only to explain a mismatch in the project's own terms.
"""

from __future__ import annotations

import email.parser
import email.policy
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from action.errors import BuildError, ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CoreMetadata", "VersionSource", "check_built_version", "core_metadata", "version_source",
]


@dataclass(frozen=True, slots=True)
class CoreMetadata:
    name: str
    version: str


def core_metadata(path: Path) -> CoreMetadata:
    """Name and Version from a built sdist (PKG-INFO) or wheel (its own .dist-info/METADATA)."""
    try:
        text = _wheel_metadata(path) if path.name.endswith(".whl") else _sdist_metadata(path)
    except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot read the core metadata of {path.name}: {exc}",
                         hint="The file is not a well-formed sdist or wheel.") from exc
    headers = email.parser.Parser(policy=email.policy.compat32).parsestr(text, headersonly=True)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise BuildError(f"the core metadata of {path.name} has no Name or no Version",
                         hint="The build backend wrote incomplete metadata; build again.")
    return CoreMetadata(name=str(name).strip(), version=str(version).strip())


def _wheel_metadata(path: Path) -> str:
    # The wheel's own .dist-info is `<name>-<version>.dist-info` as in its file name: a wheel
    # may hold others (flit_core vendors tomli's).
    prefix = "-".join(path.name.split("-")[:2])
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"{prefix}.dist-info/METADATA").decode("utf-8")


def _sdist_metadata(path: Path) -> str:
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():  # noqa: PLR2004 - <top>/PKG-INFO
                handle = archive.extractfile(member)
                if handle is not None:
                    return handle.read().decode("utf-8")
    raise KeyError("PKG-INFO")


@dataclass(frozen=True, slots=True)
class VersionSource:
    """Where a project's version comes from, in words a maintainer uses."""

    kind: str  # "static", "vcs" or "code"
    tool: str  # e.g. "pyproject.toml", "setuptools-scm", "hatch-vcs", "flit"

    def fix(self, tag: str, built: str) -> str:
        """What to do when the built version is not the tag's."""
        if self.kind == "vcs":
            return (f"{self.tool} computes the version from git: {built} means the build did not "
                    f"see the tag {tag} on the checked-out commit, or saw uncommitted changes "
                    "(a dirty work tree gives a .dev/+local version). Build from a clean "
                    "checkout of the tag (a shallow clone must fetch the tag itself), and check "
                    f"that {self.tool}'s tag pattern accepts {tag}.")
        if self.kind == "code":
            return (f"{self.tool} reads the version from the code (`__version__`): set it to "
                    "the tag's version, commit, and tag that commit with a new tag (a pushed "
                    "tag is never moved).")
        return ("Set the version in pyproject.toml to the tag's version, commit, and tag that "
                "commit with a new tag (a pushed tag is never moved).")


def version_source(project: Path) -> VersionSource:
    """Read pyproject.toml: a static version, a VCS plugin, or the backend reading the code."""
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return VersionSource("static", "the project's metadata")
    meta: dict[str, Any] = data.get("project", {})
    tool: dict[str, Any] = data.get("tool", {})
    requires = " ".join(str(r) for r in data.get("build-system", {}).get("requires", []))
    backend = str(data.get("build-system", {}).get("build-backend", ""))
    if "version" in meta and "version" not in meta.get("dynamic", []):
        return VersionSource("static", "pyproject.toml")
    plugin = _vcs_plugin(tool, requires)
    if plugin:
        return VersionSource("vcs", plugin)
    return VersionSource("code", "flit" if backend.startswith("flit") else
                         backend or "the build backend")


def _vcs_plugin(tool: dict[str, Any], requires: str) -> str:
    if tool.get("hatch", {}).get("version", {}).get("source") == "vcs":
        return "hatch-vcs"
    if tool.get("pdm", {}).get("version", {}).get("source") == "scm":
        return "pdm-backend"
    if "setuptools_scm" in tool or "setuptools-scm" in requires or "setuptools_scm" in requires:
        return "setuptools-scm"
    return ""


def check_built_version(path: Path, tag: str, project: Path) -> CoreMetadata:
    """The version the backend wrote into the file must be the tag's (PEP 440 normalised)."""
    meta = core_metadata(path)
    wanted = _tag_version(tag)
    try:
        built = str(Version(meta.version))
    except InvalidVersion:
        built = meta.version
    if built != wanted:
        source = version_source(project)
        raise BuildError(
            f"{path.name} was built as version {meta.version} (its metadata, from "
            f"{source.tool}), but the tag {tag} says {wanted}",
            hint=source.fix(tag, meta.version),
        )
    return meta


def _tag_version(tag: str) -> str:
    try:
        return str(Version(tag.removeprefix("v").removeprefix("V")))
    except InvalidVersion:
        raise ConfigError(
            f"tag {tag!r} is not a version",
            hint="Release tags are PEP 440 versions, optionally with a leading v (v1.2.3).",
        ) from None
