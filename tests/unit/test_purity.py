"""statemachine/ decides and does no I/O: checked statically and at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import statemachine

PACKAGE = Path(statemachine.__file__).parent
# Modules the core may import: pure standard library, the machine library, canonical JSON.
ALLOWED = {
    "__future__", "collections", "copy", "dataclasses", "datetime", "enum", "functools",
    "hashlib", "json", "logging", "re", "types", "typing", "transitions", "rfc8785",
    "statemachine",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_only_pure_modules():
    """Every import in statemachine/ is on the allow-list (no os, io, socket, subprocess...)."""
    for path in PACKAGE.glob("*.py"):
        extra = imported_modules(path) - ALLOWED
        assert not extra, f"{path.name} imports {sorted(extra)}"


AUDIT = """
import sys
from statemachine.diagram import mermaid
from statemachine.log import load
from statemachine.plan import StepInput, Request, plan
from tests.unit.story import Story

story = Story()
story.full()
data = story.log.to_bytes()
seen = []
IO = ("open", "socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "shutil.",
      "os.remove", "os.rename", "os.mkdir", "urllib.", "http.")
sys.addaudithook(lambda event, args: seen.append(event) if event.startswith(IO) else None)
state = load(data).state
plan(state, Request(step=StepInput.AUTO, may_publish=True))
mermaid({n: l.state for n, l in state.lanes.items()})
print(",".join(seen))
"""


def test_replay_plan_and_diagram_do_no_io_at_run_time():
    """An audit hook sees no file, socket or process event during replay, plan and diagram."""
    root = PACKAGE.parent
    out = subprocess.run([sys.executable, "-c", AUDIT], cwd=root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""
