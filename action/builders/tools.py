"""What every build shares: the project checked, SOURCE_DATE_EPOCH set, the tools' versions,
their output shown, and the files they wrote collected.
"""

from __future__ import annotations

import importlib.metadata
import platform as _platform
import shutil
from typing import TYPE_CHECKING

from action.builders.outputs import ZIP_EPOCH_MIN
from action.config import on_github
from action.errors import BuildError, ConfigError
from action.logs import get_logger, scrub
from action.output import untrusted

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["build_env", "check_project", "collect", "show", "tool_versions"]

log = get_logger(__name__)


def tool_versions() -> dict[str, str]:
    """Versions of the tools the builds run (from this environment)."""
    versions = {"python": _platform.python_version()}
    for dist in ("build", "cibuildwheel", "twine", "packaging"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


def build_env(env: Mapping[str, str], source_date_epoch: int) -> dict[str, str]:
    if source_date_epoch < ZIP_EPOCH_MIN:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={source_date_epoch} is before 1980-01-01",
            hint="Wheels are zip files, which cannot hold earlier dates; use the tag commit's "
            "date (`git log -1 --format=%ct TAG`).",
        )
    merged = dict(env)
    merged["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    return merged


def check_project(project: Path) -> Path:
    project = project.resolve()
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise ConfigError(
            f"{project} is not a Python project: it has no pyproject.toml or setup.py",
            hint="Point the action's `project-dir` input at the directory holding pyproject.toml.",
        )
    return project


def show(title: str, text: str, env: Mapping[str, str]) -> None:
    """A tool's full output, folded in the runner's log (debug output elsewhere)."""
    if not on_github(env):
        log.debug("output", title=title, text=text.rstrip())
        return
    untrusted(title, scrub(text))


def collect(staging: Path, out_dir: Path, suffix: str) -> tuple[Path, ...]:
    """Move the files a tool wrote into `staging` to `out_dir`, never replacing a file."""
    moved = []
    for path in sorted(staging.iterdir()):
        if not path.name.endswith(suffix):
            continue
        target = out_dir / path.name
        if target.exists():
            raise BuildError(
                f"{target} exists already; a build never replaces a file",
                hint="Build into an empty directory; recorded files are uploaded, not rebuilt.",
            )
        shutil.move(path, target)
        moved.append(target)
    return tuple(moved)
