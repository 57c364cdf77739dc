"""attested: signed SLSA provenance over the exact bytes recorded in the ledger.

Keyless, the provenance's Sigstore bundle is also stored in GitHub's attestations API, so that
`gh attestation verify <file> -R owner/repo` finds it. That API takes at most 1024 subjects per
attestation: a lane with more files gets the statement signed again in parts of at most 1024
subjects, each stored as its own attestation (the provenance file keeps the whole statement).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

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
    from collections.abc import Sequence

    from action.attestation.signers import ProvenanceSigner
    from action.job import Job
    from statemachine.plan import Step
    from statemachine.records import FileRef

GITHUB_SUBJECT_LIMIT: Final = 1024


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
    record = job.services.record_attestation
    if files.bundle is not None and record is not None:
        for part in github_bundles(signer, files.bundle.read_text(encoding="utf-8"),
                                   subjects, run, images):
            record(json.loads(part))
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


def github_bundles(signer: ProvenanceSigner, bundle_json: str, subjects: Sequence[Subject],
                   run: RunDetails, images: Sequence[BuilderImage]) -> list[str]:
    """The bundles to store in GitHub's attestations API: the provenance's own, or, beyond
    GitHub's subject limit, the statement signed again in parts of at most 1024 subjects."""
    if len(subjects) <= GITHUB_SUBJECT_LIMIT:
        return [bundle_json]
    parts = [subjects[at:at + GITHUB_SUBJECT_LIMIT]
             for at in range(0, len(subjects), GITHUB_SUBJECT_LIMIT)]
    signed = [signer.sign(build_statement(list(part), run, list(images))) for part in parts]
    return [s.bundle_json for s in signed if s.bundle_json is not None]
