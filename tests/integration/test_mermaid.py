"""The Mermaid diagrams people see (job summary, release body, `diagram`) parse with Mermaid's
own parser, for every state of a lane, alone and beside a backfill lane.

Mermaid is the npm package, pinned in tests/mermaid/package-lock.json (`npm ci` there, which
./dev test does), run by node through tests/mermaid/parse.mjs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from action import report
from statemachine.diagram import mermaid
from statemachine.payloads import Payload, Published, TestPublished
from statemachine.plan import Request, StepInput, plan
from statemachine.states import State
from tests.conftest import require
from tests.unit.story import BACKFILL_FILES, Story

if TYPE_CHECKING:
    from collections.abc import Callable

    from statemachine.replay import ReleaseState

MERMAID = Path(__file__).resolve().parents[1] / "mermaid"
FENCED = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


def parse(diagrams: list[str]) -> list[dict[str, str]]:
    """Mermaid's verdict on each diagram, in order."""
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require((MERMAID / "node_modules" / "mermaid").is_dir(),
            "mermaid is not installed: run `npm ci` in tests/mermaid (./dev test does)")
    assert node is not None
    done = subprocess.run([node, str(MERMAID / "parse.mjs")], input=json.dumps(diagrams),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    verdicts: list[dict[str, str]] = json.loads(done.stdout)
    assert len(verdicts) == len(diagrams)
    return verdicts


def lane_steps(story: Story, lane: str) -> list[tuple[State, Callable[[], object]]]:
    """Each state of a lane, with the step of the story that brings it there."""
    def tagged() -> None:
        if lane == "main":
            story.open()
            story.release()
        else:
            story.open(lane, python=(lane,))

    def upload(index: str, payload: Payload) -> Callable[[], object]:
        return lambda: (story.upload(lane, index), story.add(lane, payload))

    return [
        (State.TAGGED, tagged),
        (State.BUILT, lambda: story.build(lane) if lane == "main"
         else story.build(lane, BACKFILL_FILES)),
        (State.ATTESTED, lambda: story.attest(lane)),
        (State.DRAFTED, lambda: story.draft(lane)),
        (State.APPROVED, lambda: story.approve(lane)),
        (State.TEST_PUBLISHED, upload("testpypi", TestPublished(url="http://test"))),
        (State.PUBLISHED, upload("pypi", Published(url="http://pypi"))),
    ]


def every_state() -> list[tuple[str, ReleaseState]]:
    """The empty log, the main lane in each state, then a cp314 backfill lane in each."""
    story = Story()
    states: list[tuple[str, ReleaseState]] = [("empty", story.log.state)]
    for lane in ("main", "cp314"):
        for want, step in lane_steps(story, lane):
            step()
            assert story.log.state.lanes[lane].state is want
            states.append((f"{lane} {want.value}", story.log.state))
    return states


def shown_diagrams(state: ReleaseState, lane: str) -> dict[str, str]:
    """The diagrams of the job summary, the release body and `diagram`, for one state."""
    config = SimpleNamespace(tag="v1.0.0", lane=lane, approval_environment="publish")
    job = SimpleNamespace(log=SimpleNamespace(state=state), config=config, release=None)
    final = plan(state, Request(lane=lane, step=StepInput.AUTO, may_publish=True))
    texts = {"job summary": report.job_summary(job, final),
             "release body": report.release_body(state, config)}
    shown = {where: FENCED.findall(text) for where, text in texts.items()}
    assert all(len(found) == 1 for found in shown.values()), shown
    lanes = {name: s.state for name, s in state.lanes.items()}
    return {**{where: found[0] for where, found in shown.items()}, "diagram": mermaid(lanes)}


def test_every_diagram_shown_for_every_state_of_a_lane_parses():
    """Summary, body and `diagram` for 15 states (empty, main x7, backfill x7) all parse."""
    cases = []
    for label, state in every_state():
        lane = "cp314" if label.startswith("cp314") else "main"
        cases += [(f"{label}: {where}", text)
                  for where, text in shown_diagrams(state, lane).items()]
    assert len(cases) == 15 * 3
    verdicts = parse([text for _, text in cases])
    refused = [f"{where}: {v['error']}" for (where, _), v in zip(cases, verdicts, strict=True)
               if not v["ok"]]
    assert refused == []
    assert {v["type"] for v in verdicts} == {"stateDiagram"}


@pytest.mark.parametrize("broken", [
    "stateDiagram-v2\n    [*] --> tagged -->\n",
    "stateDiagram-v2\n    note right of built lane main\n",
    'stateDiagram-v2\n    state "built as built\n',
])
def test_the_parser_refuses_a_broken_diagram(broken):
    """The check can fail: Mermaid rejects diagrams with a broken edge, note or name."""
    (verdict,) = parse([broken])
    assert not verdict["ok"]
    assert verdict["error"]
