"""The one retry policy of the adapters: which failures are tried again, how long to wait.

Every adapter that talks to a server (the package indexes, GitHub) retries what may pass (5xx,
429, timeouts, dropped connections) with exponential backoff and jitter, never a refusal (4xx).
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


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Exponential backoff with jitter; `sleep` and `jitter` are injectable for tests."""

    attempts: int = 5
    base: float = 2.0
    cap: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random  # uniform in [0, 1)

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
        failures, waited = 0, 0.0
        while True:
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
                self._back_off(what, exc, failures)
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

    def _back_off(self, what: str, exc: BaseException, failures: int) -> None:
        if failures >= self.backoff.attempts:
            raise self.give_up(what, failures, exc) from exc
        delay = self.backoff.delay(failures - 1)
        log.warning(self._event("retry"), what=what, reason=self.describe(exc),
                    attempt=failures, wait_seconds=round(delay, 2))
        self.backoff.sleep(delay)
