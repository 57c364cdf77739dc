"""The write pacer: GitHub's 80 writes a minute and 500 an hour, on a clock the test moves."""

from __future__ import annotations

import threading

import pytest
from structlog.testing import capture_logs

from action.github.pacing import WritePacer


class Clock:
    """A monotonic clock that only moves when the pacer sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock: Clock, **limits: int) -> WritePacer:
    return WritePacer(sleep=clock.sleep, clock=lambda: clock.now, **limits)


def test_eighty_writes_go_at_once_and_the_next_waits_for_the_minute():
    """80 writes pass without waiting; the 81st goes 60 s after the first."""
    clock = Clock()
    writes = pacer(clock)
    for _ in range(80):
        writes.wait()
    assert clock.slept == []
    writes.wait()
    assert clock.slept == [pytest.approx(60.0)]


def test_no_minute_ever_holds_more_than_eighty():
    """Over 300 writes, every 60 s window holds at most 80 (the slots handed out)."""
    clock = Clock()
    writes, times = pacer(clock), []
    for _ in range(300):
        writes.wait()
        times.append(clock.now)
    assert all(sum(t <= s < t + 60 for s in times) <= 80 for t in times)


def test_the_hourly_budget_bites_and_is_logged():
    """Spread out so the minute never binds, write 501 waits for the hour; logged, counted."""
    clock = Clock()
    writes = pacer(clock)
    for _ in range(500):
        writes.wait()
        clock.now += 1.0
    with capture_logs() as logs:
        writes.wait()
    assert clock.slept and clock.slept[-1] == pytest.approx(3600.0 - 500.0)
    assert [e["event"] for e in logs] == ["github.write_budget"]
    throttled = writes.throttled()
    assert throttled.hourly_seconds == pytest.approx(3100.0)
    assert throttled.writes == 501


def test_plan_says_how_long_a_batch_will_be_held_back():
    """A batch of 100 on a fresh pacer waits 60 s (the minute); 600 does not fit the hour."""
    clock = Clock()
    writes = pacer(clock)
    assert writes.plan(80) == 0
    assert writes.plan(100) == pytest.approx(60.0)
    with capture_logs() as logs:
        assert writes.plan(600) >= 3600.0
    assert [e["event"] for e in logs] == ["github.write_plan"]
    assert clock.slept == []  # planning waits for nothing


def test_threads_share_one_budget():
    """Four threads writing at once still get at most 80 slots in the first minute."""
    clock = Clock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.slept.append(seconds)

    writes = WritePacer(sleep=sleep, clock=lambda: clock.now)
    threads = [threading.Thread(target=lambda: [writes.wait() for _ in range(25)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clock.slept) == 20  # writes 81..100 wait for the minute
    assert all(s == pytest.approx(60.0) for s in clock.slept)


def test_no_limits_means_no_waiting():
    """Both limits off (tests, servers without GitHub's limits): nothing ever waits."""
    clock = Clock()
    writes = WritePacer(per_minute=None, per_hour=None, sleep=clock.sleep,
                        clock=lambda: clock.now)
    for _ in range(1000):
        writes.wait()
    assert clock.slept == []


def test_the_job_summary_says_when_writes_were_held_back():
    """A job held back by the limits says so, and how much of it was the hourly budget."""
    from action.github.pacing import Throttling
    from action.github_run import throttling_note

    note = throttling_note(Throttling(seconds=75.4, hourly_seconds=60.2, writes=540))
    assert "Throttled" in note and "540 writes back 75 s" in note
    assert "60 s of it for the hourly budget" in note
    assert throttling_note(Throttling(seconds=0.2, hourly_seconds=0.0, writes=30)) == ""
