"""Replay: fold events into the state of a release, checking every guard on the way.

`ReleaseState.apply` is the only way state changes. It first checks that the event is allowed
(the machine's table) and that what it claims fits what is recorded (the guards below), and
only then changes anything, so a refused event leaves the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from statemachine.errors import GuardError
from statemachine.ledger import (
    Artifact,
    IndexRecord,
    PartRecord,
    is_sdist,
    manifest_digest,
    new_index_records,
    upload_order,
)
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
    LaneOpened,
    Published,
    ReleaseRecorded,
    ReleaseRequested,
    TestPublished,
    UploadConfirmed,
    UploadStarted,
)
from statemachine.records import MAIN_LANE, FileRef
from statemachine.states import Lane, State, add_lane, allowed_states, build_machine, fire

if TYPE_CHECKING:
    from transitions import Machine

    from statemachine.events import Event

TAKEN_IN = "taken-in"


@dataclass(slots=True)
class ReleaseRef:
    """The GitHub release (or local store entry) a lane's files and log live in."""

    release_id: int
    url: str


@dataclass(slots=True)
class LaneState:
    """Everything replay knows about one lane."""

    name: str
    opened: LaneOpened
    model: Lane
    parts: dict[str, PartRecord] = field(default_factory=dict)
    files: dict[str, Artifact] = field(default_factory=dict)
    built_manifest: str = ""
    provenance: FileRef | None = None
    signer: str = ""
    bundle: FileRef | None = None
    attestations: tuple[FileRef, ...] = ()
    release_requested: bool = False
    release: ReleaseRef | None = None
    assets_started: dict[str, FileRef] = field(default_factory=dict)
    assets: dict[str, tuple[FileRef, int]] = field(default_factory=dict)
    drafted_manifest: str = ""
    approval: Approved | None = None
    indexes: dict[str, IndexRecord] = field(default_factory=new_index_records)
    test_skipped: bool = False

    @property
    def state(self) -> State:
        return self.model.state

    @property
    def is_backfill(self) -> bool:
        return self.name != MAIN_LANE

    def dists(self) -> list[FileRef]:
        """The lane's dist files in upload order (wheels first, then the sdist)."""
        return upload_order([a.file for a in self.files.values()])

    def release_files(self) -> list[FileRef]:
        """Every file the lane attaches to the release: dists, provenance, attestations."""
        extra = [f for f in (self.provenance, self.bundle) if f is not None]
        return self.dists() + extra + list(self.attestations)

    def release_file(self, name: str) -> FileRef | None:
        artifact = self.files.get(name)
        if artifact is not None:
            return artifact.file
        signed = (self.provenance, self.bundle, *self.attestations)
        return next((f for f in signed if f is not None and f.name == name), None)

    def manifest(self) -> str:
        return manifest_digest(self.release_files())

    def unknown_assets(self) -> list[str]:
        """Asset uploads begun but never confirmed: check the release before going on."""
        return sorted(set(self.assets_started) - set(self.assets))

    def missing_assets(self) -> list[FileRef]:
        return [f for f in self.release_files() if f.name not in self.assets]

    def unfinished_parts(self) -> list[str]:
        return sorted(name for name, part in self.parts.items() if not part.finished)

    def confirmed(self, index: str) -> dict[str, FileRef]:
        return self.indexes[index].confirmed


@dataclass(slots=True)
class ReleaseState:
    """The whole release as replayed: every lane, and where the log stands."""

    lanes: dict[str, LaneState] = field(default_factory=dict)
    seq: int = 0
    head: str = "0" * 64
    machine: Machine = field(default_factory=build_machine, repr=False)

    @property
    def main(self) -> LaneState | None:
        return self.lanes.get(MAIN_LANE)

    def lane(self, name: str) -> LaneState | None:
        return self.lanes.get(name)

    def release_of(self, lane: LaneState) -> ReleaseRef | None:
        """A backfill lane uses the main lane's release unless it had to open its own."""
        if lane.release or not lane.is_backfill or self.main is None:
            return lane.release
        return self.main.release

    def owner_of(self, file_name: str) -> str | None:
        for lane in self.lanes.values():
            if file_name in lane.files:
                return lane.name
        return None

    # --- applying events ---------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Check `event` against the chain, the machine and the guards, then fold it in."""
        if event.seq != self.seq + 1:
            raise GuardError(f"event {event.seq} comes after event {self.seq}: out of sequence")
        if event.prev != self.head:
            raise GuardError(f"event {event.seq} does not continue the hash chain")
        if isinstance(event.payload, LaneOpened):
            self._open(event.lane, event.payload)
        else:
            lane = self.lanes.get(event.lane)
            if lane is None:
                raise GuardError(
                    f"lane {event.lane!r} has no lane-opened event: open the lane before "
                    f"recording {event.type.value}"
                )
            _guard(self, lane, event)
            fire(self.machine, lane.model, event.type)
            _fold(lane, event)
        self.seq = event.seq
        self.head = event.hash

    def _open(self, name: str, opened: LaneOpened) -> None:
        if name in self.lanes:
            raise GuardError(f"lane {name!r} is already open")
        if name == MAIN_LANE:
            if opened.python:
                raise GuardError("the main lane builds every wheel; `python` is for backfill lanes")
        else:
            _guard_backfill_open(self, name, opened)
        self.lanes[name] = LaneState(name, opened, add_lane(self.machine, name))


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


# --- guards: what an event claims must fit what is recorded ----------------------------------


def _guard(release: ReleaseState, lane: LaneState, event: Event) -> None:
    if lane.state not in allowed_states(event.type):
        return  # the machine refuses it with the better message
    payload = event.payload
    checks = {
        BuildStarted: _guard_build_started,
        FileRecorded: _guard_file_recorded,
        BuildFinished: _guard_build_finished,
        Built: _guard_built,
        Attested: _guard_attested,
        ReleaseRequested: _guard_release_requested,
        ReleaseRecorded: _guard_release_recorded,
        AssetUploadStarted: _guard_asset,
        AssetUploaded: _guard_asset,
        Drafted: _guard_drafted,
        Approved: _guard_approved,
        UploadStarted: _guard_upload,
        UploadConfirmed: _guard_upload,
        TestPublished: _guard_test_published,
        Published: _guard_published,
    }
    checks[type(payload)](release, lane, payload)  # type: ignore[operator]  # keyed by type


def _guard_build_started(_r: ReleaseState, lane: LaneState, p: BuildStarted) -> None:
    if p.part == TAKEN_IN:
        raise GuardError(f"{TAKEN_IN!r} is not a build part: files taken in need no build")
    part = lane.parts.get(p.part)
    if part is not None and part.finished:
        raise GuardError(
            f"build part {p.part!r} of lane {lane.name!r} is finished; its files are recorded "
            "and are never rebuilt (wheels are not byte-reproducible)"
        )


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


def _guard_build_finished(_r: ReleaseState, lane: LaneState, p: BuildFinished) -> None:
    part = lane.parts.get(p.part)
    if part is None or part.finished:
        raise GuardError(f"build part {p.part!r} of lane {lane.name!r} is not running")


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


def _guard_release_requested(release: ReleaseState, lane: LaneState, _p: ReleaseRequested) -> None:
    # A backfill lane normally shares the main lane's release; it records a release of its
    # own only when that one can take no more files (a published immutable release).
    has = lane.release if lane.is_backfill else release.release_of(lane)
    if has is not None:
        raise GuardError(f"lane {lane.name!r} already has its release; it is addressed by id")


def _guard_release_recorded(release: ReleaseState, lane: LaneState, p: ReleaseRecorded) -> None:
    _guard_release_requested(release, lane, ReleaseRequested(tag=lane.opened.tag))
    if not lane.release_requested:
        raise GuardError("a release is recorded only after the request to create it")
    if p.release_id <= 0:
        raise GuardError("a release id is a positive number")


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


def _guard_drafted(_r: ReleaseState, lane: LaneState, p: Drafted) -> None:
    missing = [f.name for f in lane.missing_assets()]
    if missing:
        raise GuardError(f"the draft lacks files of lane {lane.name!r}: {', '.join(missing)}")
    if p.manifest != lane.manifest():
        raise GuardError("the drafted manifest does not match the lane's files")


def _guard_approved(_r: ReleaseState, lane: LaneState, p: Approved) -> None:
    if p.manifest != lane.drafted_manifest:
        raise GuardError(
            f"the approval is for manifest {p.manifest[:16]}..., but the draft of lane "
            f"{lane.name!r} is {lane.drafted_manifest[:16]}...: approve what is in the draft"
        )
    if not p.approver:
        raise GuardError("an approval names who approved (or who opted out)")


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


def _guard_all_confirmed(lane: LaneState, index: str) -> None:
    missing = [f.name for f in lane.dists() if f.name not in lane.confirmed(index)]
    if missing:
        raise GuardError(f"not yet confirmed on {index}: {', '.join(missing)}")


def _guard_test_published(_r: ReleaseState, lane: LaneState, p: TestPublished) -> None:
    if not p.skipped:
        _guard_all_confirmed(lane, "testpypi")


def _guard_published(_r: ReleaseState, lane: LaneState, _p: Published) -> None:
    _guard_all_confirmed(lane, "pypi")


# --- folding: the event is allowed; record what it says ---------------------------------------


def _fold(lane: LaneState, event: Event) -> None:  # noqa: C901, PLR0912 - a branch per event type
    p = event.payload
    if isinstance(p, BuildStarted):
        lane.parts[p.part] = PartRecord(p.part)
        for name in [n for n, a in lane.files.items() if a.part == p.part]:
            # A restarted part rebuilds its files: forget them, and any attached copies
            # (the plan removes those assets before the new bytes are attached).
            del lane.files[name]
            lane.assets.pop(name, None)
            lane.assets_started.pop(name, None)
    elif isinstance(p, FileRecorded):
        lane.files[p.file.name] = Artifact(p.file, p.part, p.origin)
    elif isinstance(p, BuildFinished):
        part = lane.parts[p.part]
        part.finished = True
        part.tools = dict(p.tools)
        part.images = tuple((i.name, i.digest) for i in p.images)
    elif isinstance(p, Built):
        lane.built_manifest = p.manifest
    elif isinstance(p, Attested):
        lane.provenance, lane.signer, lane.attestations = p.provenance, p.signer, p.attestations
        lane.bundle = p.bundle
    elif isinstance(p, ReleaseRequested):
        lane.release_requested = True
    elif isinstance(p, ReleaseRecorded):
        lane.release = ReleaseRef(p.release_id, p.url)
    elif isinstance(p, AssetUploadStarted):
        lane.assets_started[p.file.name] = p.file
    elif isinstance(p, AssetUploaded):
        lane.assets[p.file.name] = (p.file, p.asset_id)
    elif isinstance(p, Drafted):
        lane.drafted_manifest = p.manifest
    elif isinstance(p, Approved):
        lane.approval = p
    elif isinstance(p, UploadStarted):
        lane.indexes[p.index].started[p.file.name] = p.file
    elif isinstance(p, UploadConfirmed):
        lane.indexes[p.index].confirmed[p.file.name] = p.file
    elif isinstance(p, TestPublished):
        lane.test_skipped = p.skipped


def replay(events: list[Event]) -> ReleaseState:
    """Fold a validated list of events into the state of the release."""
    state = ReleaseState()
    for event in events:
        state.apply(event)
    return state
