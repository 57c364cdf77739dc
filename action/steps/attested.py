"""attested: signed SLSA provenance over the exact bytes recorded in the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from action.attestation.signers import sign_provenance
from action.attestation.statement import (
    BuilderImage,
    RunDetails,
    Subject,
    WheelSource,
    build_statement,
)
from action.lane_files import fetch_reviewed, file_ref, files_dir, local_copy, verify_local
from statemachine.payloads import Attested

if TYPE_CHECKING:
    from action.job import Job
    from statemachine.plan import Step
    from statemachine.records import FileRef


def attest(job: Job, step: Step) -> None:
    lane = job.lane
    verify_local(job)
    config, opened = job.config, lane.opened
    subjects = [Subject(name=f.name, sha256=f.sha256) for f in lane.dists()]
    images = sorted({BuilderImage(name=name, digest=digest)
                     for part in lane.parts.values() for name, digest in part.images},
                    key=lambda i: i.name)
    run = RunDetails(
        server_url=config.run.server_url, repository=opened.repository, commit=opened.commit,
        tag=opened.tag, run_id=config.run.run_id, run_attempt=config.run.run_attempt,
        workflow=config.run.workflow, event=config.run.event, lane=lane.name,
        started_on=job.services.clock(), python=opened.python,
    )
    signer = job.services.signer()
    statement = build_statement(subjects, run, images, wheel_sources(job))
    files = sign_provenance(signer, statement, files_dir(job), lane.name)
    bundle = file_ref(files.bundle) if files.bundle else None
    job.note(step.lane, Attested(provenance=file_ref(files.provenance),
                                   signer=signer.description, bundle=bundle,
                                   attestations=publish_attestations(job)))


def wheel_sources(job: Job) -> list[WheelSource]:
    """The sdists the lane's wheel parts were built from, each with the parts it made."""
    parts: dict[tuple[str, str], list[str]] = {}
    for part in job.lane.parts.values():
        if part.source is not None:
            parts.setdefault((part.source.name, part.source.sha256), []).append(part.name)
    return [WheelSource(Subject(name, sha256), tuple(names))
            for (name, sha256), names in sorted(parts.items())]


def publish_attestations(job: Job) -> tuple[FileRef, ...]:
    """One PEP 740 attestation per dist, made once here and reused for Test PyPI and PyPI."""
    attester = job.services.attester
    if attester is None:
        return ()
    dists = job.lane.dists()
    local = {f.name: local_copy(job, f) for f in dists}
    missing = [f for f in dists if local[f.name] is None]
    local.update(fetch_reviewed(job, missing))
    return tuple(file_ref(path) for path in attester([p for p in local.values() if p]))
