"""`release-action`: the command line, and the one place where errors become exit codes.

    release-action status LOG        replay a log: each lane's state and what comes next
    release-action diagram [LOG]     the state machine as Mermaid, lanes marked from LOG
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from action import logs, runner
from action.errors import ConfigError, ReleaseError
from statemachine import log as eventlog
from statemachine.diagram import mermaid
from statemachine.plan import Reach, Request, plan

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from statemachine.replay import ReleaseState

DEBUG_ENV = "RELEASE_ACTION_DEBUG"


def _read_log(path: Path) -> ReleaseState:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the log {path}: {exc.strerror}",
            hint="Give the path of a state log (a .jsonl asset of the release).",
        ) from None
    return eventlog.load(data).state


def cmd_status(args: argparse.Namespace) -> int:
    state = _read_log(args.log)
    if not state.lanes:
        print(f"{args.log}: an empty log; no lane has started")
        return 0
    print(f"{args.log}: {state.seq} events, head {state.head[:16]}")
    for name, lane in state.lanes.items():
        release = state.release_of(lane)
        where = f", release {release.release_id}" if release else ""
        print(f"lane {name}: {lane.state.value} ({lane.opened.tag}, "
              f"{len(lane.files)} files{where})")
        upcoming = plan(state, Request(lane=name, reach=Reach.AUTO, may_publish=True))
        for step in upcoming.steps[:5]:
            print(f"  next: {step}")
        print(f"  then: {upcoming.stop.message}")
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    lanes = {}
    if args.log is not None:
        state = _read_log(args.log)
        lanes = {name: lane.state for name, lane in state.lanes.items()}
    sys.stdout.write(mermaid(lanes))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="release-action", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="tracebacks and debug logs")
    parser.add_argument("--json-logs", action="store_true", help="log as JSON lines")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="replay a log: each lane's state and what is next")
    status.add_argument("log", type=Path)
    status.set_defaults(func=cmd_status)
    diagram = sub.add_parser("diagram", help="print the state machine as a Mermaid diagram")
    diagram.add_argument("log", type=Path, nargs="?")
    diagram.set_defaults(func=cmd_diagram)
    return parser


def report(error: ReleaseError) -> None:
    """Turn an error into an annotation (on GitHub), a summary line, and stderr text."""
    if runner.on_github():
        runner.annotate("error", str(error), title=error.title)
        runner.append_summary(f"**{error.title}:** {error.message}\n")
    print(f"error: {logs.scrub(str(error))}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV) == "1"
    logs.configure(json=args.json_logs, debug=debug)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ReleaseError as error:
        if debug:
            raise
        report(error)
        return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
