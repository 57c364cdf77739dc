"""The GitHub runner's contract, outward: annotations, groups, step summary, outputs.

Inputs (INPUT_*, GITHUB_*, the event payload) are read in `action/config.py`; this module
writes what the runner reads back: workflow commands on stdout and the file commands, at the
paths `config.RunnerFiles` holds.
"""

from __future__ import annotations

import secrets
import sys
from typing import TYPE_CHECKING, TextIO

from action.logs import scrub
from action.output import command

if TYPE_CHECKING:
    from collections.abc import Mapping

    from action.config import RunnerFiles

MAX_ANNOTATIONS = 10  # the runner shows at most 10 errors and 10 warnings per step


def annotate(level: str, message: str, *, title: str = "", stream: TextIO | None = None) -> None:
    """`::error::` / `::warning::` / `::notice::` with newlines kept (as %0A)."""
    print(command(level, scrub(message), title=scrub(title)), file=stream or sys.stdout,
          flush=True)


def start_group(title: str) -> None:
    print(command("group", scrub(title)), flush=True)


def end_group() -> None:
    print("::endgroup::", flush=True)


def append_summary(files: RunnerFiles, markdown: str) -> None:
    """Append Markdown to the step summary, when the runner gave us one."""
    if files.step_summary:
        with files.step_summary.open("a", encoding="utf-8") as handle:
            handle.write(scrub(markdown).rstrip("\n") + "\n")


def write_outputs(files: RunnerFiles, outputs: Mapping[str, str]) -> None:
    """Write step outputs to $GITHUB_OUTPUT (multi-line values with a random delimiter)."""
    if not files.outputs:
        return
    with files.outputs.open("a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            if "\n" in value:
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{name}={value}\n")
