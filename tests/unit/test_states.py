"""The machine's table: order of states, refusals that say what has to happen first."""

from __future__ import annotations

import pytest

from statemachine.errors import TransitionRefusedError
from statemachine.states import ORDER, STAGES, EventType, State, add_lane, build_machine, fire


def test_states_are_in_release_order():
    """The seven states come in the order of a release."""
    assert [s.value for s in ORDER] == [
        "tagged", "built", "attested", "drafted", "approved", "test-published", "published",
    ]


def test_stages_chain_each_state_to_the_next():
    """Every stage moves exactly one state forward."""
    for stage in STAGES:
        assert stage.dest.rank == stage.source.rank + 1


def test_a_lane_walks_through_every_stage():
    """Firing the stages in order takes a lane from tagged to published."""
    machine = build_machine()
    lane = add_lane(machine, "main")
    for stage in STAGES:
        fire(machine, lane, stage.event)
    assert lane.state is State.PUBLISHED


def test_early_event_is_refused_with_what_comes_first():
    """Publishing a drafted lane names the state, the event and the missing steps."""
    machine = build_machine()
    lane = add_lane(machine, "main", State.DRAFTED)
    with pytest.raises(TransitionRefusedError) as caught:
        fire(machine, lane, EventType.PUBLISHED)
    message = str(caught.value)
    assert "'main' is drafted" in message
    assert "'published'" in message
    assert "approved" in message and "test-published" in message
    assert lane.state is State.DRAFTED


def test_late_event_is_refused_as_already_behind():
    """A record for an earlier state says that step is already behind the lane."""
    machine = build_machine()
    lane = add_lane(machine, "main", State.APPROVED)
    with pytest.raises(TransitionRefusedError, match="already behind"):
        fire(machine, lane, EventType.FILE_RECORDED)


def test_records_keep_the_state():
    """A record (an internal transition) leaves the state where it was."""
    machine = build_machine()
    lane = add_lane(machine, "main")
    fire(machine, lane, EventType.BUILD_STARTED)
    assert lane.state is State.TAGGED
