"""The release states, the events that move a lane between them, and the machine.

Every event type is a trigger of the `transitions` machine. Those that change the state are
listed in ``STAGES``; the others are internal transitions: records (a built file, an upload
started, ...) that are allowed only in one state. Whether an event may happen at all is decided
here, from the table, so an event that arrives in the wrong state is refused with a message
that says what has to happen first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from transitions import Machine

from statemachine.errors import TransitionRefusedError


class State(StrEnum):
    """Where a lane of a release stands. The order is the order of the release."""

    TAGGED = "tagged"
    BUILT = "built"
    ATTESTED = "attested"
    DRAFTED = "drafted"
    APPROVED = "approved"
    TEST_PUBLISHED = "test-published"
    PUBLISHED = "published"

    @property
    def rank(self) -> int:
        return ORDER.index(self)

    def __str__(self) -> str:
        return self.value


ORDER: Final = tuple(State)

# With model_override=True, transitions binds only what `Lane` declares and logs a warning for
# every other convenience method it skips (is_<state>, to_<state>, ...); those are not wanted.
logging.getLogger("transitions.core").setLevel(logging.ERROR)


class EventType(StrEnum):
    """Every kind of event a log may hold."""

    LANE_OPENED = "lane-opened"
    BUILD_STARTED = "build-started"
    FILE_RECORDED = "file-recorded"
    BUILD_FINISHED = "build-finished"
    BUILT = "built"
    ATTESTED = "attested"
    RELEASE_REQUESTED = "release-requested"
    RELEASE_RECORDED = "release-recorded"
    ASSET_UPLOAD_STARTED = "asset-upload-started"
    ASSET_UPLOADED = "asset-uploaded"
    DRAFTED = "drafted"
    APPROVED = "approved"
    UPLOAD_STARTED = "upload-started"
    UPLOAD_CONFIRMED = "upload-confirmed"
    TEST_PUBLISHED = "test-published"
    PUBLISHED = "published"

    def __str__(self) -> str:
        return self.value

    @property
    def trigger(self) -> str:
        """The name of this event as a trigger of the machine (an identifier)."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Stage:
    """A state-changing event: from which state, to which, and what it means to a person."""

    event: EventType
    source: State
    dest: State
    meaning: str


STAGES: Final = (
    Stage(EventType.BUILT, State.TAGGED, State.BUILT,
          "every expected file is built or taken in, and checked"),
    Stage(EventType.ATTESTED, State.BUILT, State.ATTESTED,
          "signed provenance covers every file of the lane"),
    Stage(EventType.DRAFTED, State.ATTESTED, State.DRAFTED,
          "the draft release holds every file and the provenance"),
    Stage(EventType.APPROVED, State.DRAFTED, State.APPROVED,
          "a person approved the files of the draft (their digest is recorded)"),
    Stage(EventType.TEST_PUBLISHED, State.APPROVED, State.TEST_PUBLISHED,
          "every approved file is confirmed on Test PyPI (or Test PyPI is turned off)"),
    Stage(EventType.PUBLISHED, State.TEST_PUBLISHED, State.PUBLISHED,
          "every approved file is confirmed on PyPI"),
)

# Records: events that leave the state as it is, each allowed in exactly these states.
RECORDS: Final[dict[EventType, tuple[State, ...]]] = {
    EventType.BUILD_STARTED: (State.TAGGED,),
    EventType.FILE_RECORDED: (State.TAGGED,),
    EventType.BUILD_FINISHED: (State.TAGGED,),
    # The draft release is the home of the log and of the files, so it is made first.
    EventType.RELEASE_REQUESTED: (State.TAGGED,),
    EventType.RELEASE_RECORDED: (State.TAGGED,),
    # Built files are attached as they are built (so other jobs can fetch them); the
    # provenance and publish attestations once they are signed.
    EventType.ASSET_UPLOAD_STARTED: (State.TAGGED, State.ATTESTED),
    EventType.ASSET_UPLOADED: (State.TAGGED, State.ATTESTED),
    EventType.UPLOAD_STARTED: (State.APPROVED, State.TEST_PUBLISHED),
    EventType.UPLOAD_CONFIRMED: (State.APPROVED, State.TEST_PUBLISHED),
}

# What a person must do to reach a state, used when an event comes too early.
_HOW_TO_REACH: Final = {stage.dest: stage.meaning for stage in STAGES}


class Lane:
    """The model the machine drives: one per lane. Trigger methods are bound by `transitions`."""

    state: State

    def __init__(self, name: str) -> None:
        self.name = name

    def trigger(self, trigger_name: str) -> bool:  # pragma: no cover - bound by transitions
        raise RuntimeError(f"{trigger_name}: bound by the machine")


def build_machine() -> Machine:
    """The machine, from the tables above. Lanes are added with `add_lane`."""
    transitions: list[dict[str, object]] = [
        {"trigger": stage.event.trigger, "source": stage.source, "dest": stage.dest}
        for stage in STAGES
    ]
    for event, states in RECORDS.items():
        transitions.extend(
            {"trigger": event.trigger, "source": state, "dest": None} for state in states
        )
    return Machine(
        model=None,
        states=State,
        transitions=transitions,
        initial=State.TAGGED,
        auto_transitions=False,
        model_override=True,
        ignore_invalid_triggers=False,
        send_event=False,
    )


def add_lane(machine: Machine, name: str, initial: State = State.TAGGED) -> Lane:
    lane = Lane(name)
    machine.add_model(lane, initial=initial)
    return lane


def allowed_states(event: EventType) -> tuple[State, ...]:
    """The states in which an event may happen (lane-opened opens a lane and has none)."""
    for stage in STAGES:
        if stage.event is event:
            return (stage.source,)
    return RECORDS.get(event, ())


def fire(machine: Machine, lane: Lane, event: EventType) -> None:
    """Move `lane` by `event`, or refuse with what has to happen first."""
    allowed = allowed_states(event)
    if lane.state not in allowed:
        raise TransitionRefusedError(_refusal(lane, event, allowed))
    machine.events[event.trigger].trigger(lane)


def _refusal(lane: Lane, event: EventType, allowed: tuple[State, ...]) -> str:
    wanted = min(allowed, key=lambda s: s.rank)
    if lane.state.rank < wanted.rank:
        missing = [s for s in ORDER if lane.state.rank < s.rank <= wanted.rank]
        steps = "; then ".join(f"{s.value} ({_HOW_TO_REACH[s]})" for s in missing)
        first = f"it has to reach {steps} first"
    else:
        first = f"that step is already behind it (it is past {wanted.value})"
    names = " or ".join(s.value for s in allowed)
    return (
        f"lane {lane.name!r} is {lane.state.value}; event {event.value!r} is allowed only when "
        f"the lane is {names}: {first}"
    )
