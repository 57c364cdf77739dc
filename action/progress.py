"""Progress as data: what a job is doing, as small typed records the steps emit.

Steps and the pipeline hand these to `Services.progress`; each view renders them its own way:
the runner's log (`action/github_run.py`: a `::group::` per step, a log line per file) and the
rehearsal's terminal (`action/rehearse.py`: bars). Nobody parses a rendered line back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from statemachine.plan import StepKind


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted:
    """The pipeline starts a planned step."""

    kind: StepKind
    why: str

    @property
    def title(self) -> str:
        return f"{self.kind.value}: {self.why}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildingPart:
    """Part `number` of the job's `total` parts is being built."""

    part: str
    number: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FileUploaded:
    """File `number` of `total` is on the index: uploaded, or found there with these bytes."""

    index: str
    name: str
    outcome: str
    number: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """Something the person watching should know that is not a step (e.g. nothing to do)."""

    text: str


ProgressEvent = StepStarted | BuildingPart | FileUploaded | Notice


def ignore(_event: ProgressEvent) -> None:
    """The default view: progress goes nowhere."""
