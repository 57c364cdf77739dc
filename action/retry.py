"""The one retry policy of the adapters: which failures are tried again, how long to wait.

Every adapter that talks to a server (the package indexes, GitHub) retries what may pass (5xx,
429, timeouts, dropped connections) with exponential backoff and jitter, never a refusal (4xx).
Each request is retried on its own, within a time budget rather than a number of attempts
(`Backoff.budget`, ten minutes by default: about what a GitHub or PyPI incident of the
flaky kind lasts), so a job rides out an incident instead of giving up after a few tries; the
budget counts the waits and the time the failed attempts took.
A server that says how long to wait (a rate limit) is waited out without counting a failure,
up to a ceiling. A write whose answer was lost is looked for (`settle`) before it is repeated.
Each adapter says which of its failures pass and what giving up tells the user.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Backoff", "Retrying", "Wait"]

log = get_logger(__name__)
T = TypeVar("T")


DEFAULT_BUDGET = 600.0  # seconds one request may spend failing and waiting before giving up


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Exponential backoff with jitter within a time budget; `sleep`, `jitter` and `clock`
    are injectable for tests. `budget`: seconds of failures and waits one request may take;
    `attempts`: an upper bound on tries as well (None: the budget alone decides)."""

    budget: float = DEFAULT_BUDGET
    attempts: int | None = None
    base: float = 2.0
    cap: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random  # uniform in [0, 1)
    clock: Callable[[], float] = time.monotonic  # times the failed attempts

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (0-based): half fixed, half jitter."""
        ceiling = min(self.cap, self.base * 2.0**attempt)
        return ceiling / 2 + ceiling / 2 * self.jitter()


@dataclass(frozen=True, slots=True)
class Wait:
    """The server asked to wait this long (a rate limit): not a failure, no backoff."""

    seconds: float
    why: str


def _always(_exc: BaseException) -> bool | Wait:
    return True


@dataclass(frozen=True, kw_only=True)
class Retrying:
    """One adapter's use of the policy. `retryable` failures are judged by `passes`: True
    backs off and tries again, a `Wait` waits it out, False raises the failure unchanged.
    `give_up(what, failures, last)` and `too_long(what, wait, waited, last)` make the errors
    raised when the attempts or the waiting budget (`max_wait` seconds) are used up."""

    backoff: Backoff
    system: str  # names the log events: <system>.retry, <system>.rate_limited
    retryable: tuple[type[BaseException], ...]
    give_up: Callable[[str, int, BaseException], Exception]
    passes: Callable[[BaseException], bool | Wait] = _always
    describe: Callable[[BaseException], str] = str
    max_wait: float = math.inf
    too_long: Callable[[str, Wait, float, BaseException], Exception] | None = None

    def run(
        self, what: str, attempt: Callable[[], T], *, settle: Callable[[], T | None] | None = None
    ) -> T:
        """`attempt` until it succeeds. After a failure that may have been applied (a write
        whose answer was lost), `settle` looks at what exists and returns the result if the
        write did land; None means: try again."""
        failures, waited, spent = 0, 0.0, 0.0
        while True:
            began = self.backoff.clock()
            try:
                return attempt()
            except self.retryable as exc:
                verdict = self.passes(exc)
                if isinstance(verdict, Wait):
                    waited = self._wait_out(what, verdict, waited, exc)
                    continue
                if not verdict:
                    raise
                failures += 1
                spent += max(0.0, self.backoff.clock() - began)
                spent += self._back_off(what, exc, failures, spent)
            if settle is not None and (landed := settle()) is not None:
                log.info(self._event("write_landed"), what=what)
                return landed

    def _event(self, name: str) -> str:
        return f"{self.system}.{name}"

    def _wait_out(self, what: str, wait: Wait, waited: float, exc: BaseException) -> float:
        if waited + wait.seconds > self.max_wait and self.too_long is not None:
            raise self.too_long(what, wait, waited, exc) from exc
        log.warning(self._event("rate_limited"), what=what, why=wait.why,
                    wait_seconds=round(wait.seconds, 1))
        self.backoff.sleep(wait.seconds)
        return waited + wait.seconds

    def _back_off(self, what: str, exc: BaseException, failures: int, spent: float) -> float:
        """Wait before the next try and return how long; give up when the attempts are used
        up or the wait would take the request past its time budget."""
        delay = self.backoff.delay(failures - 1)
        attempts = self.backoff.attempts
        if (attempts is not None and failures >= attempts) or spent + delay > self.backoff.budget:
            log.warning(self._event("gave_up"), what=what, reason=self.describe(exc),
                        attempts=failures, seconds=round(spent, 1),
                        budget_seconds=self.backoff.budget)
            raise self.give_up(what, failures, exc) from exc
        log.warning(self._event("retry"), what=what, reason=self.describe(exc),
                    attempt=failures, wait_seconds=round(delay, 2),
                    budget_left_seconds=round(self.backoff.budget - spent - delay, 1))
        self.backoff.sleep(delay)
        return delay
