"""`release-action`: the command line, and the one place where errors become exit codes.

    release-action run               the action, as the GitHub runner starts it
    release-action rehearse DIR      a whole release of a project, on this machine only
    release-action status LOG        replay a log: each lane's state and what comes next
    release-action verify DIR --repository OWNER/NAME --commit SHA [--public-key PEM]
                                     check provenance against the files next to it
    release-action diagram [LOG]     the state machine as Mermaid, lanes marked from LOG
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from action import logs, runner
from action.config import RunnerFiles, debug_requested, on_github, read_environment
from action.errors import ConfigError, LogError, ReleaseError, VerificationError
from action.output import emit
from statemachine import log as eventlog
from statemachine.diagram import mermaid
from statemachine.plan import Request, StepInput, plan
from statemachine.states import State

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from action.attestation.statement import ProvenanceClaims
    from action.attestation.verify import FileVerdict
    from statemachine.replay import LaneState, ReleaseState

def _read_log(path: Path) -> ReleaseState:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the log {path}: {exc.strerror}",
            hint="Give the path of a state log (a .jsonl asset of the release).",
        ) from None
    try:
        return eventlog.load(data).state
    except LogError as exc:
        raise LogError(exc.line, exc.problem, hint=exc.hint,
                       source=f"the state log {path}") from None


def cmd_status(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    state = _read_log(args.log)

    def show(text: str) -> None:  # the log is data from a release anyone may have written
        emit(text, runner=on_github(env))

    if not state.lanes:
        show(f"{args.log}: an empty log; no lane has started")
        return 0
    show(f"{args.log}: {state.seq} events, head {state.head[:16]}")
    for name, lane in state.lanes.items():
        release = state.release_of(lane)
        where = f", release {release.release_id}" if release else ""
        show(f"lane {name}: {lane.state.value} ({lane.opened.tag}, "
             f"{len(lane.files)} files{where})")
        if lane.state is State.PUBLISHED:
            show(f"  done: {lane.opened.version} is published{_where_published(lane)}; "
                 "nothing is left to do in this lane")
            continue
        for problem in _unfinished(lane):
            show(f"  failed or interrupted: {problem}")
        upcoming = plan(state, Request(lane=name, step=StepInput.AUTO, may_publish=True))
        for step in upcoming.steps[:5]:
            show(f"  next: {step}")
        show(f"  then: {upcoming.stop.message}")
    return 0


def _where_published(lane: LaneState) -> str:
    return " on PyPI" if lane.test_skipped else " on Test PyPI and PyPI"


def _unfinished(lane: LaneState) -> list[str]:
    """What was begun and never finished: the last step that failed (or was cut short)."""
    found = [f"the build of {part} started and did not finish (the run's log says why)"
             for part in lane.unfinished_parts()]
    found += [f"uploading {name} to the release started and was not confirmed"
              for name in lane.unknown_assets()]
    for index, record in lane.indexes.items():
        found += [f"uploading {name} to {index} started and was not confirmed"
                  for name in record.unknown()]
    return found


def cmd_diagram(args: argparse.Namespace, _env: Mapping[str, str]) -> int:
    lanes = {}
    if args.log is not None:
        state = _read_log(args.log)
        lanes = {name: lane.state for name, lane in state.lanes.items()}
    sys.stdout.write(mermaid(lanes))
    return 0


def cmd_run(_args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from action.github_run import run_action  # noqa: PLC0415 - heavy

    return run_action(env)


def cmd_rehearse(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from action.rehearse import Rehearsal, rehearse  # noqa: PLC0415 - heavy

    where = args.project.resolve()
    project = (where / args.project_dir).resolve() if args.project_dir else where
    workdir = (args.workdir or Path(".rehearsal") / project.name).resolve()
    rehearsal = Rehearsal(project=project, workdir=workdir, tag=args.tag, approve=args.approve,
                          interactive=not args.approve,
                          repository=where if args.project_dir else None,
                          docker=not args.no_docker, keyless=args.keyless,
                          color=sys.stdout.isatty())

    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return rehearse(rehearsal, out, env)


def _download_release(tag: str, dest: Path, env: Mapping[str, str]) -> Path:
    """Every file of the release of `tag` and of its backfill drafts (GITHUB_API_URL,
    GITHUB_TOKEN, GITHUB_REPOSITORY)."""
    from action.github.store import open_github_store  # noqa: PLC0415 - heavy

    store = open_github_store(api_url=env.get("GITHUB_API_URL", "https://api.github.com"),
                              token=env.get("GITHUB_TOKEN", ""),
                              repository=env.get("GITHUB_REPOSITORY", ""))
    with store:
        release = store.find_release(tag)
        if release is None:
            raise ConfigError(f"no release of {tag} in {store.repository}")
        # A backfill lane of an immutable release keeps its files and provenance in its own
        # draft; they are part of what was released, so verify reads them too.
        taken: set[str] = set()
        for source in (release, *store.backfill_drafts(tag)):
            wanted = [a for a in store.list_assets(source.release_id)
                      if a.complete and a.name not in taken and a.name.endswith(
                          (".whl", ".tar.gz", ".intoto.jsonl", ".sigstore.json"))]
            store.download_assets(source.release_id, wanted, dest)
            taken.update(a.name for a in wanted)
    return dest


def cmd_verify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from action.attestation.verify import verify_provenance  # noqa: PLC0415

    runner = on_github(env)  # names and signers come from the files: printed escaped
    if args.release:
        folder = _download_release(args.release, Path(tempfile.mkdtemp(prefix="verify-")), env)
    elif args.directory is not None:
        folder = args.directory
    else:
        raise ConfigError("verify needs a directory or --release TAG")
    provenance = sorted(folder.glob("*.intoto.jsonl"))
    if not provenance:
        raise ConfigError(f"no *.intoto.jsonl provenance in {folder}")
    key = args.public_key.read_text(encoding="utf-8") if args.public_key else None
    files = {p.name: p for p in folder.iterdir()
             if p.is_file() and p.name.endswith((".whl", ".tar.gz"))}
    verdicts: dict[str, list[FileVerdict]] = {name: [] for name in files}
    claims: list[ProvenanceClaims] = []
    for path in provenance:
        bundle = path.with_name(path.name.replace(".intoto.jsonl", ".intoto.sigstore.json"))
        verdict = verify_provenance(
            path, files, public_key_pem=key,
            sigstore_bundle=bundle if key is None and bundle.exists() else None,
            expected_repository=args.repository, expected_commit=args.commit,
            expected_workflow=args.workflow, trust_config=args.trust_config)
        emit(f"{path.name}: signed by {verdict.signer}", runner=runner)
        claims += verdict.claims
        for file in verdict.files:
            verdicts.setdefault(file.name, []).append(file)
    ok = _file_verdicts(verdicts, claims, runner=runner)
    emit("verdict: " + ("every file verified" if ok else "FAILED"), runner=runner)
    return 0 if ok else VerificationError.exit_code


def _file_verdicts(verdicts: Mapping[str, Sequence[FileVerdict]],
                   claims: Sequence[ProvenanceClaims], *, runner: bool) -> bool:
    """One line per file, then one per wheel-source sdist that is not a verified file; True
    if every file verified and every wheel's sdist is among them."""
    from action.attestation.verify import FileStatus, wheel_source_mismatches  # noqa: PLC0415

    ok = True
    verified: dict[str, str] = {}
    for name, seen in sorted(verdicts.items()):
        # A release with backfill lanes has one provenance per lane: a file is verified when
        # one of them covers it and none disagrees with its bytes.
        bad = [v for v in seen if v.status in {FileStatus.DIGEST_MISMATCH, FileStatus.MISSING}]
        good = next((v for v in seen if v.ok), None)
        verdict_ok = good is not None and not bad
        ok = ok and verdict_ok
        if verdict_ok and good is not None and good.actual is not None:
            verified[name] = good.actual
        shown = bad[0] if bad else good
        text = shown.describe() if shown else f"{name}: not covered by any provenance"
        emit(f"  {'ok  ' if verdict_ok else 'FAIL'} {text}", runner=runner)
    # A wheel built from sdist X is verified only with X itself: same name, same bytes.
    mismatches = wheel_source_mismatches(claims, verified)
    for mismatch in mismatches:
        emit(f"  FAIL {mismatch.describe()}", runner=runner)
    return ok and not mismatches


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="release-action", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="tracebacks and debug logs")
    parser.add_argument("--json-logs", action="store_true", help="log as JSON lines")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="replay a log: each lane's state and what is next")
    status.add_argument("log", type=Path)
    status.set_defaults(func=cmd_status)
    run = sub.add_parser("run", help="run the action (reads INPUT_* and GITHUB_*)")
    run.set_defaults(func=cmd_run)
    _add_rehearse(sub)
    _add_verify(sub)
    diagram = sub.add_parser("diagram", help="print the state machine as a Mermaid diagram")
    diagram.add_argument("log", type=Path, nargs="?")
    diagram.set_defaults(func=cmd_diagram)
    return parser


def _add_rehearse(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rehearse = sub.add_parser("rehearse", help="rehearse a whole release on this machine")
    rehearse.add_argument("project", type=Path, nargs="?", default=Path(),
                          help="the project's directory, or its repository's with "
                          "--project-dir (default: the current directory)")
    rehearse.add_argument("--project-dir", type=Path,
                          help="the project's folder inside the repository (pyproject.toml)")
    rehearse.add_argument("--tag", help="the git tag to rehearse (default: the version tag "
                          "on HEAD)")
    rehearse.add_argument("--workdir", type=Path, help="where the rehearsal keeps its state")
    rehearse.add_argument("--approve", action="store_true", help="approve without asking")
    rehearse.add_argument("--keyless", action="store_true",
                          help="sign as on GitHub, through a local Sigstore instance (from a "
                          "checkout, with node and `npm ci` in tests/sigstore)")
    rehearse.add_argument("--verbose", action="store_true", help="show every log line")
    rehearse.add_argument("--no-docker", action="store_true",
                          help="build only what needs no Docker engine (./dev passes it when "
                          "the engine cannot be set up)")
    rehearse.set_defaults(func=cmd_rehearse)


def _add_verify(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser("verify", help="verify provenance against the files beside it")
    verify.add_argument("directory", type=Path, nargs="?", help="files and their provenance")
    verify.add_argument("--release", metavar="TAG",
                        help="download the release of TAG (GITHUB_API_URL, GITHUB_REPOSITORY, "
                        "GITHUB_TOKEN) and verify it")
    verify.add_argument("--public-key", type=Path, metavar="PEM",
                        help="PEM public key (key-signed provenance)")
    verify.add_argument("--repository", required=True, metavar="OWNER/NAME",
                        help="owner/name the release is from")
    verify.add_argument("--commit", required=True, metavar="SHA", help="the tag's commit")
    verify.add_argument("--workflow", help="keyless: the workflow path that signed, e.g. "
                        ".github/workflows/release.yml")
    verify.add_argument("--trust-config", type=Path, metavar="FILE",
                        help="keyless: the Sigstore ClientTrustConfig to verify with (a private "
                        "instance, or a rehearsal's); default: Sigstore's public-good roots")
    verify.set_defaults(func=cmd_verify)


def report_error(error: ReleaseError, files: RunnerFiles) -> None:
    """Turn an error into an annotation (on GitHub), a summary line, and stderr text."""
    if files.on_github:
        runner.annotate("error", str(error), title=error.title)
        runner.append_summary(
            files,
            f"**{error.title}:** {error.message}\n\n"
            + (f"{error.hint}\n\n" if error.hint else "")
            + "**Next:** fix the cause, then re-run this workflow or dispatch it with this tag: "
            "it resumes from the state log in the release.\n"
        )
    emit(f"error: {logs.scrub(str(error))}", runner=files.on_github, stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = read_environment()
    debug = args.debug or debug_requested(env, command=args.command)
    quiet = args.command == "rehearse" and not args.verbose
    logs.configure(json=args.json_logs, debug=debug, quiet=quiet, runner=on_github(env))
    func: Callable[[argparse.Namespace, Mapping[str, str]], int] = args.func
    try:
        return func(args, env)
    except ReleaseError as error:
        if debug:
            raise
        report_error(error, RunnerFiles.from_env(env))
        return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
