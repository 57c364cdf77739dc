"""The Mermaid diagram is drawn from the machine's own table."""

from __future__ import annotations

from statemachine.diagram import mermaid
from statemachine.states import State
from statemachine.table import STAGES


def test_every_stage_is_an_arrow():
    """Each state-changing event appears as an arrow between its states."""
    text = mermaid()
    for stage in STAGES:
        assert stage.dest is not None
        src, dst = stage.sources[0].value.replace("-", "_"), stage.dest.value.replace("-", "_")
        assert f"{src} --> {dst}: {stage.event.value}" in text


def test_lanes_mark_their_states():
    """Each lane's state is highlighted and labelled with the lane's name."""
    text = mermaid({"main": State.PUBLISHED, "cp314": State.DRAFTED})
    assert "class published current" in text
    assert "class drafted current" in text
    assert "note right of drafted: lane cp314" in text
    assert "note right of published: lane main" in text


def test_no_lanes_no_marks():
    """Without lanes the diagram has no highlight."""
    assert "current" not in mermaid()
