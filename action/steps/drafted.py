"""drafted: every file of the lane attached to the draft, and a body a reviewer can use.

Attaching is one batch: the draft's assets are listed once, files already there with the
recorded bytes are taken as attached, and the rest go up several at a time. The intents are
stored before the batch when it holds dists (their bytes exist once: a rerun must know they
may be on the draft); the results are stored with the next snapshot. A batch of signed files
only (the provenance, its bundle, the publish attestations) stores no snapshot of its own:
those files are made again by a rerun that does not find them recorded, and an asset under
their name that the log never began to attach is such a run's leftover, and is replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import report
from action.errors import DigestMismatchError, ReleaseError
from action.lane_files import asset_digest, local_copy, verify_draft
from action.logs import get_logger
from statemachine.ledger import is_sdist, is_wheel
from statemachine.payloads import AssetUploaded, AssetUploadStarted, Drafted

if TYPE_CHECKING:
    from pathlib import Path

    from action.job import Job
    from action.stores.base import AssetInfo
    from statemachine.plan import Step
    from statemachine.records import FileRef

log = get_logger(__name__)


def _is_dist(file: FileRef) -> bool:
    return is_wheel(file.name) or is_sdist(file.name)


def _present(job: Job, release_id: int, file: FileRef, asset: AssetInfo, *,
             leftover: bool) -> bool:
    """Whether the draft already holds the file's bytes; a cut-off upload or a leftover signed
    file is removed. Other bytes under a name the log knows stop everything."""
    if asset.complete:
        actual = asset_digest(job, release_id, asset)
        if actual == file.sha256:
            log.info("asset.already-attached", file=file.name)
            return True
        if not leftover:
            raise DigestMismatchError(file.name, file.sha256, actual, where="the release asset")
        log.info("asset.leftover", file=file.name, action="replacing a signed file that an "
                 "earlier run attached but never recorded")
    else:
        log.info("asset.cut-off", file=file.name, action="deleting and uploading again")
    job.services.store.delete_asset(release_id, asset)
    return False


def _local(job: Job, file: FileRef) -> Path:
    path = local_copy(job, file)
    if path is None:
        raise ReleaseError(
            f"{file.name} is in the ledger but neither attached to the release nor in this "
            "job's dist directory",
            hint="Hand the file to this job (download the build job's artifact into the dist "
            "directory) and re-dispatch; it is checked against the recorded digest.",
        )
    return path


def attach(job: Job, step: Step) -> None:
    """Attach the lane's files (also those an earlier run began to attach): checked by digest."""
    lane, store = job.lane, job.services.store
    release_id = job.release_ref().release_id
    wanted = lane.missing_assets()
    if step.names:
        wanted = [f for f in wanted if f.name in step.names]
    if not wanted:
        return
    existing = {a.name: a for a in store.list_assets(release_id)}
    new = [f for f in wanted if f.name not in lane.assets_started]
    leftovers = {f.name for f in new if not _is_dist(f)}
    intents = [AssetUploadStarted(file=f) for f in new]
    if any(_is_dist(f) for f in new):
        job.record_and_flush(lane.name, *intents)
    else:
        job.note(lane.name, *intents)
    attached: dict[str, int] = {}
    for file in wanted:
        asset = existing.get(file.name)
        if asset is not None and _present(job, release_id, file, asset,
                                          leftover=file.name in leftovers):
            attached[file.name] = asset.asset_id
    todo = [f for f in wanted if f.name not in attached]
    outcomes = store.attach_files(release_id, [_local(job, f) for f in todo])
    failure = next((o for o in outcomes if isinstance(o, Exception)), None)
    attached.update({f.name: o.asset_id for f, o in zip(todo, outcomes, strict=True)
                     if not isinstance(o, Exception)})
    job.note(lane.name, *[AssetUploaded(file=f, asset_id=attached[f.name])
                          for f in wanted if f.name in attached])
    if failure is not None:
        raise failure


check_assets = attach


def seal_draft(job: Job, step: Step) -> None:
    verify_draft(job)
    job.note(step.lane, Drafted(manifest=job.lane.manifest()))
    report.update_release_body(job)
