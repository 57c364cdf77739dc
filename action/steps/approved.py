"""approved: who approved the approval environment, when, and the manifest they approved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from action.errors import ReleaseError
from action.job import utc_text
from action.lane_files import verify_draft
from action.logs import get_logger
from statemachine.payloads import Approved

if TYPE_CHECKING:
    from action.job import Job
    from statemachine.plan import Step

log = get_logger(__name__)


def approve(job: Job, step: Step) -> None:
    config, lane = job.config, job.lane
    verify_draft(job)  # what is approved is what the draft holds now
    environment = config.approval_environment
    records = [a for a in job.services.approvals.approvals(environment)
               if environment in a.environments]
    if records:
        latest = max(records, key=lambda a: a.at)
        payload = Approved(approver=latest.login, approved_at=utc_text(latest.at),
                           environment=environment, manifest=lane.drafted_manifest,
                           comment=latest.comment)
    elif not config.require_approval:
        log.warning("approval.opted-out", environment=environment, actor=config.run.actor)
        payload = Approved(approver=config.run.actor, approved_at=utc_text(job.services.clock()),
                           environment=environment, manifest=lane.drafted_manifest,
                           comment="no review: the workflow set require-approval: false",
                           opted_out=True)
    else:
        raise ReleaseError(
            f"no approval of the `{environment}` environment is recorded for run "
            f"{config.run.run_id}: nothing is published without one",
            hint=f"Protect the `{environment}` environment with required reviewers "
            "(Settings > Environments) and run this step in a job with "
            f"`environment: {environment}`; or set `require-approval: false` to opt out "
            "(recorded as such).",
        )
    job.note(step.lane, payload)
