"""Planning: replayed state + what the job asked for -> the ordered steps to run next.

`plan` performs nothing. The pipeline runs the first step, appends the events it produces,
replays, and plans again, so a crash anywhere is followed by a plan from what is recorded:
steps whose intent was recorded without a result come back as checks ("was the draft made?",
"did the upload land?") before anything is done again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from statemachine.records import INDEXES, MAIN_LANE, FileRef
from statemachine.states import State

if TYPE_CHECKING:
    from statemachine.replay import LaneState, ReleaseState


class StepInput(StrEnum):
    """The action's `step` input: how far a job may take its lane."""

    BUILD = "build"  # open the lane, make the draft, build and attach this job's parts
    RELEASE = "release"  # take files in, check completeness, attest, finish the draft
    PUBLISH = "publish"  # approve, Test PyPI, PyPI, publish the release
    AUTO = "auto"  # as far as this job may go


class StepKind(StrEnum):
    OPEN_LANE = "open-lane"
    CREATE_RELEASE = "create-release"
    FIND_RELEASE = "find-release"
    BUILD = "build"
    TAKE_IN = "take-in"
    CHECK_ASSETS = "check-assets"
    ATTACH = "attach"
    SEAL_BUILT = "seal-built"
    ATTEST = "attest"
    SEAL_DRAFT = "seal-draft"
    APPROVE = "approve"
    CHECK_UPLOADS = "check-uploads"
    UPLOAD = "upload"
    SEAL_INDEX = "seal-index"
    PUBLISH_RELEASE = "publish-release"


class StopKind(StrEnum):
    DONE = "done"  # the lane is published
    NEEDS_APPROVAL = "needs-approval"  # a person must approve in the approval environment
    LATER_JOB = "later-job"  # this job went as far as its step allows; a later job continues
    BLOCKED = "blocked"  # something must happen elsewhere first


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What the job asked for, and what it has at hand (all facts the action gathered)."""

    lane: str = MAIN_LANE
    step: StepInput = StepInput.AUTO  # the `step` input: how far this job may go
    parts: tuple[str, ...] = ()  # build parts this job makes, e.g. ("sdist", "linux")
    present: tuple[FileRef, ...] = ()  # dist files found in this job's dist directory
    may_publish: bool = False  # this job runs in the approval environment
    skip_test_index: bool = False
    approval_environment: str = "publish"
    own_release: bool = False  # a backfill lane needs a draft of its own (immutable release)


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    lane: str
    why: str
    names: tuple[str, ...] = ()  # the files, part or index the step is about

    def __str__(self) -> str:
        what = f" {', '.join(self.names)}" if self.names else ""
        return f"{self.kind.value}{what}: {self.why}"


@dataclass(frozen=True, slots=True)
class Stop:
    kind: StopKind
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    stop: Stop

    @property
    def next(self) -> Step | None:
        return self.steps[0] if self.steps else None


# The phases of work each value of the `step` input runs.
_PHASES = {
    StepInput.BUILD: (StepInput.BUILD,),
    StepInput.RELEASE: (StepInput.BUILD, StepInput.RELEASE),
    StepInput.PUBLISH: (StepInput.PUBLISH,),
    StepInput.AUTO: (StepInput.BUILD, StepInput.RELEASE, StepInput.PUBLISH),
}


def plan(state: ReleaseState, request: Request) -> Plan:
    """The ordered steps this job should perform next, and why it stops after them."""
    lane = state.lane(request.lane)
    if lane is None:
        return _plan_new_lane(state, request)
    phases = _PHASES[request.step]
    steps: list[Step] = []
    if lane.state is State.TAGGED and StepInput.BUILD in phases:
        steps += _tagged_steps(state, lane, request)
    elif lane.state is State.TAGGED:
        steps += _attach_steps(lane, ())
    if StepInput.RELEASE in phases and lane.state.rank <= State.ATTESTED.rank:
        steps += _release_steps(lane, request)
    if StepInput.PUBLISH in phases and request.may_publish and not _undrafted(lane, request):
        steps += _publish_steps(lane, request)
    return Plan(tuple(steps), _stop(lane, request, steps))


def _undrafted(lane: LaneState, request: Request) -> bool:
    """A publishing job meets a lane whose draft is not finished (and will not finish it)."""
    return (StepInput.RELEASE not in _PHASES[request.step]
            and lane.state.rank < State.DRAFTED.rank)


def _plan_new_lane(state: ReleaseState, request: Request) -> Plan:
    main = state.main
    name = request.lane
    if name != MAIN_LANE and (main is None or main.state.rank < State.DRAFTED.rank):
        where = main.state.value if main else "not started"
        return Plan((), Stop(StopKind.BLOCKED,
                             f"backfill lane {name!r} waits for the main lane's draft release "
                             f"(the main lane is {where}): run the release of the tag first"))
    if StepInput.BUILD not in _PHASES[request.step]:
        return Plan((), Stop(StopKind.BLOCKED,
                             f"lane {name!r} has not started: run the `build` step first"))
    opening = Step(StepKind.OPEN_LANE, name, "record the tag, its commit and its version")
    later = plan_after_open(state, request)
    return Plan((opening, *later), Stop(StopKind.LATER_JOB, "the lane is opened"))


def plan_after_open(state: ReleaseState, request: Request) -> tuple[Step, ...]:
    """What follows opening a lane (shown as the rest of the plan before it exists)."""
    needs_release = (request.lane == MAIN_LANE or request.own_release or state.main is None
                     or state.main.release is None)
    steps = []
    if needs_release:
        steps.append(Step(StepKind.CREATE_RELEASE, request.lane,
                          "the draft release is the home of the log and the files"))
    steps += [Step(StepKind.BUILD, request.lane, "build this job's part", (part,))
              for part in _parts(request)]
    return tuple(steps)


def _parts(request: Request) -> tuple[str, ...]:
    if request.lane == MAIN_LANE:
        return request.parts
    return tuple(p for p in request.parts if p != "sdist")  # a backfill adds wheels only


def _tagged_steps(state: ReleaseState, lane: LaneState, request: Request) -> list[Step]:
    steps: list[Step] = []
    if state.release_of(lane) is None or (request.own_release and lane.release is None):
        if lane.release_requested:
            steps.append(Step(StepKind.FIND_RELEASE, lane.name,
                              "a draft was being made when the last run stopped: find it "
                              "(list the releases) before making one"))
        else:
            steps.append(Step(StepKind.CREATE_RELEASE, lane.name,
                              "the draft release is the home of the log and the files"))
    for part in _parts(request):
        record = lane.parts.get(part)
        if record is None:
            steps.append(Step(StepKind.BUILD, lane.name, "build this job's part", (part,)))
        elif not record.finished:
            steps.append(Step(StepKind.BUILD, lane.name,
                              "the part was started but never finished: build it again",
                              (part,)))
    steps += _take_in_steps(lane, request)
    return steps + _attach_steps(lane, steps)


def _take_in_steps(lane: LaneState, request: Request) -> list[Step]:
    new = tuple(sorted(f.name for f in request.present if f.name not in lane.files))
    if not new:
        return []
    return [Step(StepKind.TAKE_IN, lane.name,
                 "files built by other jobs arrived in the dist directory", new)]


def _attach_steps(lane: LaneState, earlier: list[Step] | tuple[()]) -> list[Step]:
    steps: list[Step] = []
    unknown = tuple(lane.unknown_assets())
    if unknown:
        steps.append(Step(StepKind.CHECK_ASSETS, lane.name,
                          "an upload to the release was cut off: check what arrived", unknown))
    missing = tuple(f.name for f in lane.missing_assets() if f.name not in unknown)
    will_build = any(s.kind in {StepKind.BUILD, StepKind.TAKE_IN} for s in earlier)
    if missing or will_build:
        steps.append(Step(StepKind.ATTACH, lane.name,
                          "attach the lane's files to the draft release", missing))
    return steps


def _release_steps(lane: LaneState, request: Request) -> list[Step]:
    steps: list[Step] = []
    if lane.state is State.TAGGED:
        if StepInput.BUILD not in _PHASES[request.step]:
            steps += _take_in_steps(lane, request)
            steps += _attach_steps(lane, steps)
        steps.append(Step(StepKind.SEAL_BUILT, lane.name,
                          "check every expected file is there and verify each against the ledger"))
    if lane.state.rank <= State.BUILT.rank:
        steps.append(Step(StepKind.ATTEST, lane.name,
                          "sign provenance over the exact bytes of every file"))
    if lane.state.rank <= State.ATTESTED.rank:
        if lane.state is State.ATTESTED:
            steps += _attach_steps(lane, ())
        else:
            steps.append(Step(StepKind.ATTACH, lane.name, "attach the provenance to the draft"))
        steps.append(Step(StepKind.SEAL_DRAFT, lane.name,
                          "write the review body and record the manifest to approve"))
    return steps


def _publish_steps(lane: LaneState, request: Request) -> list[Step]:
    steps: list[Step] = []
    if lane.state.rank <= State.DRAFTED.rank:
        steps.append(Step(StepKind.APPROVE, lane.name,
                          f"record who approved the `{request.approval_environment}` "
                          "environment and the manifest they approved"))
    for index in INDEXES:
        steps += _index_steps(lane, index, skip=request.skip_test_index and index == "testpypi")
    if lane.name == MAIN_LANE:
        steps.append(Step(StepKind.PUBLISH_RELEASE, lane.name,
                          "publish the GitHub release, the last act after the log is final"))
    return steps


def _index_steps(lane: LaneState, index: str, *, skip: bool) -> list[Step]:
    seal_state = State.TEST_PUBLISHED if index == "testpypi" else State.PUBLISHED
    if lane.state.rank >= seal_state.rank:
        return []
    if skip:
        return [Step(StepKind.SEAL_INDEX, lane.name, "Test PyPI is turned off", (index,))]
    steps: list[Step] = []
    record = lane.indexes[index]
    unknown = tuple(record.unknown())
    if unknown:
        steps.append(Step(StepKind.CHECK_UPLOADS, lane.name,
                          f"uploads to {index} were cut off: check what the index holds",
                          (index, *unknown)))
    left = tuple(f.name for f in lane.dists()
                 if f.name not in record.confirmed and f.name not in unknown)
    if left or lane.state.rank < State.APPROVED.rank:
        steps.append(Step(StepKind.UPLOAD, lane.name,
                          f"upload the approved bytes to {index}, wheels first",
                          (index, *left)))
    steps.append(Step(StepKind.SEAL_INDEX, lane.name,
                      f"every approved file is confirmed on {index}", (index,)))
    return steps


def _stop(lane: LaneState, request: Request, steps: list[Step]) -> Stop:
    if lane.state is State.PUBLISHED and not any(
        s.kind is not StepKind.PUBLISH_RELEASE for s in steps
    ):
        return Stop(StopKind.DONE, f"lane {lane.name!r} is published")
    phases = _PHASES[request.step]
    publishes = StepInput.PUBLISH in phases
    if publishes and _undrafted(lane, request):
        return Stop(StopKind.BLOCKED,
                    f"lane {lane.name!r} is {lane.state.value}: its draft is not finished, so "
                    "there is nothing to approve or publish yet; run the `release` step first "
                    "(it checks the files, attests them and finishes the draft), then approve "
                    f"the `{request.approval_environment}` environment")
    if publishes and not request.may_publish and lane.state.rank >= State.DRAFTED.rank:
        return Stop(StopKind.NEEDS_APPROVAL,
                    f"approve the `{request.approval_environment}` environment: the publishing "
                    f"steps run only in that environment's job")
    if publishes:
        return Stop(StopKind.DONE, f"after these steps lane {lane.name!r} is published")
    if StepInput.RELEASE in phases:
        return Stop(StopKind.NEEDS_APPROVAL,
                    "the draft is ready for review; approve the "
                    f"`{request.approval_environment}` environment to publish")
    return Stop(StopKind.LATER_JOB, "this job's parts are built and attached; the release job "
                "checks completeness, attests and finishes the draft")
