"""The orchestration: load the log, plan, run one step, record its events, plan again.

Nothing here decides what comes next (`statemachine.plan` does) and nothing here touches the
world directly (the steps in `action/steps/` do, through the services). The log is stored per
batch: each batch of side effects is preceded by a snapshot holding its intents, and the
results are stored with the next snapshot, at the latest when the job stops (also when a step
fails; a killed job stores nothing more). A crash at any point is followed by a plan that
checks what is unknown (the draft's assets, the index's files) before doing anything again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from action.errors import LogConflictError, ReleaseError
from action.lane_files import present_files
from action.logs import get_logger
from action.progress import StepStarted
from action.steps import approved, attested, built, drafted, published, tagged
from statemachine.plan import Plan, Request, Step, StepKind, plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from action.job import Job

log = get_logger(__name__)
MAX_STEPS = 500
MAX_CONFLICTS = 20

HANDLERS: dict[StepKind, Callable[[Job, Step], None]] = {
    StepKind.OPEN_LANE: tagged.open_lane,
    StepKind.CREATE_RELEASE: tagged.find_or_create_release,
    StepKind.FIND_RELEASE: tagged.find_or_create_release,
    StepKind.BUILD: built.build_part,
    StepKind.TAKE_IN: built.take_in,
    StepKind.SEAL_BUILT: built.seal_built,
    StepKind.ATTEST: attested.attest,
    StepKind.CHECK_ASSETS: drafted.check_assets,
    StepKind.ATTACH: drafted.attach,
    StepKind.SEAL_DRAFT: drafted.seal_draft,
    StepKind.APPROVE: approved.approve,
    StepKind.CHECK_UPLOADS: published.upload,
    StepKind.UPLOAD: published.upload,
    StepKind.SEAL_INDEX: published.seal_index,
    StepKind.PUBLISH_RELEASE: published.publish_release,
}


def request(job: Job) -> Request:
    """What this job asks of the plan: its lane, how far it goes, what it holds and may do."""
    config = job.config
    return Request(
        lane=config.lane,
        step=config.step,
        parts=config.parts,
        present=tuple(present_files(job)),
        may_publish=job.may_publish(),
        skip_test_index=config.skip_test_pypi,
        approval_environment=config.approval_environment,
        own_release=job.own_release,
    )


def run(job: Job) -> Plan:
    """Run steps until the plan has none left for this job; return the final plan."""
    job.load()
    conflicts = 0
    last: tuple[StepKind, str, int] | None = None
    for _ in range(MAX_STEPS):
        current = plan(job.log.state, request(job))
        step = current.next
        if step is None:
            try:
                job.flush()
            except LogConflictError as conflict:
                conflicts = _reload(job, conflicts, conflict)
                last = None
                continue
            return current
        marker = (step.kind, ",".join(step.names), len(job.log))
        if marker == last:
            if step.kind is StepKind.PUBLISH_RELEASE:
                return Plan((), current.stop)  # the last act is done
            raise ReleaseError(f"step {step} made no progress",
                               hint="This is a bug; please report it with the state log.")
        last = marker
        job.services.progress(StepStarted(kind=step.kind, why=step.why))
        try:
            HANDLERS[step.kind](job, step)
        except LogConflictError as conflict:
            conflicts = _reload(job, conflicts, conflict)
            last = None
        except Exception:
            _store_what_is_known(job)
            raise
    raise ReleaseError(f"more than {MAX_STEPS} steps: giving up",
                       hint="This is a bug; please report it with the state log.")


def _reload(job: Job, conflicts: int, conflict: LogConflictError) -> int:
    """Another run appended first: drop what this one recorded, reload, plan again."""
    conflicts += 1
    if conflicts > MAX_CONFLICTS:
        raise conflict
    log.info("log.conflict", action="reloading and planning again", attempt=conflicts)
    job.load()
    return conflicts


def _store_what_is_known(job: Job) -> None:
    """A step failed: store the results it recorded before failing (best effort)."""
    try:
        job.flush()
    except ReleaseError as problem:
        log.warning("log.not-stored", reason=problem.message,
                    action="the next run checks what this one did")

