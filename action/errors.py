"""The error hierarchy of the action, in one module. Caught in one place (`action/cli.py`).

The root, `ReleaseError`, lives in the pure core so that core errors (a bad log, a refused
step) and the action's own errors are one family. Each class says what kind of problem it is
and has its own exit code (the core's keep theirs); each raise says what exactly is wrong and,
in `hint`, what to do about it. README.md lists the codes: `exit_code_table()` writes that
list and a test compares the two.
"""

from __future__ import annotations

from statemachine import errors as core
from statemachine.errors import (
    EventError,
    GuardError,
    LogError,
    ReleaseError,
    TransitionRefusedError,
)

__all__ = [
    "BuildError",
    "CommandError",
    "ConfigError",
    "DigestMismatchError",
    "DockerUnavailableError",
    "DuplicateDraftsError",
    "EventError",
    "FileExistsOnIndexError",
    "GitHubError",
    "GuardError",
    "ImmutableReleaseError",
    "LogConflictError",
    "LogError",
    "PackageIndexError",
    "ReleaseError",
    "ReleaseNotFoundError",
    "SigningError",
    "TransitionRefusedError",
    "VerificationError",
    "exit_code_table",
]

class ConfigError(ReleaseError):
    """An input, setting or environment variable is missing or wrong."""

    exit_code = 2
    title = "configuration error"


class DigestMismatchError(ReleaseError):
    """Bytes differ from the ones recorded in the ledger (or approved)."""

    exit_code = 5
    title = "bytes differ from the record"

    def __init__(
        self, name: str, expected: str, actual: str, *, where: str, hint: str = ""
    ) -> None:
        super().__init__(
            f"{name}: {where} has sha256 {actual}, but the ledger records {expected}",
            hint=hint
            or "Nothing was uploaded. Find out who changed the file; if the recorded bytes are "
            "the right ones, restore them, otherwise start a new release with a new tag.",
        )
        self.name = name
        self.expected = expected
        self.actual = actual


class DuplicateDraftsError(ReleaseError):
    """Two or more drafts claim the same tag: never pick one silently."""

    exit_code = 6
    title = "duplicate drafts"


class DockerUnavailableError(ReleaseError):
    """The Docker engine that cibuildwheel needs is not reachable."""

    exit_code = 7
    title = "Docker engine unavailable"


class VerificationError(ReleaseError):
    """Provenance or a file did not verify."""

    exit_code = 8
    title = "verification failed"


class ImmutableReleaseError(ReleaseError):
    """A published immutable release takes no more assets."""

    exit_code = 9
    title = "immutable release"


class GitHubError(ReleaseError):
    """The GitHub API refused or failed a request in a way retrying does not fix."""

    exit_code = 10
    title = "GitHub error"


class ReleaseNotFoundError(ReleaseError):
    """No release exists (yet) for the tag."""

    exit_code = 11
    title = "no release"


class LogConflictError(ReleaseError):
    """Another run appended to the log first: reload, re-plan, retry."""

    exit_code = 12
    title = "concurrent append"


class BuildError(ReleaseError):
    """Building the sdist or wheels failed, or what was built is not what was expected."""

    exit_code = 13
    title = "build failed"


class CommandError(ReleaseError):
    """A program the action runs failed."""

    exit_code = 14
    title = "command failed"


class SigningError(ReleaseError):
    """Provenance could not be signed."""

    exit_code = 15
    title = "signing failed"


class PackageIndexError(ReleaseError):
    """A package index refused an upload or could not be read."""

    exit_code = 16
    title = "package index error"


class FileExistsOnIndexError(PackageIndexError):
    """The index already holds a file of this name (pypiserver: also for identical bytes)."""

    exit_code = 17
    title = "file exists on the index"


def _errors_of(namespace: dict[str, object], module: str) -> list[type[ReleaseError]]:
    return [c for c in namespace.values() if isinstance(c, type) and issubclass(c, ReleaseError)
            and c.__module__ == module]


def error_classes() -> list[type[ReleaseError]]:
    """Every error a user can meet, the core's and the action's, by exit code."""
    found = _errors_of(vars(core), core.__name__) + _errors_of(globals(), __name__)
    return sorted(found, key=lambda c: c.exit_code)


def exit_code_table() -> str:
    """The exit codes as the README lists them (a Markdown table)."""
    rows = ["| exit code | error | raised by | what it means |", "| ---: | --- | --- | --- |"]
    for cls in error_classes():
        where = "the core" if cls.__module__ == core.__name__ else "the action"
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        rows.append(f"| {cls.exit_code} | `{cls.__name__}` ({cls.title}) | {where} | {doc} |")
    return "\n".join(rows) + "\n"
