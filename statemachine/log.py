"""The log: JSON Lines of canonical events, parsed strictly, appended in memory.

Parsing refuses anything that is not exactly a log this project wrote: a line that is not
canonical JSON of a well-formed event, a sequence number out of order, a duplicate, a gap, a
broken hash chain, a missing final newline. The error names the first bad line. Nothing is
guessed or repaired.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from statemachine.canonical import sha256_hex
from statemachine.errors import EventError, LogError, ReleaseError
from statemachine.events import GENESIS, Event
from statemachine.machine import apply
from statemachine.replay import ReleaseState

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from statemachine.payloads import Payload
    from statemachine.records import Cause


def parse(data: bytes) -> list[Event]:
    """Parse and validate a whole log. Raises LogError naming the first bad line."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise LogError(data.count(b"\n") + 1, "the log does not end with a newline (cut short?)")
    events: list[Event] = []
    prev = GENESIS
    for number, line in enumerate(data[:-1].split(b"\n"), start=1):
        event = _parse_line(number, line)
        if event.seq != number:
            raise LogError(number, f"holds event number {event.seq} where {number} belongs "
                           "(reordered, duplicated or missing lines)")
        if event.prev != prev:
            raise LogError(number, "does not continue the hash chain of the line before it")
        events.append(event)
        prev = event.hash
    return events


def _parse_line(number: int, line: bytes) -> Event:
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LogError(number, f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise LogError(number, "is JSON nested too deeply to be an event") from None
    try:
        event = Event.from_json(data)
    except EventError as exc:
        raise LogError(number, exc.message) from None
    if event.to_line() != line:
        raise LogError(number, "is not in canonical form (RFC 8785): it was edited")
    if sha256_hex(_without_hash(line, event.hash)) != event.hash:
        raise LogError(number, "its hash does not match its content: it was altered")
    return event


def _without_hash(line: bytes, digest: str) -> bytes:
    """The canonical form of the event without its `hash` member, cut from the canonical line.

    Keys are sorted, so the top-level `hash` member follows `cause` (whose keys never include
    `hash`); removing `,"hash":"<digest>"` leaves exactly the canonical JSON of the rest. This
    saves serialising each event a second time.
    """
    member = b',"hash":"' + digest.encode("ascii") + b'"'
    at = line.find(member)
    return line[:at] + line[at + len(member):] if at >= 0 else line


def serialise(events: Iterable[Event]) -> bytes:
    return b"".join(event.to_line() + b"\n" for event in events)


def load(data: bytes) -> EventLog:
    """Parse a log and replay it; LogError names the first line that does not fit."""
    events = parse(data)
    state = ReleaseState()
    for event in events:
        try:
            apply(state, event)
        except ReleaseError as exc:
            raise LogError(event.seq, exc.message) from None
    return EventLog(events, state)


class EventLog:
    """A log in memory and its replayed state. `append` refuses what the machine refuses."""

    def __init__(
        self, events: list[Event] | None = None, state: ReleaseState | None = None
    ) -> None:
        self.events: list[Event] = list(events or [])
        self.state = state if state is not None else ReleaseState()

    @property
    def head(self) -> str:
        return self.events[-1].hash if self.events else GENESIS

    def append(self, lane: str, payload: Payload, *, at: datetime, cause: Cause) -> Event:
        """Make the next event, check it against everything recorded, then keep it."""
        event = Event.create(
            seq=len(self.events) + 1, lane=lane, payload=payload, at=at, cause=cause,
            prev=self.head,
        )
        apply(self.state, event)  # atomic: every check comes before any change
        self.events.append(event)
        return event

    def to_bytes(self) -> bytes:
        return serialise(self.events)

    def __len__(self) -> int:
        return len(self.events)
