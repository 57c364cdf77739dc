"""The machine drawn from its own table as a Mermaid state diagram, each lane's state marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statemachine.states import ORDER, State
from statemachine.table import STAGES

if TYPE_CHECKING:
    from collections.abc import Mapping


_CURRENT_STYLE = "fill:#1f883d,color:#ffffff,stroke:#116329,stroke-width:3px"


def _node(state: State) -> str:
    return state.value.replace("-", "_")


def mermaid(lanes: Mapping[str, State] | None = None) -> str:
    """A `stateDiagram-v2` of the release; states that a lane is in are highlighted and noted."""
    lanes = dict(lanes or {})
    lines = ["stateDiagram-v2", "    direction LR"]
    lines += [f'    state "{s.value}" as {_node(s)}' for s in ORDER]
    lines.append(f"    [*] --> {_node(ORDER[0])}")
    lines += [
        f"    {_node(source)} --> {_node(stage.dest)}: {stage.event.value}"
        for stage in STAGES
        for source in stage.sources
        if stage.dest is not None
    ]
    lines.append(f"    {_node(ORDER[-1])} --> [*]")
    by_state: dict[State, list[str]] = {}
    for lane, state in sorted(lanes.items()):
        by_state.setdefault(state, []).append(lane)
    if by_state:
        lines.append(f"    classDef current {_CURRENT_STYLE}")
        for state, names in sorted(by_state.items(), key=lambda item: item[0].rank):
            lines.append(f"    class {_node(state)} current")
            lines.append(f"    note right of {_node(state)}: lane {', '.join(names)}")
    return "\n".join(lines) + "\n"
