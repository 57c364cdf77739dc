"""action/retry.py: the one retry policy every adapter uses."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from action.retry import Backoff, Retrying, Wait


class RefusedError(Exception):
    """A failure that does not pass (a 4xx)."""


class PassingError(Exception):
    """A failure that may pass (a 5xx)."""


class GaveUpError(Exception):
    """The adapter's own error for giving up."""


def outcomes(*items):
    """An attempt that raises or returns the items in turn."""
    queue = list(items)

    def attempt():
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return attempt


def policy(waits, **options):
    judge = options.pop("passes", lambda exc: isinstance(exc, PassingError))
    return Retrying(
        backoff=Backoff(attempts=3, base=1.0, sleep=waits.append, jitter=lambda: 0.0),
        system="test", retryable=(PassingError, RefusedError, RateLimitedError), passes=judge,
        give_up=lambda what, n, exc: GaveUpError(f"{what}: {n} times, last {exc}"), **options,
    )


class RateLimitedError(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"wait {seconds}")
        self.seconds = seconds


def judge_limits(exc: BaseException) -> bool | Wait:
    if isinstance(exc, RateLimitedError):
        return Wait(exc.seconds, "rate limit")
    return isinstance(exc, PassingError)


class TestRetrying:
    def test_passing_failures_back_off_then_succeed(self):
        """Two passing failures, then success: two growing waits, one result, logged."""
        waits: list[float] = []
        with capture_logs() as logs:
            attempt = outcomes(PassingError("503"), PassingError("503"), "ok")
            assert policy(waits).run("read", attempt) == "ok"
        assert waits == [0.5, 1.0]
        assert [e["event"] for e in logs] == ["test.retry", "test.retry"]

    def test_a_refusal_is_raised_unchanged_at_once(self):
        """A failure the adapter does not pass is not retried and not wrapped."""
        waits: list[float] = []
        with pytest.raises(RefusedError):
            policy(waits).run("read", outcomes(RefusedError("404")))
        assert waits == []

    def test_giving_up_uses_the_adapters_error(self):
        """After the last attempt the adapter's error names what, how often, the last reason."""
        with pytest.raises(GaveUpError, match=r"read: 3 times, last 502") as caught:
            policy([]).run("read", outcomes(*[PassingError("502")] * 3))
        assert isinstance(caught.value.__cause__, PassingError)

    def test_a_rate_limit_is_waited_out_without_counting(self):
        """Waits the server asks for are slept as asked and do not use up attempts."""
        waits: list[float] = []
        attempt = outcomes(RateLimitedError(7), PassingError("500"), RateLimitedError(7),
                           PassingError("500"), "ok")
        assert policy(waits, passes=judge_limits).run("read", attempt) == "ok"
        assert waits == [7, 0.5, 7, 1.0]

    def test_waiting_too_long_stops(self):
        """Past `max_wait` seconds of rate-limit waiting, the adapter's `too_long` error."""

        def too_long(what, wait, waited, _exc):
            return GaveUpError(f"{what}: {wait.why} {wait.seconds} after {waited}")

        waits: list[float] = []
        retry = policy(waits, passes=judge_limits, max_wait=10.0, too_long=too_long)
        with pytest.raises(GaveUpError, match=r"read: rate limit 7 after 7\.0"):
            retry.run("read", outcomes(RateLimitedError(7), RateLimitedError(7)))
        assert waits == [7]

    def test_a_lost_write_that_landed_is_not_repeated(self):
        """After a failure, `settle` finds the write's result: it is returned, no new attempt."""
        calls: list[str] = []

        def attempt():
            calls.append("post")
            raise PassingError("connection dropped")

        with capture_logs() as logs:
            assert policy([]).run("create", attempt, settle=lambda: "found") == "found"
        assert calls == ["post"]
        assert logs[-1]["event"] == "test.write_landed"


class FakeTime:
    """A clock that each failed attempt moves by `per_attempt` seconds, and sleeps move too."""

    def __init__(self, per_attempt: float = 0.0) -> None:
        self.now, self.per_attempt, self.waits = 0.0, per_attempt, []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def failing(self, exc: BaseException, times: int, result: object = "ok"):
        left = [times]

        def attempt():
            self.now += self.per_attempt
            if left[0]:
                left[0] -= 1
                raise exc
            return result

        return attempt


def budgeted(fake: FakeTime, budget: float, **options) -> Retrying:
    return Retrying(
        backoff=Backoff(budget=budget, base=1.0, cap=30.0, sleep=fake.sleep, clock=fake.clock,
                        jitter=lambda: 0.0, **options),
        system="test", retryable=(PassingError,),
        give_up=lambda what, n, exc: GaveUpError(f"{what}: {n} times, last {exc}"))


class TestTimeBudget:
    def test_a_request_is_retried_for_minutes_not_a_count_of_attempts(self):
        """Twelve failures in a row (a GitHub incident of a few minutes): the request still
        succeeds within the default ten minutes; no count of attempts stops it first."""
        fake = FakeTime(per_attempt=1.0)
        retry = budgeted(fake, Backoff().budget)
        assert retry.run("download", fake.failing(PassingError("502"), 12)) == "ok"
        assert len(fake.waits) == 12
        assert fake.now < 600

    def test_it_gives_up_when_the_next_wait_would_pass_the_budget(self):
        """Waits 0.5, 1, 2, 4 use 7.5 of 10 s; the next (8) would pass it: the adapter's error,
        without sleeping that last wait."""
        fake = FakeTime()
        with capture_logs() as logs, pytest.raises(GaveUpError, match="read: 5 times, last 502"):
            budgeted(fake, 10.0).run("read", fake.failing(PassingError("502"), 99))
        assert fake.waits == [0.5, 1.0, 2.0, 4.0]
        assert logs[-1]["event"] == "test.gave_up"
        assert logs[-1]["budget_seconds"] == 10.0

    def test_the_time_failed_attempts_take_counts(self):
        """Attempts that time out after 4 s each use the budget up sooner: 4 + 0.5 + 4 + 1 +
        4 = 13.5 s, and the next wait (2) would pass 15."""
        fake = FakeTime(per_attempt=4.0)
        with pytest.raises(GaveUpError, match="read: 3 times"):
            budgeted(fake, 15.0).run("read", fake.failing(PassingError("timeout"), 99))
        assert fake.waits == [0.5, 1.0]

    def test_attempts_still_bound_the_tries_when_given(self):
        fake = FakeTime()
        with pytest.raises(GaveUpError, match="read: 2 times"):
            budgeted(fake, 600.0, attempts=2).run("read", fake.failing(PassingError("502"), 9))
        assert fake.waits == [0.5]
