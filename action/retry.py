"""The one retry policy of the adapters: how many attempts, and how long to wait between them.

Every adapter that talks to a server (the package indexes, GitHub) retries what may pass (5xx,
429, timeouts, dropped connections) with exponential backoff and jitter, never a refusal (4xx).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Backoff"]


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
