"""The event: one line of the log, and the hash chain that links the lines.

An event is the canonical JSON of its fields, among them `prev` (the hash of the event before
it, `GENESIS` for the first) and `hash` (the sha256 of its own canonical form without `hash`).
A line must be exactly the canonical form of the event it holds, so any changed byte in a log
changes a hash, breaks the chain or breaks the canonical form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from statemachine.canonical import canonical, sha256_hex
from statemachine.errors import EventError
from statemachine.payloads import PAYLOADS, Payload
from statemachine.records import Cause, check_lane, check_sha256, format_time, parse_time
from statemachine.states import EventType

if TYPE_CHECKING:
    from datetime import datetime

GENESIS: Final = "0" * 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One line of the log. Build new ones with `Event.create`, which computes the hash."""

    seq: int
    lane: str
    type: EventType
    at: datetime
    cause: Cause
    payload: Payload
    prev: str
    hash: str

    def __post_init__(self) -> None:
        check_lane(self.lane)
        if self.seq < 1:
            raise EventError("sequence numbers start at 1")
        if type(self.payload) is not PAYLOADS[self.type]:
            raise EventError(
                f"a {self.type.value} event needs a {PAYLOADS[self.type].__name__} payload"
            )
        check_sha256(self.prev, "prev")
        check_sha256(self.hash, "hash")

    @classmethod
    def create(
        cls, *, seq: int, lane: str, payload: Payload, at: datetime, cause: Cause, prev: str
    ) -> Event:
        body = _body(seq, lane, payload.event_type, at, cause, payload, prev)
        return cls(
            seq=seq, lane=lane, type=payload.event_type, at=at, cause=cause,
            payload=payload, prev=prev, hash=sha256_hex(canonical(body)),
        )

    def to_json(self) -> dict[str, Any]:
        body = _body(self.seq, self.lane, self.type, self.at, self.cause, self.payload, self.prev)
        body["hash"] = self.hash
        return body

    def to_line(self) -> bytes:
        """The canonical JSON of the event, without the newline."""
        return canonical(self.to_json())

    def computed_hash(self) -> str:
        body = _body(self.seq, self.lane, self.type, self.at, self.cause, self.payload, self.prev)
        return sha256_hex(canonical(body))

    @classmethod
    def from_json(cls, data: Any) -> Event:
        if not isinstance(data, dict):
            raise EventError("an event must be a JSON object")
        expected = {"seq", "lane", "type", "at", "cause", "payload", "prev", "hash"}
        if set(data) != expected:
            missing = sorted(expected - set(data))
            extra = sorted(set(data) - expected)
            raise EventError(f"event fields wrong: missing {missing}, unknown {extra}")
        try:
            kind = EventType(data["type"])
        except ValueError:
            raise EventError(f"unknown event type {data['type']!r}") from None
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise EventError("seq must be a whole number")
        for name in ("lane", "at", "prev", "hash"):
            if not isinstance(data[name], str):
                raise EventError(f"{name} must be a string")
        return cls(
            seq=seq, lane=data["lane"], type=kind, at=parse_time(data["at"]),
            cause=Cause.from_json(data["cause"]),
            payload=PAYLOADS[kind].from_json(data["payload"]),
            prev=data["prev"], hash=data["hash"],
        )


def _body(  # noqa: PLR0917 - the fields of an event, in their order
    seq: int, lane: str, kind: EventType, at: datetime, cause: Cause, payload: Payload, prev: str
) -> dict[str, Any]:
    return {
        "seq": seq, "lane": lane, "type": kind.value, "at": format_time(at),
        "cause": cause.to_json(), "payload": payload.to_json(), "prev": prev,
    }
