"""tagged: open the lane from the tag, and find or create the draft release that holds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import report
from action.logs import get_logger
from action.progress import Notice
from action.stores.base import backfill_name
from action.tags import tag_version
from action.window import check_window
from statemachine.payloads import LaneOpened, ReleaseRecorded, ReleaseRequested

if TYPE_CHECKING:
    from action.job import Job
    from action.stores.base import ReleaseInfo
    from statemachine.plan import Step

log = get_logger(__name__)


def open_lane(job: Job, step: Step) -> None:
    config = job.config
    info = job.services.tags.resolve(config.tag)
    if job.own_release:
        message = (
            f"the release of {config.tag} is published and immutable: it can take no more "
            f"files, so backfill lane {step.lane!r} keeps its wheels, provenance and log in a "
            f"separate draft, '{backfill_name(config.tag, step.lane)}', which stays a draft; "
            "the wheels still go to Test PyPI and PyPI"
        )
        log.warning("release.immutable", lane=step.lane, plan=message)
        job.services.progress(Notice(text=message))
    check_window(job, str(tag_version(config.tag)), doing="before the lane built anything")
    job.note(step.lane, LaneOpened(
        tag=config.tag, version=str(tag_version(config.tag)), commit=info.commit,
        repository=config.run.repository, source_date_epoch=info.epoch, python=config.python,
    ))


def find_or_create_release(job: Job, step: Step) -> None:
    """Exactly one draft per tag: look for it (list the releases), create it only if absent."""
    store = job.services.store
    lane = job.lane
    if not lane.release_requested:
        job.note(step.lane, ReleaseRequested(tag=lane.opened.tag))
    if lane.is_backfill and job.own_release:
        backfill: ReleaseInfo = store.ensure_backfill_draft(
            lane.opened.tag, lane.name, commit=lane.opened.commit,
            body=report.release_body(job.log.state, job.config))
        job.move_to(backfill)
        job.note(step.lane, ReleaseRecorded(release_id=backfill.release_id,
                                                        url=backfill.url))
        return
    release = job.release  # what the job found when it loaded the log (listing releases)
    if release is None:
        release = store.create_draft(
            lane.opened.tag, commit=lane.opened.commit, name=lane.opened.tag,
            body=report.release_body(job.log.state, job.config),
        )
        log.info("release.created", release_id=release.release_id, url=release.url)
    else:
        log.info("release.found", release_id=release.release_id, draft=release.draft)
    job.release = release
    job.note(step.lane, ReleaseRecorded(release_id=release.release_id,
                                                    url=release.url))
