"""test-published and published: the approved bytes, from the draft, to Test PyPI then PyPI.

Before anything is uploaded, every file is downloaded from the draft (what the reviewer saw,
several at a time), checked against the ledger and the signed provenance, and every index the
lane still uploads to is read once: a file any of them holds with other bytes stops the lane
before the first upload to any (PyPI holding other bytes stops it before Test PyPI gets a
file). The intents are stored, then the index takes the batch (several uploads at a time, one
session) and is read once more to confirm it; a file sent with its PEP 740 attestation (trusted
publishing) is confirmed only when the index's Integrity API names this workflow's publisher.
The results are stored with the next snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import report
from action.attestation.sigstore_env import named_trust_config
from action.attestation.verify import verify_provenance
from action.errors import ApprovalError, DigestMismatchError, ReleaseError, VerificationError
from action.index import Dist, Outcome, project_of
from action.job import utc_text
from action.lane_files import fetch_reviewed, verify_draft
from action.logs import get_logger
from action.progress import FileUploaded, Notice
from action.window import check_window, indexes_of
from statemachine.ledger import upload_order
from statemachine.payloads import (
    Approved,
    Published,
    TestPublished,
    UploadConfirmed,
    UploadStarted,
)

if TYPE_CHECKING:
    from pathlib import Path

    from action.index import PackageIndex
    from action.job import ApprovalRecord, Job
    from action.stores.base import AssetInfo
    from statemachine.events import Event
    from statemachine.plan import Step
    from statemachine.records import FileRef

log = get_logger(__name__)


def _verify_provenance(job: Job, paths: dict[str, Path], signed: dict[str, Path]) -> None:
    lane = job.lane
    if lane.provenance is None:  # pragma: no cover - the machine requires attested first
        raise VerificationError("the lane has no provenance")
    prov = signed[lane.provenance.name]
    bundle = signed[lane.bundle.name] if lane.bundle else None
    verdict = verify_provenance(
        prov, paths, public_key_pem=None if bundle else job.services.public_key,
        sigstore_bundle=bundle, expected_workflow=job.config.run.workflow or None,
        expected_repository=lane.opened.repository, expected_commit=lane.opened.commit,
        server_url=job.config.run.server_url,
        trust_config=named_trust_config(job.services.build_env),
    )
    if not verdict.ok:
        problems = "; ".join(v.describe() for v in verdict.problems)
        raise VerificationError(f"the provenance does not cover the files: {problems}",
                                hint="Nothing was uploaded.")


def _preflight(index: PackageIndex, files: list[FileRef]) -> dict[str, str]:
    """What the index holds (read once); stop before the first upload if it holds any of the
    names with other bytes."""
    projects = {project_of(f.name) for f in files}
    held: dict[str, str] = {}
    for project in projects:
        held.update(index.files(project))
    for file in files:
        other = held.get(file.name)
        if other and other != file.sha256:
            raise DigestMismatchError(
                file.name, file.sha256, other,
                where=f"{index.config.name} ({index.config.simple_url})",
                hint="Nothing was uploaded. An index never replaces a file: release a new "
                "version.",
            )
    return held


def _preflight_all(job: Job, index_name: str, files: list[FileRef]) -> dict[str, str]:
    """`_preflight` of every index the lane still uploads to, this one last; what this one
    holds. An index later in the order holding other bytes stops the lane here, before this
    index (or any) is sent a file that could then never be published everywhere."""
    lane = job.lane
    later = [n for n in indexes_of(job) if n != index_name]
    for name in later:
        pending = [f for f in lane.dists() if f.name not in lane.indexes[name].confirmed]
        if pending:
            _preflight(job.services.indexes(name), pending)
    return _preflight(job.services.indexes(index_name), files)


def check_approval(job: Job) -> None:
    """The lane's approval is one GitHub recorded: the run that recorded it in the log has an
    approval of the environment by that person, at that time, before the event was written.
    The log alone is never taken for it (anyone who can write the release's assets can write
    the log); an opt-out counts only where this job's workflow opts out too."""
    lane, config = job.lane, job.config
    approval = lane.approval
    if approval is None:  # pragma: no cover - the machine requires approved first
        raise ApprovalError("the lane has no approval")
    events = [e for e in job.log.events if e.lane == lane.name and isinstance(e.payload, Approved)]
    recorded = events[-1]
    run = recorded.cause.run_id
    if approval.opted_out:
        if config.require_approval:
            raise ApprovalError(
                f"the log records that run {run} published without review (require-approval: "
                "false), but this job's workflow requires approval",
                hint="Nothing was uploaded. If the workflow opts out on purpose, set "
                "`require-approval: false` in this job too; otherwise start over with a new "
                "tag, approved in the environment's job.")
        return
    found = job.services.approvals.of_run(run, approval.environment)
    if found is None:
        return  # a rehearsal: the local log is its own record
    _check_against_github(approval, recorded, found)


def _check_against_github(approval: Approved, recorded: Event,
                          found: list[ApprovalRecord]) -> None:
    """The approval the log records is one of GitHub's for that run, given before the event."""
    run = recorded.cause.run_id
    said = f"{approval.approver} approved `{approval.environment}` at {approval.approved_at}"
    matching = [r for r in found if r.login == approval.approver
                and (not r.at_known or utc_text(r.at) == approval.approved_at)]
    if not matching:
        seen = ", ".join(sorted({f"{r.login} at {utc_text(r.at)}" if r.at_known else r.login
                                 for r in found})) or "none"
        raise ApprovalError(
            f"the log records that {said} in run {run}, but GitHub's approvals of that run "
            f"say otherwise ({seen}): this approval was not recorded by the action",
            hint=ApprovalError.fix)
    real = min(r.at for r in matching if r.at_known) if any(r.at_known for r in matching) \
        else None
    if real is not None and recorded.at < real.replace(microsecond=0):
        raise ApprovalError(
            f"the log records that {said}, in an event written at {utc_text(recorded.at)}, "
            f"before GitHub recorded that approval ({utc_text(real)}): an approval is "
            "recorded after it is given, so this event was placed there by someone else",
            hint=ApprovalError.fix)


def _attestation(file: FileRef) -> str:
    return f"{file.name}.publish.attestation"


def upload(job: Job, step: Step) -> None:
    index_name, names = step.names[0], set(step.names[1:])
    lane = job.lane
    files = upload_order([lane.files[n].file for n in names])
    if not files:
        return
    check_approval(job)
    listing = job.services.store.list_assets(job.release_ref().release_id)
    paths = _reviewed_and_verified(job, listing)
    index = job.services.indexes(index_name)
    held = _preflight_all(job, index_name, files)
    check_window(job, lane.opened.version, doing=f"before uploading anything to {index_name}",
                 pending={index_name: [f.name for f in files if f.name not in held]})
    record = lane.indexes[index_name]
    intents = [UploadStarted(index=index_name, file=f) for f in files
               if f.name not in record.started]
    if intents:
        job.record_and_flush(lane.name, *intents)
    batch = _batch(job, files, paths, listing)
    _note_outcomes(job, index_name, index, files, batch, index.publish(batch, held=held))


def _reviewed_and_verified(job: Job, listing: list[AssetInfo]) -> dict[str, Path]:
    """Every dist of the lane from the draft, checked against the ledger and the provenance.

    The provenance covers every dist of the lane, so all of them are fetched and verified,
    also when only some are left to upload (a rerun after some were confirmed)."""
    lane = job.lane
    verify_draft(job, listing)
    paths = fetch_reviewed(job, lane.dists(), listing)
    signed_files = [f for f in (lane.provenance, lane.bundle) if f is not None]
    _verify_provenance(job, paths, fetch_reviewed(job, signed_files, listing))
    return paths


def _batch(job: Job, files: list[FileRef], paths: dict[str, Path],
           listing: list[AssetInfo]) -> list[Dist]:
    """The files to upload, each with its PEP 740 attestation where the lane made one."""
    made = {a.name: a for a in job.lane.attestations}
    wanted = [made[_attestation(f)] for f in files if _attestation(f) in made]
    attestations = fetch_reviewed(job, wanted, listing)
    return [Dist(paths[f.name], f.sha256,
                 (attestations[_attestation(f)],) if _attestation(f) in attestations else ())
            for f in files]


def _note_outcomes(  # noqa: PLR0917 - one upload batch's parts, in order
    job: Job, index_name: str, index: PackageIndex, files: list[FileRef], batch: list[Dist],
    outcomes: list[Outcome | ReleaseError],
) -> None:
    """Note each confirmed upload (attested ones once the index names our publisher); the
    first failure is raised after every success is noted."""
    failure = None
    for number, (file, dist, outcome) in enumerate(zip(files, batch, outcomes, strict=True),
                                                  start=1):
        if not isinstance(outcome, Exception) and dist.attestations:
            outcome = _provenance_confirmed(index, dist, outcome)
        if isinstance(outcome, Exception):
            failure = failure or outcome
            continue
        job.services.progress(FileUploaded(index=index_name, name=file.name,
                                           outcome=outcome.value, number=number,
                                           total=len(files)))
        job.note(job.lane.name, UploadConfirmed(index=index_name, file=file,
                                                uploaded=outcome is Outcome.UPLOADED))
    if failure is not None:
        raise failure


def _provenance_confirmed(index: PackageIndex, dist: Dist,
                          outcome: Outcome) -> Outcome | ReleaseError:
    """A file sent with its attestation counts as uploaded once the index's Integrity API
    holds its provenance from this workflow's publisher (trusted publishing only)."""
    try:
        index.confirm_provenance(dist.path)
    except ReleaseError as problem:
        return problem
    return outcome


def seal_index(job: Job, step: Step) -> None:
    index_name = step.names[0]
    lane = job.lane
    project = project_of(lane.dists()[0].name)
    if index_name == "testpypi":
        if job.config.skip_test_pypi:
            job.note(step.lane, TestPublished(skipped=True))
            return
        _confirm_release(job, index_name, project)
        url = job.services.indexes(index_name).config.project_url(project)
        job.note(step.lane, TestPublished(url=url))
        return
    _confirm_release(job, index_name, project)
    url = job.services.indexes(index_name).config.project_url(project)
    job.note(step.lane, Published(url=url))


def _confirm_release(job: Job, index_name: str, project: str) -> None:
    """After the last upload: the index's release is exactly what the lanes of this version
    uploaded there (this lane's approved files among them), read from its JSON API."""
    lane = job.lane
    expected: dict[str, str] = {}
    for other in job.log.state.lanes.values():
        if other.opened.version == lane.opened.version:
            expected.update({n: f.sha256 for n, f in other.indexes[index_name].confirmed.items()})
    expected.update({f.name: f.sha256 for f in lane.dists()})
    index = job.services.indexes(index_name)
    if index.confirm_release(project, lane.opened.version, expected):
        job.services.progress(Notice(text=f"{index_name}: the release holds exactly the "
                                          f"{len(expected)} approved files"))
    else:
        log.info("index.no-json-api", index=index_name,
                 confirmed="each file through the simple API, at its upload")


def publish_release(job: Job, step: Step) -> None:
    """The last act, after the log is final: the draft becomes the published release."""
    job.flush()  # an immutable release takes no snapshot once it is published
    store = job.services.store
    release = job.release  # as the job read it when it loaded the log
    if release is None or release.release_id != job.release_ref().release_id:
        release = store.get_release(job.release_ref().release_id)
    if not release.draft:
        log.info("release.already-published", url=release.url, action="nothing to do")
        job.services.progress(Notice(text="the release is already published: nothing to do"))
        job.release = release
        return
    job.release = store.publish(release.release_id, read=release,
                                body=report.release_body(job.log.state, job.config))
    log.info("release.published", url=job.release.url, lane=step.lane)
