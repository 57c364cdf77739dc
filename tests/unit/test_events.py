"""Event records: typed payloads, canonical JSON and hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from statemachine.errors import EventError
from statemachine.events import GENESIS, Event
from statemachine.payloads import BuildFinished, BuildStarted, FileRecorded, LaneOpened, Payload
from statemachine.records import FileRef, format_time, parse_time
from tests.unit.story import CAUSE, COMMIT, dist

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make(payload: Payload, lane: str = "main") -> Event:
    return Event.create(seq=1, lane=lane, payload=payload, at=AT, cause=CAUSE,
                           prev=GENESIS)


def test_event_round_trips_through_its_canonical_line():
    """to_line -> from_json gives the same event and the same bytes."""
    event = make(FileRecorded(part="sdist", file=dist("a-1.0.tar.gz")))
    again = Event.from_json(json.loads(event.to_line()))
    assert again == event
    assert again.to_line() == event.to_line()


def test_hash_covers_every_field():
    """Changing any field changes the hash."""
    base = make(BuildStarted(part="sdist"))
    other = make(BuildStarted(part="linux"))
    assert base.hash != other.hash
    assert base.hash == base.computed_hash()


def test_payload_type_must_match_event_type():
    """An event cannot carry another event type's payload."""
    event = make(BuildStarted(part="sdist"))
    data = event.to_json()
    data["type"] = "built"
    with pytest.raises(EventError, match="Built has unknown fields: part"):
        Event.from_json(data)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"part": 3}, "must be a string"),
        ({}, "missing the field 'part'"),
        ({"part": "x", "extra": 1}, "unknown fields: extra"),
    ],
)
def test_malformed_payload_is_refused(payload, problem):
    """Payload fields are checked by type, presence and name."""
    with pytest.raises(EventError, match=problem):
        BuildStarted.from_json(payload)


def test_digests_and_commits_are_checked():
    """A digest must be 64 lowercase hex digits; a commit 40."""
    with pytest.raises(EventError, match="sha256"):
        FileRef(name="a.whl", size=1, sha256="ABC")
    with pytest.raises(EventError, match="commit"):
        LaneOpened(tag="v1", version="1", commit="short", repository="o/r",
                      source_date_epoch=0)


def test_file_names_have_no_directories():
    """A ledger name is a plain file name."""
    with pytest.raises(EventError, match="plain file name"):
        FileRef(name="../evil.whl", size=1, sha256="0" * 64)


def test_times_are_utc_only():
    """A time with another offset is refused; UTC is written with a Z."""
    with pytest.raises(EventError, match="UTC"):
        format_time(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))))
    assert format_time(AT) == "2026-11-01T12:00:00Z"
    assert parse_time("2026-11-01T12:00:00.5Z") == AT + timedelta(milliseconds=500)


def test_lane_names_are_checked():
    """Lanes are short lowercase names."""
    with pytest.raises(EventError, match="lane name"):
        make(BuildStarted(part="x"), lane="Main Lane")


def test_lane_opened_records_the_tag_commit():
    """The commit of the tag is part of the lane's opening."""
    opened = LaneOpened(tag="v1.0.0", version="1.0.0", commit=COMMIT, repository="o/r",
                           source_date_epoch=1, python=("cp314",))
    assert LaneOpened.from_json(opened.to_json()) == opened


def test_impossible_dates_are_refused_as_event_errors():
    """A well-shaped but impossible time (November 31st) is an EventError, not a crash."""
    with pytest.raises(EventError, match="not a real moment"):
        parse_time("2026-11-31T12:00:00Z")


def test_a_field_added_later_keeps_the_lines_written_before_it():
    """BuildFinished.source is new: a line written without it (as logs from before it hold)
    is still the canonical form of its event; a line with it holds it and round-trips."""
    before = make(BuildFinished(part="linux", tools={"cibuildwheel": "4.3.5"}))
    line = json.loads(before.to_line())
    assert "source" not in line["payload"]
    assert line["payload"] == {"part": "linux", "tools": {"cibuildwheel": "4.3.5"},
                               "images": []}
    assert Event.from_json(line).to_line() == before.to_line()
    sdist = dist("a-1.0.tar.gz")
    after = make(BuildFinished(part="linux", source=sdist))
    again = Event.from_json(json.loads(after.to_line()))
    assert again.payload == BuildFinished(part="linux", source=sdist)
    assert again.to_line() == after.to_line()
