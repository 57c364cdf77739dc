"""The root of the project's error hierarchy and the core's own errors.

Every error a user can meet derives from `ReleaseError`. Its message says what is wrong; its
`hint` says what to do about it. `action/cli.py` catches `ReleaseError` in one place and turns
it into an annotation, a job-summary line and an exit code.
"""

from __future__ import annotations


class ReleaseError(Exception):
    """An error with a user-facing message and, where one helps, what to do about it."""

    exit_code = 1
    title = "release failed"

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

    def __init__(self, line: int, problem: str, *, hint: str = "") -> None:
        super().__init__(
            f"line {line} of the state log: {problem}",
            hint=hint
            or "The log is refused as a whole and nothing is guessed. Restore the last good "
            "snapshot of the log (older snapshots are kept as release assets until a newer one "
            "is complete) or open an issue with the log attached.",
        )
        self.line = line


class EventError(ReleaseError):
    """An event record is not well formed (a missing field, a wrong type, a bad digest)."""

    exit_code = 3
    title = "bad event"


class TransitionRefusedError(ReleaseError):
    """An event is not allowed in the state its lane is in."""

    exit_code = 4
    title = "step refused"


class GuardError(ReleaseError):
    """An event is allowed in this state, but what it claims does not fit what is recorded."""

    exit_code = 4
    title = "step refused"
