"""The root of the project's error hierarchy and the core's own errors.

Every error a user can meet derives from `ReleaseError`. Its message says what is wrong; its
`hint` says what to do about it; its class's `fix` says what to do about that kind of error
(docs/troubleshooting.md lists every class with its fix: `python -m action.troubleshooting`).
`action/cli.py` catches `ReleaseError` in one place and turns it into an annotation, a
job-summary line and an exit code.
"""

from __future__ import annotations


class ReleaseError(Exception):
    """An error with a user-facing message and, where one helps, what to do about it."""

    exit_code = 1
    title = "release failed"
    fix = (
        "Read the message and its hint, fix the cause, then re-run the job or dispatch the "
        "workflow with the tag: the release resumes from its log. A message that says it is a "
        "bug: open an issue with the state log attached."
    )

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class LogError(ReleaseError):
    """The state log cannot be trusted: malformed, reordered, duplicated, cut or altered."""

    exit_code = 3
    title = "state log refused"
    fix = (
        "Nothing is guessed from a damaged log. Restore the last good snapshot (older `release- "
        "state.*.jsonl` snapshots stay as release assets until a newer one is complete), or open "
        "an issue with the log attached."
    )

    def __init__(self, line: int, problem: str, *, hint: str = "",
                 source: str = "the state log") -> None:
        super().__init__(
            f"line {line} of {source}: {problem}",
            hint=hint
            or "The log is refused as a whole and nothing is guessed. Restore the last good "
            "snapshot of the log (older snapshots are kept as release assets until a newer one "
            "is complete) or open an issue with the log attached.",
        )
        self.line = line
        self.problem = problem


class EventError(ReleaseError):
    """An event record is not well formed (a missing field, a wrong type, a bad digest)."""

    exit_code = 3
    title = "bad event"
    fix = (
        "The log holds an event this version of the action cannot read: run the version that "
        "wrote it (pin the action by commit SHA), or open an issue with the log attached."
    )


class TransitionRefusedError(ReleaseError):
    """An event is not allowed in the state its lane is in."""

    exit_code = 4
    title = "step refused"
    fix = (
        "The step does not fit the lane's state: `release-action status LOG` shows the state and "
        "the next steps; run the job those steps belong to."
    )


class GuardError(ReleaseError):
    """An event is allowed in this state, but what it claims does not fit what is recorded."""

    exit_code = 4
    title = "step refused"
    fix = (
        "What the step claims contradicts the log (another commit, other files, a lane that may "
        "not start yet): read `release-action status LOG`, and release a change as a new version "
        "with a new tag instead of altering this release."
    )
