"""How fast the core reads a log, and how much memory it takes, against a baseline.

Baseline, in the same run: `json.loads` of every line (the least any reader must do). The
core also checks each line's canonical form, its hash, the chain and every guard, and folds
it into the release state. Printed: events, bytes, seconds and peak memory for both, and the
ratio; then the fold alone (the machine, guards and folds over events already parsed) and one
plan. Run: .venv/bin/python benchmarks/bench_core.py
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from statemachine.events import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statemachine.log import load, parse
from statemachine.machine import apply
from statemachine.plan import Request, StepInput, plan
from statemachine.replay import ReleaseState
from tests.unit.story import Story, dist


def release_with(wheels: int) -> bytes:
    """A published release whose main lane has `wheels` wheels and an sdist."""
    story = Story()
    files = (dist("sample-1.0.0.tar.gz"),
             *(dist(f"sample-1.0.0-cp3{i % 10}-cp3{i % 10}-plat{i}.whl") for i in range(wheels)))
    story.open()
    story.release()
    story.build(files=files)
    story.attest()
    story.draft()
    story.approve()
    story.publish()
    return story.log.to_bytes()


def measure(func: Callable[[], object]) -> tuple[float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


def fold(events: list[Event]) -> ReleaseState:
    state = ReleaseState()
    for event in events:
        apply(state, event)
    return state


def main() -> None:
    print(f"{'events':>7} {'bytes':>10} {'json s':>8} {'replay s':>9} {'ratio':>6} "
          f"{'json MB':>8} {'replay MB':>10} {'fold s':>7} {'plan ms':>8}")
    for wheels in (10, 100, 1000):
        data = release_with(wheels)
        lines = data.splitlines()
        base_s, base_mem = measure(lambda lines=lines: [json.loads(x) for x in lines])
        replay_s, replay_mem = measure(lambda data=data: load(data))
        events = parse(data)
        fold_s, _ = measure(lambda events=events: fold(events))
        state = load(data).state
        start = time.perf_counter()
        plan(state, Request(step=StepInput.AUTO, may_publish=True))
        plan_ms = (time.perf_counter() - start) * 1000
        print(f"{len(lines):>7} {len(data):>10} {base_s:>8.3f} {replay_s:>9.3f} "
              f"{replay_s / base_s:>6.1f} {base_mem / 1e6:>8.1f} {replay_mem / 1e6:>10.1f} "
              f"{fold_s:>7.3f} {plan_ms:>8.2f}")


if __name__ == "__main__":
    main()
