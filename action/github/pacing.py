"""GitHub's write limits, kept by one pacer that every thread of a job shares.

GitHub allows about 80 content-creating requests (POST, PATCH, PUT, DELETE) a minute and 500 an
hour. The pacer holds both as sliding windows: a write may go when fewer than `per_minute`
writes fall in the 60 s before it and fewer than `per_hour` in the hour before it. A thread
reserves its slot under the lock and sleeps outside it, so slots are handed out in order and
concurrent uploads never overrun a window. Reads are not paced (their budget, 5000 an hour, is
read from GitHub's answers and waited out by the retry policy).

The hourly budget is a real limit for a release of a hundred files: `plan` says, before a batch,
how long the batch will be held back, and every wait on the hourly window is logged when it
starts; `throttled` tells the job summary how long the job waited in all.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

log = get_logger("action.github.pacing")

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Throttling:
    """How long writes waited, in all and on the hourly window."""

    seconds: float
    hourly_seconds: float
    writes: int


@dataclass
class WritePacer:
    per_minute: int | None = 80
    per_hour: int | None = 500
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _slots: collections.deque[float] = field(default_factory=collections.deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _waited: float = 0.0
    _hourly: float = 0.0
    _writes: int = 0

    def __post_init__(self) -> None:
        for limit in (self.per_minute, self.per_hour):
            if limit is not None and limit < 1:
                raise ValueError("write limits are at least 1 a window")

    def wait(self) -> None:
        """Block until this write may go (its slot is reserved when this returns)."""
        with self._lock:
            now = self.clock()
            slot, hourly = self._next_slot(now, self._slots)
            self._slots.append(slot)
            self._trim(now)
            self._writes += 1
            wait = slot - now
            if wait > 0:
                self._waited += wait
                if hourly:
                    self._hourly += wait
        if wait > 0 and hourly:
            log.warning("github.write_budget", limit=f"{self.per_hour} writes an hour",
                        wait_seconds=round(wait, 1),
                        why="GitHub's hourly limit for content-creating requests")
        if wait > 0:
            self.sleep(wait)

    def plan(self, writes: int) -> float:
        """Seconds the next `writes` writes would wait; logs when the hourly budget bites."""
        with self._lock:
            now = self.clock()
            slots = collections.deque(self._slots)
            last, hourly_wait = now, 0.0
            for _ in range(writes):
                last, hourly = self._next_slot(now, slots)
                slots.append(last)
                if hourly:
                    hourly_wait = last - now
        wait = max(last - now, 0.0)
        if hourly_wait > 0:
            log.warning("github.write_plan", writes=writes, limit=f"{self.per_hour} an hour",
                        held_back_seconds=round(wait),
                        why="this batch does not fit in what is left of the hourly budget")
        return wait

    def throttled(self) -> Throttling:
        with self._lock:
            return Throttling(self._waited, self._hourly, self._writes)

    def _next_slot(self, now: float, slots: collections.deque[float]) -> tuple[float, bool]:
        """The earliest time a write may go after `slots`; whether the hourly window set it."""
        slot = max(now, slots[-1]) if slots else now
        by_minute = by_hour = slot
        if self.per_minute is not None and len(slots) >= self.per_minute:
            by_minute = slots[-self.per_minute] + MINUTE
        if self.per_hour is not None and len(slots) >= self.per_hour:
            by_hour = slots[-self.per_hour] + HOUR
        return max(slot, by_minute, by_hour), by_hour > max(slot, by_minute)

    def _trim(self, now: float) -> None:
        keep = max(self.per_minute or 0, self.per_hour or 0)
        while len(self._slots) > keep or (self._slots and self._slots[0] < now - HOUR):
            self._slots.popleft()
