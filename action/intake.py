"""Take-in checks: a wheel or sdist from the dist directory is this release's before it enters a
lane.

Files handed over by other jobs arrive in the dist directory, and whoever can write there
(a build job's token, a step of the workflow, a dependency's build script) can put anything
there. Before a file is hashed or read (`check_entry`): a name without `%`, CR, LF or other
control characters (a name is printed in workflow commands and in the release), a regular
file with one link (no symlink, fifo, device or socket, no hardlink that other names share),
and a size within `max-dist-size`. Before it is recorded (`check_dist`): the name parses as a
wheel or sdist name (`packaging.utils`), names the release's project and version, the core
metadata inside (METADATA or PKG-INFO, read with `packaging.metadata`) says the same, a
wheel's WHEEL file lists exactly the tags of its name, and no archive member is absolute,
climbs out with `..`, or (in an sdist) is a link or special file.
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.metadata import parse_email
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from action.errors import FileTooLargeError, ForeignDistError, UnsafeInputError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["DistFacts", "check_dist", "check_entry", "one_project"]

_UNSAFE_NAME = re.compile(r"[%\x00-\x1f\x7f]")
_REMOVE = "Nothing was recorded or uploaded. Remove the file from the dist directory"


def _size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"


def check_entry(path: Path, *, max_size: int) -> None:
    """The dist directory's entry `path` may be read: a safe name, a regular file of its own
    (not followed through a symlink), not larger than `max_size` bytes."""
    name = path.name
    if _UNSAFE_NAME.search(name):
        raise UnsafeInputError(
            f"the dist directory holds a file named {name!r}: a dist's name never has `%`, a "
            "line break or another control character (it would be read as a workflow command)",
            hint=f"{_REMOVE} (it was not made by a build backend), then re-run.")
    try:
        info = path.lstat()
    except OSError as exc:
        raise UnsafeInputError(f"cannot read {name} in the dist directory: {exc.strerror}",
                               hint=f"{_REMOVE}, then re-run.") from None
    kind = _kind(info.st_mode)
    if kind:
        where = f" pointing to {str(path.readlink())!r}" if stat.S_ISLNK(info.st_mode) else ""
        raise UnsafeInputError(
            f"{name} in the dist directory is {kind}{where}, not a regular file: a release "
            "takes in only files that were copied there",
            hint=f"{_REMOVE}; put the file itself there (actions/download-artifact copies "
            "files), then re-run.")
    if info.st_nlink > 1:
        raise UnsafeInputError(
            f"{name} in the dist directory is a hardlink ({info.st_nlink} names share its "
            "bytes, some perhaps outside the workspace), so its bytes can change under another "
            "name", hint=f"{_REMOVE}; copy the file there instead of linking it, then re-run.")
    if info.st_size > max_size:
        raise FileTooLargeError(
            f"{name} is {_size_text(info.st_size)}, over the `max-dist-size` limit of "
            f"{_size_text(max_size)}",
            hint="Nothing was recorded or uploaded. If the file is right and the index takes "
            "files this large (PyPI's limit is 100 MiB unless the project asked for more), "
            "raise the action's `max-dist-size` input; otherwise find out what made it this "
            "large (a build that packed its own build directory, data files) and build again.")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a fifo"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR,
             "a directory"))
    return next((text for test, text in kinds if test(mode)), "")


@dataclass(frozen=True, slots=True)
class DistFacts:
    """What a checked file is: its project (canonical name) and version."""

    project: str
    version: Version


def check_dist(path: Path, *, project: str | None, version: str, max_size: int) -> DistFacts:
    """The file may enter the lane of `project` (None: not known yet) at `version`."""
    check_entry(path, max_size=max_size)
    facts, tags = _name_facts(path.name)
    wanted = str(canonicalize_name(project)) if project else facts.project
    if facts.project != wanted:
        raise ForeignDistError(
            f"{path.name} is a file of the project {facts.project!r}, not of {wanted!r} (this "
            "release's)", hint=f"{_REMOVE}: only the project's own files are released.")
    if str(facts.version) != str(_version(version)):
        raise ForeignDistError(
            f"{path.name} has version {facts.version}, but this release is {version}",
            hint=f"{_REMOVE}: it belongs to another release (build the files of this tag "
            "only).")
    if tags is None:
        metadata = _sdist_metadata(path)
    else:
        metadata, wheel = _wheel_files(path)
        _check_tags(path.name, tags, wheel)
    _check_metadata(path.name, facts, metadata)
    return facts


def one_project(names: Iterable[str]) -> str | None:
    """When the release's project is not known yet (no pyproject [project] name, no file
    recorded): the one project the files name; files of several projects are all refused."""
    found = {_name_facts(name)[0].project for name in names}
    if len(found) > 1:
        raise ForeignDistError(
            f"the dist directory holds files of several projects ({', '.join(sorted(found))}), "
            "and which one this release is cannot be told (pyproject.toml has no [project] "
            "name and no file is recorded yet)",
            hint="Nothing was recorded or uploaded. Remove the other projects' files from the "
            "dist directory, or declare the project's name in pyproject.toml's [project] "
            "table, then re-run.")
    return next(iter(found), None)


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ForeignDistError(f"the release's version {text!r} is not a PEP 440 version",
                               hint="Release tags are PEP 440 versions.") from None


def _name_facts(name: str) -> tuple[DistFacts, frozenset[Tag] | None]:
    try:
        if name.endswith(".whl"):
            project, version, _build, tags = parse_wheel_filename(name)
            return DistFacts(str(project), version), tags
        project, version = parse_sdist_filename(name)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise ForeignDistError(
            f"{name} is not a wheel or sdist file name: {exc}",
            hint=f"{_REMOVE}: only files a build backend made (name-version.tar.gz, "
            "name-version-tags.whl) are released.") from None
    return DistFacts(str(project), version), None


def _member_problem(member: str) -> str:
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", member):
        return "an absolute path"
    if ".." in parts:
        return "a path with `..` that leads out of the archive"
    if re.search(r"[\x00-\x1f\x7f]", member):
        return "a name with control characters"
    return ""


def _unsafe_member(name: str, member: str, problem: str) -> UnsafeInputError:
    return UnsafeInputError(
        f"{name} has an archive member {member!r} that is {problem}: a build backend never "
        "writes one", hint=f"{_REMOVE} (it was made to escape where it is unpacked), then "
        "re-run.")


def _unreadable(name: str, exc: Exception) -> ForeignDistError:
    return ForeignDistError(f"{name} cannot be read as a dist: {exc}",
                            hint=f"{_REMOVE}, or build it again (it is damaged).")


def _wheel_files(path: Path) -> tuple[bytes, bytes]:
    """The wheel's own METADATA and WHEEL, after checking every member's name and kind."""
    prefix = "-".join(path.name.split("-")[:2])
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                problem = _member_problem(info.filename)
                mode = info.external_attr >> 16
                if not problem and stat.S_ISLNK(mode):
                    problem = "a symlink"
                if problem:
                    raise _unsafe_member(path.name, info.filename, problem)
            names = set(archive.namelist())
            wanted = [f"{prefix}.dist-info/{n}" for n in ("METADATA", "WHEEL")]
            missing = [n for n in wanted if n not in names]
            if missing:
                raise ForeignDistError(
                    f"{path.name} has no {' and no '.join(missing)}: its .dist-info does not "
                    "match its file name", hint=f"{_REMOVE}, or build it again.")
            return archive.read(wanted[0]), archive.read(wanted[1])
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise _unreadable(path.name, exc) from None


def _sdist_metadata(path: Path) -> bytes:
    """The sdist's `<top>/PKG-INFO`, after checking every member's name and kind."""
    found: bytes | None = None
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                problem = _member_problem(member.name)
                if not problem and not (member.isfile() or member.isdir()):
                    problem = ("a symlink" if member.issym() else
                               "a hardlink" if member.islnk() else "a device or fifo")
                if problem:
                    raise _unsafe_member(path.name, member.name, problem)
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and found is None:  # noqa: PLR2004 - <top>/PKG-INFO
                    handle = archive.extractfile(member)
                    found = handle.read() if handle is not None else None
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        raise _unreadable(path.name, exc) from None
    if found is None:
        raise ForeignDistError(f"{path.name} has no PKG-INFO in its top directory",
                               hint=f"{_REMOVE}, or build it again.")
    return found


def _check_tags(name: str, tags: frozenset[Tag], wheel: bytes) -> None:
    # WHEEL is not core metadata: its Tag lines land among the fields packaging leaves unparsed.
    _raw, unparsed = parse_email(wheel)
    lines = [v for key, values in unparsed.items() if key.lower() == "tag" for v in values]
    inside: set[Tag] = set()
    try:
        for line in lines:
            inside |= parse_tag(line.strip())
    except ValueError:
        inside = set()
    if inside != set(tags):
        def shown(found: set[Tag] | frozenset[Tag]) -> str:
            return ", ".join(sorted(str(t) for t in found)) or "none"
        raise ForeignDistError(
            f"{name}: its WHEEL file lists the tags {shown(inside)}, but its name says "
            f"{shown(tags)}", hint=f"{_REMOVE}: a renamed wheel installs where it does not "
            "run; build the wheel for that platform instead.")


def _check_metadata(name: str, facts: DistFacts, metadata: bytes) -> None:
    raw, _unparsed = parse_email(metadata)
    meta_name, meta_version = raw.get("name"), raw.get("version")
    try:
        version = Version(meta_version) if meta_version else None
    except InvalidVersion:
        version = None
    if not meta_name or canonicalize_name(meta_name) != facts.project:
        raise ForeignDistError(
            f"{name}: its metadata names the project {meta_name!r}, but its file name says "
            f"{facts.project!r}", hint=f"{_REMOVE}: a file renamed after it was built is not "
            "released; build it again.")
    if version != facts.version:
        raise ForeignDistError(
            f"{name}: its metadata says version {meta_version!r}, but its file name says "
            f"{facts.version}", hint=f"{_REMOVE}: a file renamed after it was built is not "
            "released; build it again.")
