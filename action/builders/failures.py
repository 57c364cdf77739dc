"""A failed cibuildwheel run in one line: which build identifier failed, the last error line of
its output, and (a build from the sdist) the file the sdist lacks when the error names one.

cibuildwheel has no API that reports which build failed or why: its command line is the
interface, so its printed output is read here, as the last resort. What is read is stable
cibuildwheel 4 text: `Building <identifier> wheel` starts each build, `Starting container image
<name>...` each container, and the error lines come from the compiler, the build backend or
Python. The generic lines that wrap them (cibuildwheel's `Command [...] failed with code 1`,
build's `ERROR Backend subprocess exited ...`, setuptools' `error: command 'gcc' failed ...`)
are used only when nothing more specific is there.
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from action.errors import BuildError, CommandError
from action.proc import run

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

__all__ = ["SDIST_HINT", "CibuildwheelFailure", "failure_error", "missing_from_sdist",
           "missing_named", "read_failure"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BUILDING = re.compile(r"^Building (\S+) wheel$")
_CONTAINER = re.compile(r"^Starting container image (\S+?)\.\.\.")
_ERROR = re.compile(r"(?i:\berror\b|No such file|not found|cannot find)"
                    r"|\b[A-Z]\w*(Error|Exception)\b")
_GENERIC = (
    re.compile(r"^(::error::)?cibuildwheel: (error: )?"),
    re.compile(r"^ERROR Backend subprocess exited"),
    re.compile(r"^error: command '[^']*' failed with exit code \d+$"),
    re.compile(r"^(subprocess\.)?CalledProcessError\b"),
    re.compile(r"^note: This error originates from a subprocess"),
    re.compile(r"^TIP "),
    re.compile(r"^Traceback \(most recent call last\)"),
)
_LONGEST = 300  # characters of the error line kept in the one-line summary
_SHOWN_MISSING = 5


@dataclass(frozen=True, kw_only=True)
class CibuildwheelFailure:
    """What a failed cibuildwheel run's output says: the build, the image, the error line."""

    identifier: str = ""  # the build that was running when it failed; "" before any build
    image: str = ""  # the last container image cibuildwheel started
    error_line: str = ""
    error_lines: tuple[str, ...] = ()  # every line that looks like an error, in order


def _lines(text: str) -> list[str]:
    return [_ANSI.sub("", line).strip() for line in text.splitlines()]


def _generic(line: str) -> bool:
    return any(p.search(line) for p in _GENERIC)


def _clip(line: str) -> str:
    line = _GENERIC[0].sub("", line)
    return line if len(line) <= _LONGEST else line[: _LONGEST - 3] + "..."


def _last(err: list[str], out: list[str], wanted: Callable[[str], bool]) -> str:
    """The last wanted line of stderr (the backend's and the compiler's messages), else of
    stdout; "" if neither has one."""
    for lines in (err, out):
        found = [line for line in lines if line and wanted(line)]
        if found:
            return found[-1]
    return ""


def read_failure(stdout: str, stderr: str, *, identifier: str = "") -> CibuildwheelFailure:
    """Read a failed run's output; `identifier` when the run built only that one (`--only`)."""
    out, err = _lines(stdout), _lines(stderr)
    builds = [m.group(1) for line in out + err if (m := _BUILDING.match(line))]
    images = [m.group(1) for line in out + err if (m := _CONTAINER.match(line))]
    errors = [line for line in out + err if line and _ERROR.search(line)]
    chosen = _last(err, out, lambda line: bool(_ERROR.search(line)) and not _generic(line))
    chosen = chosen or _last(err, out, lambda line: _generic(line)
                             and not line.startswith(("TIP ", "Traceback")))
    chosen = chosen or _last(err, out, bool)
    return CibuildwheelFailure(
        identifier=identifier or (builds[-1] if builds else ""),
        image=images[-1] if images else "",
        error_line=_clip(chosen),
        error_lines=tuple(errors),
    )


# --- files the sdist lacks --------------------------------------------------------------------


def sdist_members(sdist: Path) -> set[str]:
    """The sdist's files, relative to its top directory (`name-version/`)."""
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            names = [m.name for m in archive if m.isfile()]
    except (OSError, tarfile.TarError) as exc:
        raise BuildError(f"cannot read the sdist {sdist.name}: {exc}") from exc
    return {name.split("/", 1)[1] for name in names if "/" in name}


def checkout_files(project: Path) -> list[str]:
    """The project's files as git tracks them (relative to the project); without git, the
    files on disk outside .git and build output."""
    try:
        listed = run(["git", "-c", "safe.directory=*", "-C", str(project), "ls-files", "-z",
                      "--", "."], what="list the checkout's files").stdout
        return [name for name in listed.split("\0") if name]
    except CommandError:
        skipped = {".git", "build", "dist", "wheelhouse", "__pycache__", ".tox", ".venv"}
        return sorted(p.relative_to(project).as_posix() for p in project.rglob("*")
                      if p.is_file() and not skipped & set(p.relative_to(project).parts))


def missing_from_sdist(project: Path, sdist: Path) -> list[str]:
    """Files of the checkout the sdist does not hold."""
    held = sdist_members(sdist)
    return [name for name in checkout_files(project) if name not in held]


def missing_named(project: Path, sdist: Path, lines: Iterable[str]) -> list[str]:
    """The files the sdist lacks (the checkout has them) that these error lines name."""
    return _named_in(missing_from_sdist(project, sdist), lines)


def _named_in(missing: Iterable[str], lines: Iterable[str]) -> list[str]:
    """The missing files an error line names, by path or by file name."""
    text = "\n".join(lines)
    named = []
    for name in missing:
        base = name.rsplit("/", 1)[-1]
        pattern = rf"(?<![\w.-])(?:{re.escape(name)}|{re.escape(base)})(?![\w-])"
        if re.search(pattern, text):
            named.append(name)
    return named


SDIST_HINT = (
    "Add {files} to the sdist (setuptools: MANIFEST.in; hatchling: [tool.hatch.build.targets."
    "sdist] include; flit: [tool.flit.sdist] include; pdm: [tool.pdm.build] includes), check "
    "with `python -m build --sdist` that it is in, then release a new version (a tag is never "
    "moved). The build's full output is {where}."
)


def failure_error(failure: CibuildwheelFailure, *, sdist: Path | None, project: Path,
                  selection: str, output_at: str = "folded above") -> BuildError:
    """The one-line BuildError for a failed run (the identifier, the error line, the cause);
    `output_at` says where the whole output is (folded above on GitHub, or a file)."""
    source = f" from the sdist {sdist.name}" if sdist is not None else ""
    built = (f"building {failure.identifier}{source}" if failure.identifier
             else f"before building any wheel ({selection}{source})")
    summary = f"cibuildwheel failed {built}: {failure.error_line}"
    named = missing_named(project, sdist, failure.error_lines) if sdist else []
    if named:
        shown = ", ".join(named[:_SHOWN_MISSING])
        return BuildError(
            f"{summary} ({shown} {'is' if len(named) == 1 else 'are'} in the checkout but "
            "missing from the sdist)",
            hint=SDIST_HINT.format(files=shown, where=output_at))
    again = f"--only {failure.identifier}" if failure.identifier else selection
    target = sdist.name if sdist is not None else "."
    return BuildError(
        summary,
        hint=f"cibuildwheel's full output is {output_at}; reproduce with `cibuildwheel {again} "
        f"{target}`, fix the project or its [tool.cibuildwheel] settings, and release a new "
        "version (or re-run if the cause was passing).")
