"""PyPI's 14-day window: an index takes no new file for a release older than 14 days, not even
a re-upload of bytes it holds ("400 Uploading new files to releases older than 14 days is not
allowed.", Test PyPI too).

A lane that would have to upload to such a release cannot finish, so it stops before it builds
anything (and a resumed lane before it uploads), naming the day the release closed and what to
do instead. When the release was made is read from each index (its JSON API's upload times).
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from action.errors import PackageIndexError
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from action.job import Job

log = get_logger(__name__)
WINDOW = timedelta(days=14)


def indexes_of(job: Job) -> list[str]:
    return ["pypi"] if job.config.skip_test_pypi else ["testpypi", "pypi"]


def project_of(job: Job) -> str | None:
    """The project's name: from any file a lane recorded, else pyproject.toml's [project]."""
    for lane in job.log.state.lanes.values():
        for file in lane.dists():
            if file.name.endswith(".whl"):
                return str(parse_wheel_filename(file.name)[0])
            return str(parse_sdist_filename(file.name)[0])
    try:
        data = tomllib.loads((job.config.project_dir / "pyproject.toml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return str(canonicalize_name(name)) if isinstance(name, str) and name else None


def check_window(job: Job, version: str, *, doing: str,
                 pending: dict[str, Iterable[str]] | None = None) -> None:
    """Stop when an index this lane still uploads to holds a release of `version` that closed.

    `pending` names, per index, the files still to upload (None: the lane has not built yet,
    so it will upload to every index)."""
    project = project_of(job)
    if project is None:
        log.info("window.unknown-project", why="no pyproject [project] name and no file yet")
        return
    now = job.services.clock()
    for name in indexes_of(job):
        left = None if pending is None else sorted(pending.get(name, ()))
        if left is not None and not left:
            continue
        opened = job.services.indexes(name).release_opened(project, version)
        if opened is None:
            continue
        closes = opened + WINDOW
        log.info("window.read", index=name, project=project, version=version,
                 first_upload=opened.isoformat(), closes=closes.isoformat())
        if now >= closes:
            raise closed_error(name, project, version, opened, doing=doing, left=left)


def closed_error(index: str, project: str, version: str, opened: datetime, *, doing: str,
                 left: list[str] | None) -> PackageIndexError:
    closes = opened + WINDOW
    files = f" ({', '.join(left)} still to upload)" if left else ""
    return PackageIndexError(
        f"{project} {version} on {index} was first uploaded on {opened:%Y-%m-%d %H:%M} UTC, so "
        f"it closed to new files on {closes:%Y-%m-%d %H:%M} UTC: the index takes no file for a "
        f"release older than 14 days, not even the same bytes again{files}. Stopped {doing}.",
        hint=f"Release the new files as a new version instead: for example a post-release "
        f"({version}.post1) tagged on the same commit, built and published by this workflow.",
    )
