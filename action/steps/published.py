"""test-published and published: the approved bytes, from the draft, to Test PyPI then PyPI.

Before anything is uploaded, every file is downloaded from the draft (what the reviewer saw),
checked against the ledger and the signed provenance, and the index is read: a file it holds
with other bytes stops the whole batch before the first upload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import report
from action.attestation.verify import verify_provenance
from action.errors import DigestMismatchError, VerificationError
from action.index import Outcome, project_of
from action.lane_files import fetch_reviewed, verify_draft
from action.logs import get_logger
from action.progress import FileUploaded, Notice
from statemachine.ledger import upload_order
from statemachine.payloads import Published, TestPublished, UploadConfirmed, UploadStarted

if TYPE_CHECKING:
    from pathlib import Path

    from action.job import Job
    from statemachine.plan import Step
    from statemachine.records import FileRef

log = get_logger(__name__)


def _verify_provenance(job: Job, paths: dict[str, Path]) -> None:
    lane = job.lane
    if lane.provenance is None:  # pragma: no cover - the machine requires attested first
        raise VerificationError("the lane has no provenance")
    prov = fetch_reviewed(job, [lane.provenance])[lane.provenance.name]
    bundle = fetch_reviewed(job, [lane.bundle])[lane.bundle.name] if lane.bundle else None
    verdict = verify_provenance(
        prov, paths, public_key_pem=None if bundle else job.services.public_key,
        sigstore_bundle=bundle, expected_workflow=job.config.run.workflow or None,
        expected_repository=lane.opened.repository, expected_commit=lane.opened.commit,
        server_url=job.config.run.server_url,
    )
    if not verdict.ok:
        problems = "; ".join(v.describe() for v in verdict.problems)
        raise VerificationError(f"the provenance does not cover the files: {problems}",
                                hint="Nothing was uploaded.")


def _preflight(job: Job, index_name: str, files: list[FileRef]) -> None:
    """Stop before the first upload if the index holds any of the names with other bytes."""
    index = job.services.indexes(index_name)
    projects = {project_of(f.name) for f in files}
    held: dict[str, str] = {}
    for project in projects:
        held.update(index.files(project))
    for file in files:
        other = held.get(file.name)
        if other and other != file.sha256:
            raise DigestMismatchError(
                file.name, file.sha256, other, where=f"{index_name} ({index.config.simple_url})",
                hint="Nothing was uploaded. An index never replaces a file: release a new "
                "version.",
            )


def upload(job: Job, step: Step) -> None:
    index_name, names = step.names[0], set(step.names[1:])
    lane = job.lane
    files = upload_order([lane.files[n].file for n in names])
    if not files:
        return
    verify_draft(job)
    # The provenance covers every dist of the lane, so all of them are fetched and verified,
    # also when only some are left to upload (a rerun after some were confirmed).
    paths = fetch_reviewed(job, lane.dists())
    _verify_provenance(job, paths)
    _preflight(job, index_name, files)
    record = lane.indexes[index_name]
    intents = [UploadStarted(index=index_name, file=f) for f in files
               if f.name not in record.started]
    if intents:
        job.record_and_flush(lane.name, *intents)
    index = job.services.indexes(index_name)
    attestations = {a.name: a for a in lane.attestations}
    for number, file in enumerate(files, start=1):
        made = attestations.get(f"{file.name}.publish.attestation")
        extra = [fetch_reviewed(job, [made])[made.name]] if made else []
        outcome = index.ensure(paths[file.name], file.sha256, attestations=extra)
        job.services.progress(FileUploaded(index=index_name, name=file.name,
                                           outcome=outcome.value, number=number,
                                           total=len(files)))
        job.record_and_flush(lane.name, UploadConfirmed(index=index_name, file=file,
                                              uploaded=outcome is Outcome.UPLOADED))


def seal_index(job: Job, step: Step) -> None:
    index_name = step.names[0]
    lane = job.lane
    project = project_of(lane.dists()[0].name)
    if index_name == "testpypi":
        if job.config.skip_test_pypi:
            job.record_and_flush(step.lane, TestPublished(skipped=True))
            return
        url = job.services.indexes(index_name).config.project_url(project)
        job.record_and_flush(step.lane, TestPublished(url=url))
        return
    url = job.services.indexes(index_name).config.project_url(project)
    job.record_and_flush(step.lane, Published(url=url))


def publish_release(job: Job, step: Step) -> None:
    """The last act, after the log is final: the draft becomes the published release."""
    store = job.services.store
    release = store.get_release(job.release_ref().release_id)
    if not release.draft:
        log.info("release.already-published", url=release.url, action="nothing to do")
        job.services.progress(Notice(text="the release is already published: nothing to do"))
        job.release = release
        return
    report.update_release_body(job)
    job.release = store.publish(release.release_id)
    log.info("release.published", url=job.release.url, lane=step.lane)
