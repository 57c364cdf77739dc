"""structlog set-up: one event per line, secrets masked, JSON on request.

Every secret the action learns (tokens, keys) is registered with `mask()`: it is announced to
the runner with `::add-mask::` (each line separately) and replaced by `***` in every log event.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from action.output import command, escape_data

if TYPE_CHECKING:
    from collections.abc import Iterator, MutableMapping

_SECRETS: set[str] = set()
_RUNNER = {"listens": True}  # off during a rehearsal: no runner reads workflow commands


def mask(secret: str, *, stream: TextIO | None = None) -> None:
    """Never show `secret`: tell the runner to mask it and scrub it from our own logs."""
    for line in secret.splitlines() or [secret]:
        line = line.strip()
        if len(line) >= 4 and line not in _SECRETS:  # noqa: PLR2004 - shorter values mask too much
            _SECRETS.add(line)
            if _RUNNER["listens"]:  # a rehearsal has no runner to tell
                print(command("add-mask", line), file=stream or sys.stdout, flush=True)


@contextlib.contextmanager
def no_runner() -> Iterator[None]:
    """While it lasts, secrets are masked in our logs but not announced with ::add-mask::."""
    before = _RUNNER["listens"]
    _RUNNER["listens"] = False
    try:
        yield
    finally:
        _RUNNER["listens"] = before


def scrub(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _scrub_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = scrub(value)
        elif value is not None and not isinstance(value, (int, float, bool)):
            event_dict[key] = scrub(str(value))
    return event_dict


def _one_runner_line(_logger: Any, _name: str, rendered: Any) -> str:
    """A rendered console line (the renderer's str) the runner can neither split nor obey."""
    return escape_data(str(rendered))


def configure(
    *, json: bool = False, debug: bool = False, quiet: bool = False, runner: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Set up structlog once per process: console lines for people, or JSON lines.

    `runner`: a GitHub runner reads the lines, so each is escaped (`action/output.py`); JSON
    lines need nothing more, JSON escapes CR and LF itself.
    """
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json
        else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _scrub_processor,
            renderer,
            *([_one_runner_line] if runner and not json else []),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(10 if debug else 30 if quiet else 20),
        # sys.stderr is looked up per logger, not bound once: tests and the runner swap it.
        logger_factory=lambda *_: structlog.PrintLogger(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
