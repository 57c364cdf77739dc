"""The error hierarchy of the action. Caught in one place (`action/cli.py`).

The root, `ReleaseError`, lives in the pure core so that core errors (a bad log, a refused
step) and the action's own errors are one family. Each class says what kind of problem it is;
each raise says what exactly is wrong and, in `hint`, what to do about it.
"""

from __future__ import annotations

from statemachine.errors import (
    EventError,
    GuardError,
    LogError,
    ReleaseError,
    TransitionRefusedError,
)

__all__ = [
    "BuildError",
    "ConfigError",
    "DigestMismatchError",
    "DockerUnavailableError",
    "EventError",
    "GitHubError",
    "GuardError",
    "LogError",
    "PackageIndexError",
    "ReleaseError",
    "SigningError",
    "TransitionRefusedError",
    "VerificationError",
]


class ConfigError(ReleaseError):
    """An input, setting or environment variable is missing or wrong."""

    exit_code = 2
    title = "configuration error"


class GitHubError(ReleaseError):
    """The GitHub API refused or failed a request in a way retrying does not fix."""

    title = "GitHub error"


class DockerUnavailableError(ReleaseError):
    """The Docker engine that cibuildwheel needs is not reachable."""

    exit_code = 2
    title = "Docker engine unavailable"


class BuildError(ReleaseError):
    """Building the sdist or wheels failed, or what was built is not what was expected."""

    title = "build failed"


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


class SigningError(ReleaseError):
    """Provenance could not be signed."""

    title = "signing failed"


class VerificationError(ReleaseError):
    """Provenance or a file did not verify."""

    exit_code = 5
    title = "verification failed"


class PackageIndexError(ReleaseError):
    """A package index refused an upload or could not be read."""

    title = "package index error"
