"""Wheels through cibuildwheel and the Docker engine: which build identifiers a configuration
builds (`--print-build-identifiers`, offline), and the builds, one run per selection.

The package cibuildwheel builds is the checkout (`project`) or, given `sdist`, that sdist file:
cibuildwheel unpacks it and builds (and reads [tool.cibuildwheel]) from what it holds, so every
wheel comes from the sdist that was attested, and a file the sdist lacks fails the build.
A failed run ends in one BuildError line (`action.builders.failures`), its output folded above.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from action.builders.docker_engine import check_docker, image_record
from action.builders.failures import failure_error, read_failure
from action.builders.identifiers import identifier_platform
from action.builders.outputs import BuildOutput
from action.builders.tools import build_env, check_project, collect, show, tool_versions
from action.config import on_github
from action.errors import BuildError, ConfigError
from action.logs import get_logger, scrub
from action.proc import run

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["PLATFORMS", "build_wheels", "expected_identifiers"]

log = get_logger(__name__)

PLATFORMS: tuple[str, ...] = ("linux", "macos", "windows", "pyodide", "android", "ios")
_IMAGE_LINE = re.compile(r"Starting container image (\S+?)\.\.\.")


def _selections(platform: str, only: Sequence[str]) -> list[list[str]]:
    """cibuildwheel argument sets: one run per `only` identifier, or one for the platform."""
    if platform not in PLATFORMS:
        raise ConfigError(f"unknown platform {platform!r}; expected one of {PLATFORMS}")
    if not only:
        return [["--platform", platform]]
    for identifier in only:
        if identifier_platform(identifier) != platform:
            raise ConfigError(f"build identifier {identifier} does not build on {platform}")
    # `--only` takes one identifier and cannot be combined with `--platform`.
    return [["--only", identifier] for identifier in dict.fromkeys(only)]


@dataclass(frozen=True)
class Package:
    """What cibuildwheel builds: the checkout (`project`), or the sdist file made from it."""

    project: Path
    sdist: Path | None = None

    @property
    def argument(self) -> str:
        return str(self.sdist.resolve()) if self.sdist is not None else "."

    @property
    def cwd(self) -> Path:
        return self.sdist.resolve().parent if self.sdist is not None else self.project


def _package(project: Path, sdist: Path | None) -> Package:
    project = check_project(project)
    if sdist is not None and not (sdist.is_file() and sdist.name.endswith(".tar.gz")):
        raise BuildError(f"the sdist {sdist} to build the wheels from is not a .tar.gz file",
                         hint="Build the sdist first (the `sdist` part), or set "
                         "`wheel-source: checkout`.")
    return Package(project, sdist)


def _cibuildwheel(package: Package, args: Sequence[str], env: Mapping[str, str], what: str,
                  ) -> str:
    """One cibuildwheel run; a failure shows the whole output, then raises its one line."""
    # cibuildwheel would overwrite the job summary with its own (it writes, not appends).
    run_env = {k: v for k, v in env.items() if k != "GITHUB_STEP_SUMMARY"}
    result = run([sys.executable, "-m", "cibuildwheel", *args, package.argument],
                 cwd=package.cwd, env=run_env, what=what, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        selection = " ".join(a for a in args if a != "--print-build-identifiers")
        selection = re.sub(r"--output-dir \S+ ?", "", selection).strip()
        where = _keep_output(f"cibuildwheel {selection} (failed, exit code "
                             f"{result.returncode})", output, env)
        only = args[args.index("--only") + 1] if "--only" in args else ""
        failure = read_failure(result.stdout, result.stderr, identifier=only)
        raise failure_error(failure, sdist=package.sdist, project=package.project,
                            selection=selection, output_at=where)
    return output


def _keep_output(title: str, output: str, env: Mapping[str, str]) -> str:
    """A failed run's whole output: folded in the runner's log, or (elsewhere, where the
    console shows only the error line) in a file; where it is, for the error's hint."""
    show(title, output, env)
    if on_github(env):
        return "folded above"
    handle, name = tempfile.mkstemp(prefix="cibuildwheel-failed-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as kept:
        kept.write(scrub(output))
    return f"in {name}"


def expected_identifiers(
    project: Path,
    platform: str = "linux",
    *,
    only: Sequence[str] = (),
    env: Mapping[str, str],
    sdist: Path | None = None,
) -> list[str]:
    """The build identifiers cibuildwheel would build (`--print-build-identifiers`, offline),
    with the configuration of the checkout, or of `sdist` when given."""
    package = _package(project, sdist)
    run_env = dict(env)
    identifiers: list[str] = []
    for selection in _selections(platform, only):
        output = _cibuildwheel(
            package, ["--print-build-identifiers", *selection], run_env,
            "list the build identifiers",
        )
        identifiers += [line.strip() for line in output.splitlines() if _is_identifier(line)]
    return list(dict.fromkeys(identifiers))


def _is_identifier(line: str) -> bool:
    return re.fullmatch(r"[a-z]+\d+t?(_\d+)?-[a-z0-9_]+", line.strip()) is not None


def build_wheels(
    project: Path,
    out_dir: Path,
    *,
    platform: str = "linux",
    only: Sequence[str] = (),
    source_date_epoch: int,
    env: Mapping[str, str],
    sdist: Path | None = None,
    docker_client: Callable[[], Any] | None = None,
) -> BuildOutput:
    """Build wheels with cibuildwheel through the Docker engine.

    `env` is the environment cibuildwheel sees (the user's CIBW_* settings included; their
    [tool.cibuildwheel] table is read from the package). `only` builds just these identifiers
    (a backfill lane), one cibuildwheel run each. `sdist`: build from that sdist file instead
    of the checkout (recorded as the wheels' `source`).
    """
    package = _package(project, sdist)
    run_env = build_env(env, source_date_epoch)
    engine = check_docker(run_env, client_factory=docker_client)
    expected = expected_identifiers(project, platform, only=only, env=run_env, sdist=sdist)
    files, images = _build(package, out_dir, _selections(platform, only), run_env)
    if files and not images:
        raise BuildError(
            "cibuildwheel built wheels but its output names no container image",
            hint="The build cannot be recorded without its images; is cibuildwheel still 4.x?",
        )
    tools = {**tool_versions(), "docker-engine": engine.server_version}
    built = BuildOutput(
        part=platform, files=files, tools=tools, source_date_epoch=source_date_epoch,
        images=tuple(image_record(n, run_env, client_factory=docker_client) for n in images),
        identifiers=tuple(expected), source=sdist,
    )
    log.info("wheels built", part=platform, wheels=[p.name for p in files], images=list(images),
             source=sdist.name if sdist is not None else "checkout")
    return built


def _build(
    package: Package, out_dir: Path, selections: Sequence[Sequence[str]], env: Mapping[str, str]
) -> tuple[tuple[Path, ...], list[str]]:
    """One cibuildwheel run per selection: the wheels (moved to out_dir) and the images used."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, None] = {}
    with tempfile.TemporaryDirectory(prefix=".cibuildwheel-", dir=out_dir.resolve()) as staging:
        for selection in selections:
            output = _cibuildwheel(
                package, ["--output-dir", staging, *selection], env,
                f"build wheels ({' '.join(selection)})",
            )
            show(f"cibuildwheel {' '.join(selection)}", output, env)
            images.update(dict.fromkeys(_IMAGE_LINE.findall(output)))
        return collect(Path(staging), out_dir.resolve(), ".whl"), list(images)
