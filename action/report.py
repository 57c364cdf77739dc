"""What people read: the draft release's body and the job summary.

Both show the state diagram with each lane's state marked, the files with their digests, what
was built where, and the one next thing to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from statemachine.diagram import mermaid
from statemachine.plan import StopKind

if TYPE_CHECKING:
    from action.config import Config
    from action.job import Job
    from statemachine.plan import Plan
    from statemachine.replay import LaneState, ReleaseState

MARKER = "<!-- release-action -->"


def file_table(lane: LaneState) -> str:
    rows = ["| file | size | sha256 |", "| --- | ---: | --- |"]
    rows += [f"| `{f.name}` | {f.size:,} | `{f.sha256}` |" for f in lane.release_files()]
    return "\n".join(rows)


def built_where(lane: LaneState) -> str:
    lines = []
    for name, part in sorted(lane.parts.items()):
        tools = ", ".join(f"{k} {v}" for k, v in sorted(part.tools.items()))
        images = ", ".join(f"`{n}` (`{d}`)" for n, d in part.images)
        lines.append(f"- **{name}**: {tools or 'tools not recorded'}"
                     + (f"; images {images}" if images else ""))
    taken = sorted(a.name for a in lane.files.values() if a.origin == "taken-in")
    if taken:
        lines.append(f"- **taken in** from other jobs: {', '.join(f'`{n}`' for n in taken)}")
    return "\n".join(lines) or "- nothing built yet"


def lane_section(lane: LaneState) -> str:
    opened = lane.opened
    title = "Main lane" if not lane.is_backfill else f"Backfill lane `{lane.name}`"
    approval = ""
    if lane.approval:
        a = lane.approval
        who = f"opted out by {a.approver}" if a.opted_out else f"approved by @{a.approver}"
        approval = f"\n\n{who} at {a.approved_at} (manifest `{a.manifest[:16]}`)"
    return (
        f"### {title}: {lane.state.value}\n\n"
        f"Tag `{opened.tag}` (version {opened.version}) at commit `{opened.commit}`, "
        f"SOURCE_DATE_EPOCH {opened.source_date_epoch}.\n\n"
        f"{built_where(lane)}\n\n{file_table(lane)}{approval}\n"
    )


def next_thing(state: ReleaseState, approval_environment: str) -> str:
    main = state.main
    if main is None:
        return "Build the release (push the tag or dispatch the workflow with `tag`)."
    pending = [lane for lane in state.lanes.values() if lane.state.value == "drafted"]
    if pending:
        return (f"Review the files above, then approve the `{approval_environment}` environment "
                "of the waiting run to publish exactly these bytes.")
    if all(lane.state.value == "published" for lane in state.lanes.values()):
        return "Nothing: every lane is published."
    return "Re-dispatch the workflow with this tag to resume where the log stands."


def release_body(state: ReleaseState, config: Config) -> str:
    lanes = {name: lane.state for name, lane in state.lanes.items()}
    sections = "\n".join(lane_section(lane) for lane in state.lanes.values())
    return (
        f"{MARKER}\n## Release {config.tag}\n\n"
        f"**Next:** {next_thing(state, config.approval_environment)}\n\n"
        f"```mermaid\n{mermaid(lanes)}```\n\n{sections}\n"
        "The state log of this release is the `release-state.*.jsonl` asset; "
        "`release-action status` reads it, `release-action verify` checks the provenance.\n"
    )


def update_release_body(job: Job) -> None:
    ref = job.log.state.release_of(job.lane)
    if ref is not None:
        job.services.store.update_body(ref.release_id, release_body(job.log.state, job.config))


def job_summary(job: Job, final: Plan) -> str:
    state = job.log.state
    lanes = {name: lane.state for name, lane in state.lanes.items()}
    lane = state.lane(job.config.lane)
    table = file_table(lane) if lane else ""
    next_line = final.stop.message
    if final.stop.kind is StopKind.DONE:
        next_line = next_thing(state, job.config.approval_environment)
    url = f" ([release]({job.release.url}))" if job.release else ""
    return (
        f"## release-action: {job.config.tag}, lane `{job.config.lane}`{url}\n\n"
        f"```mermaid\n{mermaid(lanes)}```\n\n{table}\n\n**Next:** {next_line}\n"
    )
