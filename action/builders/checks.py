"""The take-in checks of a built file: its version is the tag's, and `twine check --strict`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from action import dists
from action.errors import BuildError
from action.tags import tag_version

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.version import Version

__all__ = ["check_dist", "check_version"]


def _file_version(name: str) -> Version:
    try:
        if name.endswith(".whl"):
            return parse_wheel_filename(name)[1]
        return parse_sdist_filename(name)[1]
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise BuildError(
            f"{name} is not a wheel or sdist file name: {exc}",
            hint="Only files made by a build backend (name-version.tar.gz, *.whl) are released.",
        ) from exc


def check_version(filename: str, tag: str) -> None:
    """The version in the file name must be the tag's version (both PEP 440 normalised)."""
    version = tag_version(tag)
    file_version = _file_version(filename)
    if str(file_version) != str(version):
        raise BuildError(
            f"{filename} has version {file_version}, but the tag {tag} says {version}",
            hint="Set the version in pyproject.toml to the tag's version, commit, and tag that "
            "commit with a new tag (a pushed tag is never moved).",
        )


def check_dist(path: Path, tag: str) -> None:
    """The file's version is the tag's, and `twine check --strict` passes (in-process)."""
    check_version(path.name, tag)
    problems = dists.check_strict(path)
    if problems:
        raise BuildError(f"twine check --strict refused {path.name}: {'; '.join(problems)}",
                         hint=dists.CHECK_HINT)
