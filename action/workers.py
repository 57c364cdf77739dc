"""Bounded workers for a batch of side effects: each item's result, or the error it met.

`run_bounded` runs `work` over the items, `workers` at a time, and returns one entry per item in
order: its result, or the `ReleaseError` it raised (so a batch records what succeeded before it
reports what failed). Anything else raised in a worker is a bug or the process being stopped:
no new item is started, the running ones are waited for, and it is raised as it is.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, TypeVar

from action.errors import ReleaseError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")
R = TypeVar("R")


def run_bounded(work: Callable[[T], R], items: Sequence[T], *,
                workers: int) -> list[R | ReleaseError]:
    if not items:
        return []
    if workers <= 1 or len(items) == 1:
        return [_one(work, item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                               thread_name_prefix="batch") as pool:
        futures = [pool.submit(_one, work, item) for item in items]
        for future in concurrent.futures.as_completed(futures):
            stopped = future.exception()
            if stopped is not None:
                for pending in futures:
                    pending.cancel()
                concurrent.futures.wait(futures)
                raise stopped
        return [f.result() for f in futures]


def _one(work: Callable[[T], R], item: T) -> R | ReleaseError:
    try:
        return work(item)
    except ReleaseError as problem:
        return problem
