"""The machine as one table: transitions refuses, guards refuse before folds, folds record."""

from __future__ import annotations

import pytest
from transitions import MachineError

from statemachine.errors import GuardError, TransitionRefusedError
from statemachine.ledger import TAKEN_IN
from statemachine.machine import build_machine, fire
from statemachine.payloads import (
    PAYLOADS,
    BuildFinished,
    BuildStarted,
    FileRecorded,
    LaneOpened,
    Published,
)
from statemachine.replay import Lane, LaneState, ReleaseState
from statemachine.states import EventType, State
from statemachine.table import RULES, STAGES, TABLE
from tests.unit.story import COMMIT, Story, dist

OPENED = LaneOpened(tag="v1.0.0", version="1.0.0", commit=COMMIT, repository="octo/sample",
                    source_date_epoch=1700000000)


def lane_at(state: State) -> tuple[ReleaseState, LaneState]:
    """A release with one main lane whose machine starts at `state`."""
    model = Lane()
    build_machine(model, initial=state)
    lane = LaneState("main", OPENED, model)
    return ReleaseState(lanes={"main": lane}), lane


def test_every_event_but_lane_opened_has_exactly_one_rule():
    """The table declares each event type once; lane-opened opens a lane and has none."""
    assert len(TABLE) == len(RULES)
    assert set(RULES) == set(EventType) - {EventType.LANE_OPENED}
    assert all(rule.payload is PAYLOADS[rule.event] for rule in TABLE)


def test_stages_chain_each_state_to_the_next():
    """Every stage moves exactly one state forward from one source, and says what it takes."""
    assert [stage.dest for stage in STAGES] == list(State)[1:]
    for stage in STAGES:
        assert stage.dest is not None
        assert len(stage.sources) == 1
        assert stage.dest.rank == stage.sources[0].rank + 1
        assert stage.meaning


def test_the_machine_carries_the_table():
    """A lane's machine has one transition per rule and source state, to the rule's dest."""
    machine = build_machine(Lane())
    for rule in TABLE:
        transitions = machine.events[rule.event.trigger].transitions
        assert set(transitions) == {s.name for s in rule.sources}
        dests = {t.dest for source in transitions for t in transitions[source]}
        assert dests == {rule.dest.name if rule.dest else None}


def test_transitions_itself_refuses_an_event_outside_its_sources():
    """Triggered directly, the lane's machine raises before any guard or fold runs."""
    release, lane = lane_at(State.DRAFTED)
    with pytest.raises(MachineError):
        lane.model.trigger("published", release=release, lane=lane, payload=Published())
    assert lane.state is State.DRAFTED


def test_early_event_is_refused_with_what_comes_first():
    """Publishing a drafted lane names the state, the event and the missing steps."""
    release, lane = lane_at(State.DRAFTED)
    with pytest.raises(TransitionRefusedError) as caught:
        fire(release, lane, Published())
    message = str(caught.value)
    assert "'main' is drafted" in message
    assert "'published'" in message
    assert "approved" in message and "test-published" in message
    assert lane.state is State.DRAFTED


def test_late_event_is_refused_as_already_behind():
    """A record for an earlier state says that step is already behind the lane."""
    release, lane = lane_at(State.APPROVED)
    with pytest.raises(TransitionRefusedError, match="already behind"):
        fire(release, lane, FileRecorded(part="linux", file=dist("a-1.0.tar.gz")))
    assert lane.files == {}


def test_records_keep_the_state_and_fold_what_they_say():
    """A record (an internal transition) leaves the state where it was; its fold records it."""
    release, lane = lane_at(State.TAGGED)
    fire(release, lane, BuildStarted(part="linux"))
    assert lane.state is State.TAGGED
    assert list(lane.parts) == ["linux"]


def test_a_guard_refuses_before_the_fold_runs():
    """The guard is the transition's condition: refused, the lane records nothing."""
    release, lane = lane_at(State.TAGGED)
    with pytest.raises(GuardError, match="not a build part"):
        fire(release, lane, BuildStarted(part=TAKEN_IN))
    assert lane.parts == {}
    assert lane.state is State.TAGGED


def test_a_lane_walks_through_every_stage():
    """Telling a whole release takes the main lane from tagged to published."""
    story = Story()
    story.full()
    assert story.log.state.lanes["main"].state is State.PUBLISHED


def _built_sdist(story: Story) -> None:
    story.open()
    story.release()
    story.add("main", BuildStarted(part="sdist"))
    story.add("main", FileRecorded(part="sdist", file=dist("sample-1.0.0.tar.gz")))
    story.add("main", BuildFinished(part="sdist"))
    story.add("main", BuildStarted(part="linux"))


def test_wheels_built_from_the_recorded_sdist_name_it_as_their_source():
    """BuildFinished(source=the recorded sdist) is folded into the part's record."""
    story = Story()
    _built_sdist(story)
    sdist = dist("sample-1.0.0.tar.gz")
    story.add("main", BuildFinished(part="linux", source=sdist))
    assert story.log.state.main is not None
    assert story.log.state.main.parts["linux"].source == sdist
    assert story.log.state.main.parts["sdist"].source is None


@pytest.mark.parametrize(("source", "says"), [
    (dist("sample-1.0.0.tar.gz", "other bytes"), "but the ledger records"),
    (dist("other-1.0.0.tar.gz"), "not an sdist recorded"),
    (dist("sample-1.0.0-py3-none-any.whl"), "only wheels are built from an sdist"),
])
def test_a_wheel_source_must_be_the_recorded_sdist(source, says):
    """A source the ledger does not hold with those bytes (or no sdist at all) is refused."""
    story = Story()
    _built_sdist(story)
    with pytest.raises(GuardError, match=says):
        story.add("main", BuildFinished(part="linux", source=source))
    assert story.log.state.main is not None
    assert not story.log.state.main.parts["linux"].finished
