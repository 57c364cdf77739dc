"""The one output layer: every text the action prints passes through here first.

The GitHub runner reads workflow commands (`::name::data`) from a job's stdout and stderr and
splits lines on LF and on CR, so any text that came from outside (a tag, a file name, a log, a
tool's output) could start a line of its own and become a command. On the runner every text is
therefore escaped as the runner escapes command data (`%` -> %25, CR -> %0D, LF -> %0A), and the
output of programs we do not control (builds run the project's and its dependencies' code) is
wrapped in `::stop-commands::<random token>` ... `::<token>::`, under which the runner reads no
command at all. On a terminal nothing reads commands, but a CR or an escape sequence could still
hide what came before it: control characters other than LF and TAB are shown as `\\xNN`.
"""

from __future__ import annotations

import re
import secrets
import sys
from typing import TextIO

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_data(text: str) -> str:
    """`text` as the data of a workflow command, or as a line the runner must not split."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """`text` as a property value (`title=...`) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def for_terminal(text: str) -> str:
    """`text` with every control character but LF and TAB made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe(text: str, *, runner: bool) -> str:
    """One line of output: escaped for the runner when one reads it, else for a terminal."""
    return escape_data(text) if runner else for_terminal(text)


def command(name: str, data: str = "", **properties: str) -> str:
    """`::name k=v,...::data`, every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items()
                     if value)
    return f"::{name}{' ' + props if props else ''}::{escape_data(data)}"


def emit(text: str, *, runner: bool, stream: TextIO | None = None) -> None:
    """Print one line (see `safe`) and flush."""
    print(safe(text, runner=runner), file=stream or sys.stdout, flush=True)


def untrusted(title: str, text: str, *, stream: TextIO | None = None) -> str:
    """Show a program's output on the runner, folded, with workflow commands switched off.

    Returns the token used, so that a test can check that nothing in `text` could end it.
    """
    token = secrets.token_hex(16)
    while token in text:  # pragma: no cover - 128 random bits
        token = secrets.token_hex(16)
    out = stream or sys.stderr
    out.write(f"{command('group', title)}\n{command('stop-commands', token)}\n"
              f"{text.rstrip()}\n::{token}::\n::endgroup::\n")
    out.flush()
    return token
