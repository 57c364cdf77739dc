"""Faults the GitHub double can inject, and the rule that decides which call gets one.

A rule is a `Match` (which calls) plus a fault (what happens to them). Matching is by method and a
regex searched in the request path (the path as the client sent it, without the query); `nth`
picks one occurrence (1-based, counted over the calls that match), `rate` fires at random with the
double's seeded generator, `times` caps how often a rule fires.
"""

from __future__ import annotations

import enum
import random
import re
import threading
from dataclasses import dataclass, field


class Apply(enum.Enum):
    """How much of an interrupted call the double carries out before it drops the connection."""

    NOTHING = "nothing"
    PARTIAL = "partial"  # an upload leaves a `starter` asset; any other call: nothing applied
    ALL = "all"


@dataclass(frozen=True, kw_only=True)
class ServerError:
    """Answer with a 5xx and GitHub's error JSON; nothing is applied."""

    status: int = 502
    message: str = "Server Error"


@dataclass(frozen=True, kw_only=True)
class Timeout:
    """Hold the response for `hold` seconds (longer than the client's timeout), then drop it."""

    hold: float = 2.0
    apply: Apply = Apply.NOTHING


@dataclass(frozen=True, kw_only=True)
class Reset:
    """Close the socket (RST) without answering, after applying `apply` of the call."""

    apply: Apply = Apply.NOTHING


@dataclass(frozen=True, kw_only=True)
class HalfUpload:
    """An upload cut off in the middle: the asset stays in state `starter`, holding its name."""


@dataclass(frozen=True, kw_only=True)
class Kill:
    """The client dies at this call: apply `apply` of it, reset the connection, record the kill."""

    apply: Apply = Apply.ALL


@dataclass(frozen=True, kw_only=True)
class PrimaryRateLimit:
    """GitHub's primary rate limit: 403 (or 429), x-ratelimit-remaining 0 and a reset time."""

    status: int = 403
    reset_in: int = 60


@dataclass(frozen=True, kw_only=True)
class SecondaryRateLimit:
    """GitHub's secondary rate limit: 403 with `retry-after`."""

    retry_after: int = 1


Fault = ServerError | Timeout | Reset | HalfUpload | Kill | PrimaryRateLimit | SecondaryRateLimit


@dataclass(frozen=True, kw_only=True)
class Match:
    """Which calls a rule applies to."""

    method: str | None = None
    path: str = ""
    nth: int | None = None
    rate: float = 1.0
    times: int | None = None

    def selects(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return re.search(self.path, path) is not None


@dataclass(kw_only=True)
class Rule:
    """A fault and its match, with the counters that make `nth` and `times` work."""

    match: Match
    fault: Fault
    seen: int = 0
    fired: int = 0

    def due(self, rng: random.Random) -> bool:
        """Whether the call just counted gets the fault."""
        if self.match.times is not None and self.fired >= self.match.times:
            return False
        if self.match.nth is not None and self.seen != self.match.nth:
            return False
        return self.match.rate >= 1.0 or rng.random() < self.match.rate


@dataclass(kw_only=True)
class FaultPlan:
    """The rules in force, consulted once per call in the order they were added."""

    seed: int = 0
    rules: list[Rule] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - test determinism, not cryptography

    def add(self, fault: Fault, match: Match) -> Rule:
        rule = Rule(match=match, fault=fault)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this call, if any; every rule counts the call even when another fires."""
        chosen: Fault | None = None
        with self._lock:
            for rule in self.rules:
                if not rule.match.selects(method, path):
                    continue
                rule.seen += 1
                if chosen is None and rule.due(self._rng):
                    rule.fired += 1
                    chosen = rule.fault
        return chosen
