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

if TYPE_CHECKING:
    from collections.abc import Mapping

    from action.config import RunnerFiles

MAX_ANNOTATIONS = 10  # the runner shows at most 10 errors and 10 warnings per step


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: str, message: str, *, title: str = "", stream: TextIO | None = None) -> None:
    """`::error::` / `::warning::` / `::notice::` with newlines kept (as %0A)."""
    props = f" title={_escape_property(title)}" if title else ""
    print(f"::{level}{props}::{_escape_data(scrub(message))}", file=stream or sys.stdout,
          flush=True)


def start_group(title: str) -> None:
    print(f"::group::{title}", flush=True)


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
