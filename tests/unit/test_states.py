"""The words of the machine: states in release order, event types as triggers."""

from __future__ import annotations

from statemachine.states import ORDER, EventType, State


def test_states_are_in_release_order():
    """The seven states come in the order of a release."""
    assert [s.value for s in ORDER] == [
        "tagged", "built", "attested", "drafted", "approved", "test-published", "published",
    ]
    assert [s.rank for s in ORDER] == list(range(len(State)))


def test_event_types_name_their_triggers():
    """Each event type's trigger is its name as an identifier, unique across the types."""
    assert EventType.ASSET_UPLOAD_STARTED.trigger == "asset_upload_started"
    assert len({e.trigger for e in EventType}) == len(EventType)
