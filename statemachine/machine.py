"""The machine: a `transitions` machine per lane, built from the table, drives every event.

For each rule of the table (`statemachine/table.py`) the lane's machine has a transition per
source state: an event in a state that is not among its sources is refused by the machine
itself (`MachineError`, told here as what has to happen first); the rule's guard is the
transition's condition and refuses, with its reason, before anything changes; its fold is the
transition's `after` callback, run once the move is made. `apply` is the only way the replayed
state changes.

`lane-opened` is the one event outside the table: it creates the lane, the model a machine
drives, at the machine's initial state (`tagged`). Before it there is no model to move, so it
cannot be a trigger; a pseudo-state "not open" would stand in every state list, order and
diagram. `open_lane` checks its guard and builds the lane's machine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from transitions import Machine, MachineError

from statemachine.errors import GuardError, TransitionRefusedError
from statemachine.payloads import LaneOpened
from statemachine.replay import Lane, LaneState
from statemachine.states import ORDER, State
from statemachine.table import HOW_TO_REACH, RULES, TABLE, Rule, guard_lane_opened

if TYPE_CHECKING:
    from transitions.core import EventData

    from statemachine.events import Event
    from statemachine.payloads import Payload
    from statemachine.replay import ReleaseState

# With model_override=True, transitions binds only what `Lane` declares and logs a warning for
# every other convenience method it skips (is_<state>, may_<trigger>, ...); none is wanted.
logging.getLogger("transitions.core").setLevel(logging.ERROR)


def _transition(rule: Rule[Any]) -> dict[str, Any]:
    """The rule as a transition: its guard the condition, its fold the `after` callback."""
    guard, fold = rule.guard, rule.fold

    def check(data: EventData) -> bool:
        guard(data.kwargs["release"], data.kwargs["lane"], data.kwargs["payload"])
        return True  # a guard refuses by raising, with its reason: it never just says no

    def record(data: EventData) -> None:
        fold(data.kwargs["lane"], data.kwargs["payload"])

    return {"trigger": rule.event.trigger, "source": list(rule.sources), "dest": rule.dest,
            "conditions": (check,), "after": (record,)}


_TRANSITIONS: Final = tuple(_transition(rule) for rule in TABLE)  # made once, shared by lanes


def build_machine(model: Lane, initial: State = State.TAGGED) -> Machine:
    """A lane's machine, from the table; it drives `model` and nothing else."""
    return Machine(
        model=model,
        states=State,
        transitions=list(_TRANSITIONS),
        initial=initial,
        auto_transitions=False,
        model_override=True,
        ignore_invalid_triggers=False,
        send_event=True,
    )


def open_lane(release: ReleaseState, name: str, opened: LaneOpened) -> LaneState:
    """Check a lane-opened event and open the lane: its state, its model, its machine."""
    guard_lane_opened(release, name, opened)
    model = Lane()
    build_machine(model)  # binds model.trigger; the machine lives as long as the lane
    lane = LaneState(name, opened, model)
    release.lanes[name] = lane
    return lane


def fire(release: ReleaseState, lane: LaneState, payload: Payload) -> None:
    """Drive the lane's machine by `payload`: the machine, the guard, then the fold."""
    try:
        lane.model.trigger(payload.event_type.trigger, release=release, lane=lane,
                           payload=payload)
    except MachineError:
        raise TransitionRefusedError(_refusal(lane, RULES[payload.event_type])) from None


def apply(release: ReleaseState, event: Event) -> None:
    """Check `event` against the chain and the machine, then fold it in (or change nothing)."""
    if event.seq != release.seq + 1:
        raise GuardError(f"event {event.seq} comes after event {release.seq}: out of sequence")
    if event.prev != release.head:
        raise GuardError(f"event {event.seq} does not continue the hash chain")
    if isinstance(event.payload, LaneOpened):
        open_lane(release, event.lane, event.payload)
    else:
        lane = release.lanes.get(event.lane)
        if lane is None:
            raise GuardError(
                f"lane {event.lane!r} has no lane-opened event: open the lane before "
                f"recording {event.type.value}"
            )
        fire(release, lane, event.payload)
    release.seq = event.seq
    release.head = event.hash


def _refusal(lane: LaneState, rule: Rule[Any]) -> str:
    allowed = rule.sources
    wanted = min(allowed, key=lambda s: s.rank)
    if lane.state.rank < wanted.rank:
        missing = [s for s in ORDER if lane.state.rank < s.rank <= wanted.rank]
        steps = "; then ".join(f"{s.value} ({HOW_TO_REACH[s]})" for s in missing)
        first = f"it has to reach {steps} first"
    else:
        first = f"that step is already behind it (it is past {wanted.value})"
    names = " or ".join(s.value for s in allowed)
    return (
        f"lane {lane.name!r} is {lane.state.value}; event {rule.event.value!r} is allowed only "
        f"when the lane is {names}: {first}"
    )
