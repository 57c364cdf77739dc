"""The machine's table: every event once, with the states it may happen in, its guard and fold.

`TABLE` has one `Rule` per event type that moves or records something in a lane: the states
it may happen in, the state it leads to (none: a record, which keeps the state), its guard
(what the event claims must fit what is recorded) and its fold (what it records). The lane's
`transitions` machine is built from it (`statemachine/machine.py`). Adding an event is its
type (`states.EventType`), its payload (`payloads.py`) and one rule here, beside its guard and
fold.

`lane-opened` is not a rule: it creates the lane the machine drives; its guard is
`guard_lane_opened`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from statemachine.errors import GuardError
from statemachine.ledger import TAKEN_IN, Artifact, PartRecord, is_sdist, manifest_digest
from statemachine.payloads import (
    Approved,
    AssetUploaded,
    AssetUploadStarted,
    Attested,
    BuildFinished,
    BuildStarted,
    Built,
    Drafted,
    FileRecorded,
    Payload,
    Published,
    ReleaseRecorded,
    ReleaseRequested,
    TestPublished,
    UploadConfirmed,
    UploadStarted,
)
from statemachine.records import MAIN_LANE, FileRef
from statemachine.replay import ReleaseRef
from statemachine.states import State

if TYPE_CHECKING:
    from collections.abc import Callable

    from statemachine.payloads import LaneOpened
    from statemachine.replay import LaneState, ReleaseState
    from statemachine.states import EventType


P = TypeVar("P", bound=Payload)


@dataclass(frozen=True, slots=True)
class Rule(Generic[P]):
    """One event of the machine: where it may happen, where it leads, its guard and its fold."""

    payload: type[P]
    sources: tuple[State, ...]
    dest: State | None  # None: a record; the lane stays in the state it is in
    guard: Callable[[ReleaseState, LaneState, P], None]  # raises GuardError if it does not fit
    fold: Callable[[LaneState, P], None]  # records what the event says
    meaning: str = ""  # of a stage: what reaching `dest` takes, told when an event comes early

    @property
    def event(self) -> EventType:
        return self.payload.event_type


# --- opening a lane --------------------------------------------------------------------------


def guard_lane_opened(release: ReleaseState, name: str, opened: LaneOpened) -> None:
    if name in release.lanes:
        raise GuardError(f"lane {name!r} is already open")
    if name == MAIN_LANE:
        if opened.python:
            raise GuardError("the main lane builds every wheel; `python` is for backfill lanes")
    else:
        _guard_backfill_open(release, name, opened)


def _guard_backfill_open(release: ReleaseState, name: str, opened: LaneOpened) -> None:
    main = release.main
    if main is None or main.state.rank < State.DRAFTED.rank or main.release is None:
        state = main.state.value if main else "not open"
        raise GuardError(
            f"backfill lane {name!r} can start only once the main lane has its draft release "
            f"(drafted or later); the main lane is {state}",
            hint="Finish the main lane's release first (step `release`), then dispatch the "
            "backfill with `python`.",
        )
    if not opened.python:
        raise GuardError(f"backfill lane {name!r} must name what it adds (`python`, e.g. cp314)")
    mine, theirs = (opened.tag, opened.commit), (main.opened.tag, main.opened.commit)
    if mine != theirs:
        raise GuardError(
            f"backfill lane {name!r} is for {mine[0]} at {mine[1][:12]}, but the release is "
            f"for {theirs[0]} at {theirs[1][:12]}: a backfill builds from the tag's own commit"
        )


# --- building: parts, their files, the completeness gate -------------------------------------


def _guard_build_started(_r: ReleaseState, lane: LaneState, p: BuildStarted) -> None:
    if p.part == TAKEN_IN:
        raise GuardError(f"{TAKEN_IN!r} is not a build part: files taken in need no build")
    part = lane.parts.get(p.part)
    if part is not None and part.finished:
        raise GuardError(
            f"build part {p.part!r} of lane {lane.name!r} is finished; its files are recorded "
            "and are never rebuilt (wheels are not byte-reproducible)"
        )


def _fold_build_started(lane: LaneState, p: BuildStarted) -> None:
    lane.parts[p.part] = PartRecord(p.part)
    for name in [n for n, a in lane.files.items() if a.part == p.part]:
        # A restarted part rebuilds its files: forget them, and any attached copies
        # (the plan removes those assets before the new bytes are attached).
        del lane.files[name]
        lane.assets.pop(name, None)
        lane.assets_started.pop(name, None)


def _guard_file_recorded(release: ReleaseState, lane: LaneState, p: FileRecorded) -> None:
    if p.origin == "taken-in" and p.part != TAKEN_IN:
        raise GuardError(f"files taken in belong to the part {TAKEN_IN!r}, not {p.part!r}")
    if p.origin == "built":
        part = lane.parts.get(p.part)
        if part is None or part.finished:
            raise GuardError(f"{p.file.name}: build part {p.part!r} is not running in this lane")
    owner = release.owner_of(p.file.name)
    if owner is not None and owner != lane.name:
        raise GuardError(
            f"{p.file.name} belongs to lane {owner!r}; lane {lane.name!r} never touches "
            "another lane's files"
        )
    if p.file.name in lane.files:
        raise GuardError(f"{p.file.name} is already in the ledger of lane {lane.name!r}")
    if lane.is_backfill and is_sdist(p.file.name):
        raise GuardError(f"{p.file.name}: a backfill lane adds wheels only; the sdist is main's")


def _fold_file_recorded(lane: LaneState, p: FileRecorded) -> None:
    lane.files[p.file.name] = Artifact(p.file, p.part, p.origin)


def _guard_build_finished(r: ReleaseState, lane: LaneState, p: BuildFinished) -> None:
    part = lane.parts.get(p.part)
    if part is None or part.finished:
        raise GuardError(f"build part {p.part!r} of lane {lane.name!r} is not running")
    if p.source is not None:
        _guard_wheel_source(r, lane, p.part, p.source)


def _guard_wheel_source(r: ReleaseState, lane: LaneState, part: str, source: FileRef) -> None:
    """Wheels built from an sdist name one the ledger holds (this lane's, or main's for a
    backfill lane), with its recorded bytes."""
    if not is_sdist(source.name) or part == "sdist":
        raise GuardError(f"build part {part!r}: only wheels are built from an sdist, not "
                         f"{part} from {source.name}")
    owners = [lane] + ([r.main] if r.main is not None and r.main is not lane else [])
    recorded = [a.file for owner in owners for a in owner.files.values()
                if a.file.name == source.name]
    if not recorded:
        raise GuardError(f"build part {part!r} was built from {source.name}, which is not "
                         f"an sdist recorded in lane {lane.name!r} or the main lane")
    if recorded[0] != source:
        raise GuardError(f"build part {part!r} was built from {source.name} with sha256 "
                         f"{source.sha256}, but the ledger records {recorded[0].sha256}")


def _fold_build_finished(lane: LaneState, p: BuildFinished) -> None:
    part = lane.parts[p.part]
    part.finished = True
    part.tools = dict(p.tools)
    part.images = tuple((i.name, i.digest) for i in p.images)
    part.source = p.source


def _guard_built(_r: ReleaseState, lane: LaneState, p: Built) -> None:
    unfinished = lane.unfinished_parts()
    if unfinished:
        raise GuardError(
            f"lane {lane.name!r} cannot be built while parts are unfinished: "
            f"{', '.join(unfinished)}",
            hint="Re-run the jobs that build those parts; they resume from the log.",
        )
    if not lane.files:
        raise GuardError(f"lane {lane.name!r} has no files")
    sdists = [n for n in lane.files if is_sdist(n)]
    if not lane.is_backfill and len(sdists) != 1:
        raise GuardError(f"the main lane needs exactly one sdist, it has {len(sdists)}")
    expected = manifest_digest([a.file for a in lane.files.values()])
    if p.manifest != expected:
        raise GuardError("the built manifest does not match the ledger")


def _fold_built(lane: LaneState, p: Built) -> None:
    lane.built_manifest = p.manifest


# --- attesting -------------------------------------------------------------------------------


def _guard_attested(_r: ReleaseState, lane: LaneState, p: Attested) -> None:
    dists = {f.name for f in lane.dists()}
    signed = [p.provenance.name] + ([p.bundle.name] if p.bundle else [])
    if set(signed) & dists or len(set(signed)) != len(signed):
        raise GuardError(f"provenance files {signed} clash with each other or a dist file")
    wanted = {f"{name}.publish.attestation" for name in dists}
    given = {a.name for a in p.attestations}
    if p.attestations and given != wanted:
        raise GuardError(
            "publish attestations must be one per dist file: missing "
            f"{sorted(wanted - given)}, unexpected {sorted(given - wanted)}"
        )


def _fold_attested(lane: LaneState, p: Attested) -> None:
    lane.provenance, lane.signer, lane.attestations = p.provenance, p.signer, p.attestations
    lane.bundle = p.bundle


# --- the draft release and its assets --------------------------------------------------------


def _guard_release_requested(release: ReleaseState, lane: LaneState, _p: ReleaseRequested) -> None:
    # A backfill lane normally shares the main lane's release; it records a release of its
    # own only when that one can take no more files (a published immutable release).
    has = lane.release if lane.is_backfill else release.release_of(lane)
    if has is not None:
        raise GuardError(f"lane {lane.name!r} already has its release; it is addressed by id")


def _fold_release_requested(lane: LaneState, _p: ReleaseRequested) -> None:
    lane.release_requested = True


def _guard_release_recorded(release: ReleaseState, lane: LaneState, p: ReleaseRecorded) -> None:
    _guard_release_requested(release, lane, ReleaseRequested(tag=lane.opened.tag))
    if not lane.release_requested:
        raise GuardError("a release is recorded only after the request to create it")
    if p.release_id <= 0:
        raise GuardError("a release id is a positive number")


def _fold_release_recorded(lane: LaneState, p: ReleaseRecorded) -> None:
    lane.release = ReleaseRef(p.release_id, p.url)


def _guard_asset(
    release: ReleaseState, lane: LaneState, p: AssetUploadStarted | AssetUploaded
) -> None:
    if release.release_of(lane) is None:
        raise GuardError(f"lane {lane.name!r} has no release to attach {p.file.name} to")
    known = lane.release_file(p.file.name)
    if known is None:
        raise GuardError(f"{p.file.name} is not a file of lane {lane.name!r}")
    if known != p.file:
        raise GuardError(
            f"{p.file.name}: the asset has sha256 {p.file.sha256} ({p.file.size} bytes), the "
            f"ledger records {known.sha256} ({known.size} bytes)"
        )
    if p.file.name in lane.assets:
        raise GuardError(f"{p.file.name} is already attached to the release")
    if isinstance(p, AssetUploaded) and p.file.name not in lane.assets_started:
        raise GuardError(f"{p.file.name}: an upload is confirmed only after it was started")


def _fold_asset_upload_started(lane: LaneState, p: AssetUploadStarted) -> None:
    lane.assets_started[p.file.name] = p.file


def _fold_asset_uploaded(lane: LaneState, p: AssetUploaded) -> None:
    lane.assets[p.file.name] = (p.file, p.asset_id)


def _guard_drafted(_r: ReleaseState, lane: LaneState, p: Drafted) -> None:
    missing = [f.name for f in lane.missing_assets()]
    if missing:
        raise GuardError(f"the draft lacks files of lane {lane.name!r}: {', '.join(missing)}")
    if p.manifest != lane.manifest():
        raise GuardError("the drafted manifest does not match the lane's files")


def _fold_drafted(lane: LaneState, p: Drafted) -> None:
    lane.drafted_manifest = p.manifest


# --- approval --------------------------------------------------------------------------------


def _guard_approved(_r: ReleaseState, lane: LaneState, p: Approved) -> None:
    if p.manifest != lane.drafted_manifest:
        raise GuardError(
            f"the approval is for manifest {p.manifest[:16]}..., but the draft of lane "
            f"{lane.name!r} is {lane.drafted_manifest[:16]}...: approve what is in the draft"
        )
    if not p.approver:
        raise GuardError("an approval names who approved (or who opted out)")


def _fold_approved(lane: LaneState, p: Approved) -> None:
    lane.approval = p


# --- the package indexes ---------------------------------------------------------------------


def _guard_upload(
    _r: ReleaseState, lane: LaneState, p: UploadStarted | UploadConfirmed
) -> None:
    index_state = State.APPROVED if p.index == "testpypi" else State.TEST_PUBLISHED
    if lane.state is not index_state:
        raise GuardError(
            f"uploads to {p.index} happen when the lane is {index_state.value}, and lane "
            f"{lane.name!r} is {lane.state.value}"
        )
    artifact = lane.files.get(p.file.name)
    if artifact is None:
        raise GuardError(f"{p.file.name} is not a dist file of lane {lane.name!r}")
    if artifact.file != p.file:
        raise GuardError(
            f"{p.file.name}: sha256 {p.file.sha256} is not the approved {artifact.file.sha256}"
        )
    if p.file.name in lane.indexes[p.index].confirmed:
        raise GuardError(f"{p.file.name} is already confirmed on {p.index}")


def _fold_upload_started(lane: LaneState, p: UploadStarted) -> None:
    lane.indexes[p.index].started[p.file.name] = p.file


def _fold_upload_confirmed(lane: LaneState, p: UploadConfirmed) -> None:
    lane.indexes[p.index].confirmed[p.file.name] = p.file


def _guard_all_confirmed(lane: LaneState, index: str) -> None:
    missing = [f.name for f in lane.dists() if f.name not in lane.confirmed(index)]
    if missing:
        raise GuardError(f"not yet confirmed on {index}: {', '.join(missing)}")


def _guard_test_published(_r: ReleaseState, lane: LaneState, p: TestPublished) -> None:
    if not p.skipped:
        _guard_all_confirmed(lane, "testpypi")


def _fold_test_published(lane: LaneState, p: TestPublished) -> None:
    lane.test_skipped = p.skipped


def _guard_published(_r: ReleaseState, lane: LaneState, _p: Published) -> None:
    _guard_all_confirmed(lane, "pypi")


def _fold_published(_lane: LaneState, _p: Published) -> None:
    """Nothing to record: the state itself says the lane is published."""


# --- the table --------------------------------------------------------------------------------

T, B, A, D = State.TAGGED, State.BUILT, State.ATTESTED, State.DRAFTED
AP, TP, PUB = State.APPROVED, State.TEST_PUBLISHED, State.PUBLISHED

TABLE: Final[tuple[Rule[Any], ...]] = (
    Rule(BuildStarted, (T,), None, _guard_build_started, _fold_build_started),
    Rule(FileRecorded, (T,), None, _guard_file_recorded, _fold_file_recorded),
    Rule(BuildFinished, (T,), None, _guard_build_finished, _fold_build_finished),
    Rule(Built, (T,), B, _guard_built, _fold_built,
         "every expected file is built or taken in, and checked"),
    Rule(Attested, (B,), A, _guard_attested, _fold_attested,
         "signed provenance covers every file of the lane"),
    # The draft release is the home of the log and of the files, so it is made first.
    Rule(ReleaseRequested, (T,), None, _guard_release_requested, _fold_release_requested),
    Rule(ReleaseRecorded, (T,), None, _guard_release_recorded, _fold_release_recorded),
    # Built files are attached as they are built (so other jobs can fetch them); the
    # provenance and publish attestations once they are signed.
    Rule(AssetUploadStarted, (T, A), None, _guard_asset, _fold_asset_upload_started),
    Rule(AssetUploaded, (T, A), None, _guard_asset, _fold_asset_uploaded),
    Rule(Drafted, (A,), D, _guard_drafted, _fold_drafted,
         "the draft release holds every file and the provenance"),
    Rule(Approved, (D,), AP, _guard_approved, _fold_approved,
         "a person approved the files of the draft (their digest is recorded)"),
    Rule(UploadStarted, (AP, TP), None, _guard_upload, _fold_upload_started),
    Rule(UploadConfirmed, (AP, TP), None, _guard_upload, _fold_upload_confirmed),
    Rule(TestPublished, (AP,), TP, _guard_test_published, _fold_test_published,
         "every approved file is confirmed on Test PyPI (or Test PyPI is turned off)"),
    Rule(Published, (TP,), PUB, _guard_published, _fold_published,
         "every approved file is confirmed on PyPI"),
)

RULES: Final = {rule.event: rule for rule in TABLE}
STAGES: Final = tuple(sorted((r for r in TABLE if r.dest), key=lambda r: r.sources[0].rank))
HOW_TO_REACH: Final = {rule.dest: rule.meaning for rule in STAGES}
