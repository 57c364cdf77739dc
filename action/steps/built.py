"""built: build this job's parts, take in files from other jobs, and pass the completeness gate.

Every file is checked before it enters the ledger (its version is the tag's, `twine check
--strict`), recorded with its sha256, and from then on verified against that record.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from action import intake
from action.builders.checks import check_dist
from action.builders.identifiers import compare_identifiers
from action.builders.sdist import build_pure_wheel, build_sdist
from action.builders.wheels import build_wheels, expected_identifiers
from action.errors import BuildError
from action.lane_files import (
    digest_of,
    fetch_reviewed,
    file_ref,
    files_dir,
    local_copy,
    verify_local,
)
from action.logs import get_logger
from action.progress import BuildingPart
from action.tags import check_checkout
from action.versioning import check_built_version
from action.window import check_window, project_of
from statemachine.ledger import TAKEN_IN, is_sdist, is_wheel, manifest_digest
from statemachine.payloads import BuildFinished, BuildStarted, Built, FileRecorded
from statemachine.records import Image

if TYPE_CHECKING:
    from pathlib import Path

    from action.job import Job
    from statemachine.plan import Step
    from statemachine.records import FileRef

log = get_logger(__name__)
PURE_PART = "wheel"  # a pure-Python wheel, built with `python -m build --wheel`


def _check_checkout(job: Job) -> None:
    opened = job.lane.opened
    check_checkout(opened.tag, opened.commit, job.services.tags.checked_out())


def _only(job: Job, platform: str) -> list[str]:
    """For a backfill lane: the build identifiers it adds on `platform`."""
    if not job.config.python:
        return []
    everything = expected_identifiers(
        job.config.project_dir, platform, env=_all_builds(job), sdist=_config_sdist(job),
    )
    return [i for i in everything if i.startswith(job.config.python)]


def _config_sdist(job: Job) -> Path | None:
    """Whose [tool.cibuildwheel] configuration says what the wheels are: the sdist they are
    built from (cibuildwheel unpacks it and reads its own), or, built from the checkout, None."""
    if job.config.wheel_source != "sdist":
        return None
    return _recorded_sdist(job)[1]


def _all_builds(job: Job) -> dict[str, str]:
    env = dict(job.services.build_env)
    if job.config.python:
        env.pop("CIBW_BUILD", None)  # a backfill looks beyond the build selection of the tag
        env["CIBW_PROJECT_REQUIRES_PYTHON"] = ">=3.8"
    return env


def wheel_source(job: Job) -> tuple[FileRef, Path]:
    """The recorded sdist the wheels are built from (this lane's; main's for a backfill lane),
    as a local file with the recorded bytes: this job's copy, or the draft's, downloaded; also
    handed over in the dist directory."""
    source, path = _recorded_sdist(job)
    _hand_over(job, path)
    return source, path


def _recorded_sdist(job: Job) -> tuple[FileRef, Path]:
    lanes = [job.lane] + [lane for lane in (job.log.state.main,)
                          if lane is not None and lane is not job.lane]
    sdists = [a.file for lane in lanes for a in lane.files.values() if is_sdist(a.file.name)]
    if not sdists:
        raise BuildError(
            f"`wheel-source` is sdist, but lane {job.lane.name!r} has no sdist yet to build the "
            "wheels from",
            hint="Build the sdist first: in this job (`parts: sdist linux`) or in a job before "
            "this one; or set `wheel-source: checkout` to build the wheels from the checkout.")
    source = sdists[0]
    return source, local_copy(job, source) or fetch_reviewed(job, [source])[source.name]


def _hand_over(job: Job, sdist: Path) -> None:
    """The wheels' sdist in the dist directory too, for the workflow to hand to the macOS and
    Windows jobs (a backfill lane's build job fetched it from the release)."""
    target = job.config.dist_dir / sdist.name
    if target.resolve() != sdist.resolve() and not target.exists():
        job.config.dist_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(sdist, target)


def _source_of(job: Job, part: str) -> tuple[FileRef, Path] | None:
    """The sdist a wheel part is built from; None for the sdist itself, or for a build from
    the checkout (`wheel-source: checkout`)."""
    if part == "sdist" or job.config.wheel_source != "sdist":
        return None
    return wheel_source(job)


def build_part(job: Job, step: Step) -> None:
    part = step.names[0]
    lane = job.lane
    _check_checkout(job)
    check_window(job, lane.opened.version, doing=f"before building {part}")
    source = _source_of(job, part)  # before the part starts: a missing sdist starts nothing
    parts = job.config.parts
    job.services.progress(BuildingPart(part=part, total=len(parts),
                                       number=parts.index(part) + 1 if part in parts else 1))
    job.note(lane.name, BuildStarted(part=part))
    out = job.workdir / "build" / part
    shutil.rmtree(out, ignore_errors=True)
    epoch = lane.opened.source_date_epoch
    project, env = job.config.project_dir, job.services.build_env
    if part == "sdist":
        output = build_sdist(project, out, source_date_epoch=epoch, env=env)
    elif part == PURE_PART:
        output = build_pure_wheel(project, out, source_date_epoch=epoch, env=env,
                                  sdist=source[1] if source else None)
    else:
        only = _only(job, part)
        output = build_wheels(project, out, platform=part, only=only,
                              source_date_epoch=epoch, sdist=source[1] if source else None,
                              env=_all_builds(job) if only else env)
    records = []
    for path in output.files:
        check_built_version(path, lane.opened.tag, project)
        check_dist(path, lane.opened.tag)
        kept = files_dir(job) / path.name
        shutil.copy2(path, kept)
        job.config.dist_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, job.config.dist_dir / path.name)
        records.append(FileRecorded(part=part, file=file_ref(kept)))
    finished = BuildFinished(
        part=part, tools=dict(output.tools),
        images=tuple(Image(name=i.name, digest=i.digest) for i in output.images),
        source=source[0] if source else None,
    )
    # Stored at once: a part takes long to build again, and its bytes would differ.
    job.record_and_flush(lane.name, *records, finished)


def take_in(job: Job, step: Step) -> None:
    lane = job.lane
    check_window(job, lane.opened.version, doing="before taking in the handed-over files")
    records = []
    # The release's project: pyproject's [project] name or a file already recorded; when
    # neither is known yet, every file taken in here must name the same project.
    project = project_of(job) or intake.one_project(step.names)
    for name in step.names:
        path = job.config.dist_dir / name
        project = intake.check_dist(path, project=project, version=lane.opened.version,
                                    max_size=job.config.max_dist_size).project
        check_built_version(path, lane.opened.tag, job.config.project_dir)
        check_dist(path, lane.opened.tag)
        records.append(FileRecorded(part=TAKEN_IN, file=file_ref(path), origin="taken-in"))
        log.info("file.taken-in", file=name, sha256=digest_of(path))
    job.note(lane.name, *records)


def expected_wheels(job: Job) -> list[str] | None:
    """The build identifiers the lane must have wheels for (None: a pure project), as the
    configuration the wheels were built with lists them: the wheel-source sdist's."""
    config = job.config
    if config.wheels:
        return [w for w in config.wheels if not config.python or w.startswith(config.python)]
    if PURE_PART in config.parts or not config.platforms:
        return None
    expected = []
    for platform in config.platforms:
        if config.python:
            expected += _only(job, platform)
        else:
            expected += expected_identifiers(config.project_dir, platform,
                                             env=job.services.build_env,
                                             sdist=_config_sdist(job))
    return expected


def seal_built(job: Job, step: Step) -> None:
    lane = job.lane
    verify_local(job)
    wheels = [name for name in lane.files if is_wheel(name)]
    expected = expected_wheels(job)
    if expected is not None:
        compare_identifiers(expected, wheels).check()
    elif lane.is_backfill or not wheels:
        log.info("completeness.pure", wheels=wheels)
    manifest = manifest_digest([a.file for a in lane.files.values()])
    job.note(step.lane, Built(manifest=manifest))
