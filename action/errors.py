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
    "ApprovalError",
    "BuildError",
    "CommandError",
    "ConfigError",
    "DigestMismatchError",
    "DockerUnavailableError",
    "DuplicateDraftsError",
    "EventError",
    "FileExistsOnIndexError",
    "FileTooLargeError",
    "ForeignDistError",
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
    "UnsafeInputError",
    "VerificationError",
    "exit_code_table",
]

class ConfigError(ReleaseError):
    """An input, setting or environment variable is missing or wrong."""

    exit_code = 2
    title = "configuration error"
    fix = (
        "Fix the input, setting or environment variable the message names (the action's inputs "
        "are described in action.yml; the workflow to copy is examples/workflows/release.yml), "
        "then re-run."
    )


class DigestMismatchError(ReleaseError):
    """Bytes differ from the ones recorded in the ledger (or approved)."""

    exit_code = 5
    title = "bytes differ from the record"
    fix = (
        "Nothing was uploaded. Find out who changed the file; restore the recorded bytes, or "
        "release a new version with a new tag."
    )

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
    fix = (
        "Delete every draft of the tag except the one that holds the state log (`release- "
        "state.*.jsonl`), then re-run."
    )


class DockerUnavailableError(ReleaseError):
    """The Docker engine that cibuildwheel needs is not reachable."""

    exit_code = 7
    title = "Docker engine unavailable"
    fix = (
        "Run the job on a Linux runner with Docker (`runs-on: ubuntu-latest`); on your machine, "
        "start the Docker engine (`.ci/setup-docker` in a clone of this repository sets one up)."
    )


class VerificationError(ReleaseError):
    """Provenance or a file did not verify."""

    exit_code = 8
    title = "verification failed"
    fix = (
        "Do not publish these files. Check that you verify the right files against the right "
        "repository, commit and key (or workflow); a file that does not match its provenance was "
        "changed after it was signed."
    )


class ImmutableReleaseError(ReleaseError):
    """A published immutable release takes no more assets."""

    exit_code = 9
    title = "immutable release"
    fix = (
        "A published immutable release takes no more assets: dispatch the workflow with `tag` and "
        "`python` for a backfill, which keeps its files in a draft of its own (`<tag> backfill "
        "<lane>`)."
    )


class GitHubError(ReleaseError):
    """The GitHub API refused or failed a request in a way retrying does not fix."""

    exit_code = 10
    title = "GitHub error"
    fix = (
        "Check the token and its permissions (`contents: write` in the job's `permissions:`), the "
        "repository and GITHUB_API_URL; when GitHub was having trouble, re-run the job."
    )


class ReleaseNotFoundError(ReleaseError):
    """No release exists (yet) for the tag."""

    exit_code = 11
    title = "no release"
    fix = (
        "Push the tag, or dispatch the workflow with `tag`, so that the build job makes the "
        "draft; check the tag's spelling."
    )


class LogConflictError(ReleaseError):
    """Another run appended to the log first: reload, re-plan, retry."""

    exit_code = 12
    title = "concurrent append"
    fix = (
        "Another run appended to the log at the same moment; the action reloads the log and plans "
        "again by itself. If it keeps happening, keep one run per tag (the workflow's "
        "`concurrency` group)."
    )


class BuildError(ReleaseError):
    """Building the sdist or wheels failed, or what was built is not what was expected."""

    exit_code = 13
    title = "build failed"
    fix = (
        "The build's own output is in the log (folded on GitHub): fix the project or its "
        "[tool.cibuildwheel] settings and release a new version, or re-run when the cause was "
        "passing (a runner or network hiccup)."
    )


class CommandError(ReleaseError):
    """A program the action runs failed."""

    exit_code = 14
    title = "command failed"
    fix = (
        "Install the program the message names, or read its output in the message and fix what it "
        "reports."
    )


class SigningError(ReleaseError):
    """Provenance could not be signed."""

    exit_code = 15
    title = "signing failed"
    fix = (
        "Keyless signing needs `permissions: id-token: write` on the job; with `signing-key`, "
        "pass a valid PEM private key from a secret."
    )


class PackageIndexError(ReleaseError):
    """A package index refused an upload or could not be read."""

    exit_code = 16
    title = "package index error"
    fix = (
        "Read the index's answer in the message: check the trusted publisher on that index "
        "(owner, repository, workflow `release.yml`, environment `publish`) or the API token; re- "
        "run when the index is reachable again."
    )


class FileExistsOnIndexError(PackageIndexError):
    """The index already holds a file of this name (pypiserver: also for identical bytes)."""

    exit_code = 17
    title = "file exists on the index"
    fix = (
        "The index holds a file of this name with other bytes, and a published file is never "
        "replaced: release a new version with a new tag."
    )


class UnsafeInputError(ReleaseError):
    """A name or file from outside (an asset, a dist file) is unsafe to use, and was not used."""

    exit_code = 18
    title = "unsafe input refused"
    fix = (
        "Nothing was used or uploaded. Remove the file or release asset the message names (it "
        "did not come from this action), then re-run."
    )


class ForeignDistError(ReleaseError):
    """A dist file is not this release's: another project or version, or its insides disagree with its name."""  # noqa: E501 - one line for README's table

    exit_code = 19
    title = "not this release's file"
    fix = (
        "Nothing was recorded or uploaded. Remove the file the message names from the dist "
        "directory (only this project's files of this tag, as a build backend made them, are "
        "released), then re-run."
    )


class FileTooLargeError(ReleaseError):
    """A file in the dist directory is larger than the `max-dist-size` input allows."""

    exit_code = 20
    title = "file too large"
    fix = (
        "Nothing was recorded or uploaded. Find out why the file is this large and build it "
        "again, or, when the index takes files this large, raise the `max-dist-size` input."
    )


class ApprovalError(ReleaseError):
    """An approval the log records is not one GitHub recorded for the run that recorded it."""

    exit_code = 21
    title = "approval not recorded by GitHub"
    fix = (
        "Nothing was uploaded. The state log can be changed by anyone who can write the "
        "release's assets: find out who wrote it, delete the draft release and release the "
        "commit again under a new tag, approved in the environment's job."
    )


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
