"""The replayed state of a release: every lane, what is recorded about it, and the queries.

Nothing here changes on its own: `statemachine.machine.apply` folds each event in once the
machine's table allowed it and its guard accepted it, and `statemachine.log.load` replays a
whole log that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from statemachine.ledger import (
    Artifact,
    IndexRecord,
    PartRecord,
    manifest_digest,
    new_index_records,
    upload_order,
)
from statemachine.records import MAIN_LANE

if TYPE_CHECKING:
    from statemachine.payloads import Approved, LaneOpened
    from statemachine.records import FileRef
    from statemachine.states import State


class Lane:
    """The model a lane's machine drives: its state, and `trigger`, bound by `transitions`.

    It is apart from `LaneState` on purpose: with `model_override=True` transitions binds a
    trigger to every attribute of the model named like one, and `LaneState.release_requested`
    is a field, not the trigger `release_requested`.
    """

    state: State

    def trigger(self, trigger_name: str, **_data: object) -> bool:  # pragma: no cover - bound
        raise RuntimeError(f"{trigger_name}: bound by the lane's machine")


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
