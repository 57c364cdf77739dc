"""Parsing the log: anything but a log this project wrote is refused, naming the first bad line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine.errors import LogError
from statemachine.log import load, parse
from tests.unit.story import Story


def sample_log() -> bytes:
    story = Story()
    story.full()
    return story.log.to_bytes()


LOG = sample_log()
LINES = LOG.split(b"\n")[:-1]


def join(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def refused_at(data: bytes) -> int:
    with pytest.raises(LogError) as caught:
        load(data)
    return caught.value.line


def test_a_written_log_loads_back_to_the_same_state():
    """Load(serialise(log)) replays to the same lanes, ledger and head."""
    loaded = load(LOG)
    assert loaded.to_bytes() == LOG
    assert loaded.state.main is not None
    assert loaded.state.main.state.value == "published"


def test_empty_log_has_no_events():
    """Zero bytes are an empty log."""
    assert parse(b"") == []


def test_malformed_line_is_named():
    """A line that is not JSON is refused with its number."""
    lines = list(LINES)
    lines[4] = b"{not json"
    assert refused_at(join(lines)) == 5


def test_reordered_lines_are_refused():
    """Swapping two lines is refused at the first of them."""
    lines = list(LINES)
    lines[3], lines[4] = lines[4], lines[3]
    assert refused_at(join(lines)) == 4


def test_duplicated_line_is_refused():
    """A line repeated is refused where the copy stands."""
    lines = list(LINES)
    lines.insert(6, lines[5])
    assert refused_at(join(lines)) == 7


def test_line_missing_in_the_middle_is_refused():
    """A cut in the middle breaks the sequence at the line after the gap."""
    lines = list(LINES)
    del lines[8]
    assert refused_at(join(lines)) == 9


def test_log_cut_mid_line_is_refused():
    """A log cut inside its last line has no final newline and is refused."""
    assert refused_at(LOG[:-20]) == len(LINES)


def test_reformatted_line_is_refused():
    """Pretty-printed (non-canonical) JSON is refused even with the same content."""
    import json

    lines = list(LINES)
    lines[2] = json.dumps(json.loads(lines[2]), indent=None, separators=(", ", ": ")).encode()
    assert refused_at(join(lines)) == 3


def test_altered_content_with_its_hash_recomputed_breaks_the_chain():
    """Even a consistent rewrite of one event is caught by the next event's `prev`."""
    story = Story()
    story.full()
    events = story.log.events
    from statemachine.events import Event
    from statemachine.payloads import FileRecorded
    from statemachine.records import FileRef

    victim = next(e for e in events if isinstance(e.payload, FileRecorded))
    forged_file = FileRef(name=victim.payload.file.name, size=1, sha256="f" * 64)
    forged = Event.create(seq=victim.seq, lane=victim.lane, at=victim.at, cause=victim.cause,
                          prev=victim.prev, payload=FileRecorded(part="linux", file=forged_file))
    lines = list(LINES)
    lines[victim.seq - 1] = forged.to_line()
    assert refused_at(join(lines)) == victim.seq + 1


def test_a_guard_violation_in_a_log_is_named_by_line():
    """A log whose events are well formed but not allowed is refused at that event."""
    story = Story()
    story.open()
    story.release()
    data = story.log.to_bytes()
    # Re-number a copy of the release request after the recorded release: not allowed.
    from statemachine.events import Event
    from statemachine.payloads import ReleaseRequested

    last = story.log.events[-1]
    extra = Event.create(seq=last.seq + 1, lane="main", payload=ReleaseRequested(tag="v1.0.0"),
                         at=last.at, cause=last.cause, prev=last.hash)
    assert refused_at(data + extra.to_line() + b"\n") == last.seq + 1


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(LOG) - 1),
       value=st.integers(min_value=0, max_value=255))
def test_any_single_changed_byte_is_detected(position, value):
    """Changing any one byte of a log to any other value makes it refused."""
    if LOG[position] == value:
        value = (value + 1) % 256
    changed = LOG[:position] + bytes([value]) + LOG[position + 1:]
    with pytest.raises(LogError):
        load(changed)
