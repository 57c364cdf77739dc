"""drafted: every file of the lane attached to the draft, and a body a reviewer can use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import report
from action.errors import DigestMismatchError, ReleaseError
from action.lane_files import asset_digest, local_copy, verify_draft
from action.logs import get_logger
from statemachine.payloads import AssetUploaded, AssetUploadStarted, Drafted

if TYPE_CHECKING:
    from action.job import Job
    from action.stores.base import AssetInfo
    from statemachine.plan import Step
    from statemachine.records import FileRef

log = get_logger(__name__)


def _attach_one(job: Job, release_id: int, file: FileRef, existing: AssetInfo | None) -> int:
    store = job.services.store
    if existing is not None and existing.complete:
        actual = asset_digest(job, release_id, existing)
        if actual != file.sha256:
            raise DigestMismatchError(file.name, file.sha256, actual, where="the release asset")
        log.info("asset.already-attached", file=file.name)
        return existing.asset_id
    if existing is not None:
        log.info("asset.cut-off", file=file.name, action="deleting and uploading again")
        store.delete_asset(release_id, existing)
    path = local_copy(job, file)
    if path is None:
        raise ReleaseError(
            f"{file.name} is in the ledger but neither attached to the release nor in this "
            "job's dist directory",
            hint="Hand the file to this job (download the build job's artifact into the dist "
            "directory) and re-dispatch; it is checked against the recorded digest.",
        )
    return store.upload_asset(release_id, path, name=file.name).asset_id


def attach(job: Job, step: Step) -> None:
    """Attach the lane's files (also those an earlier run began to attach): checked by digest."""
    lane = job.lane
    release_id = job.release_ref().release_id
    wanted = lane.missing_assets()
    if step.names:
        wanted = [f for f in wanted if f.name in step.names]
    if not wanted:
        return
    new = [AssetUploadStarted(file=f) for f in wanted if f.name not in lane.assets_started]
    if new:
        job.record_and_flush(lane.name, *new)
    existing = {a.name: a for a in job.services.store.list_assets(release_id)}
    for file in wanted:
        asset_id = _attach_one(job, release_id, file, existing.get(file.name))
        job.record_and_flush(lane.name, AssetUploaded(file=file, asset_id=asset_id))


check_assets = attach


def seal_draft(job: Job, step: Step) -> None:
    verify_draft(job)
    job.record_and_flush(step.lane, Drafted(manifest=job.lane.manifest()))
    report.update_release_body(job)
