"""The typed payload of each event type: what the event says, checked on construction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Final

from statemachine.errors import EventError
from statemachine.records import (
    ADDED_LATER,
    FileRef,
    Image,
    Record,
    check_index,
    check_sha256,
    parse_time,
)
from statemachine.states import EventType

_COMMIT = re.compile(r"[0-9a-f]{40}")


class Payload(Record):
    """Base of the typed payload of each event type."""

    event_type: ClassVar[EventType]


@dataclass(frozen=True, slots=True, kw_only=True)
class LaneOpened(Payload):
    """A lane starts: the tag, its commit and version, and (backfill) what it adds."""

    event_type: ClassVar = EventType.LANE_OPENED
    tag: str
    version: str
    commit: str
    repository: str
    source_date_epoch: int
    python: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _COMMIT.fullmatch(self.commit):
            raise EventError(f"commit must be a 40-digit lowercase hex id, not {self.commit!r}")
        if not self.tag or not self.version:
            raise EventError("a lane needs a tag and a version")


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildStarted(Payload):
    """A build part (sdist, linux wheels, files taken in from other jobs) begins."""

    event_type: ClassVar = EventType.BUILD_STARTED
    part: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecorded(Payload):
    """A file enters the ledger: built here, or taken in from another job's dist directory."""

    event_type: ClassVar = EventType.FILE_RECORDED
    part: str
    file: FileRef
    origin: str = "built"

    def __post_init__(self) -> None:
        if self.origin not in {"built", "taken-in"}:
            raise EventError(f"origin must be 'built' or 'taken-in', not {self.origin!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFinished(Payload):
    """A build part ends: the tools that made it, the images they ran in, and (wheels built
    from the sdist) the recorded sdist they were built from."""

    event_type: ClassVar = EventType.BUILD_FINISHED
    part: str
    tools: dict[str, str] = field(default_factory=dict)
    images: tuple[Image, ...] = ()
    # Added later: left out of the JSON while None, so logs from before it stay canonical.
    source: FileRef | None = field(default=None, metadata={ADDED_LATER: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class Built(Payload):
    """The completeness gate passed: these are all the lane's files."""

    event_type: ClassVar = EventType.BUILT
    manifest: str

    def __post_init__(self) -> None:
        check_sha256(self.manifest, "manifest digest")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attested(Payload):
    """Signed provenance for every file of the lane, and per-file publish attestations."""

    event_type: ClassVar = EventType.ATTESTED
    provenance: FileRef
    signer: str
    attestations: tuple[FileRef, ...] = ()
    bundle: FileRef | None = None  # keyless signing: the Sigstore bundle beside the envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRequested(Payload):
    """Intent: a draft release is about to be created for the tag."""

    event_type: ClassVar = EventType.RELEASE_REQUESTED
    tag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRecorded(Payload):
    """The draft release exists; from now on it is addressed by this id."""

    event_type: ClassVar = EventType.RELEASE_RECORDED
    release_id: int
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetUploadStarted(Payload):
    """Intent: a file is about to be attached to the release."""

    event_type: ClassVar = EventType.ASSET_UPLOAD_STARTED
    file: FileRef


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetUploaded(Payload):
    """A file is attached to the release with these exact bytes."""

    event_type: ClassVar = EventType.ASSET_UPLOADED
    file: FileRef
    asset_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Drafted(Payload):
    """The draft holds every file of the lane; this is the manifest a reviewer approves."""

    event_type: ClassVar = EventType.DRAFTED
    manifest: str

    def __post_init__(self) -> None:
        check_sha256(self.manifest, "manifest digest")


@dataclass(frozen=True, slots=True, kw_only=True)
class Approved(Payload):
    """A person approved the draft's manifest (or the workflow opted out, recorded as such)."""

    event_type: ClassVar = EventType.APPROVED
    approver: str
    approved_at: str
    environment: str
    manifest: str
    comment: str = ""
    opted_out: bool = False

    def __post_init__(self) -> None:
        check_sha256(self.manifest, "approved manifest digest")
        parse_time(self.approved_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadStarted(Payload):
    """Intent: a file is about to be uploaded to a package index."""

    event_type: ClassVar = EventType.UPLOAD_STARTED
    index: str
    file: FileRef

    def __post_init__(self) -> None:
        check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadConfirmed(Payload):
    """The index serves the file with these bytes (uploaded now, or found already there)."""

    event_type: ClassVar = EventType.UPLOAD_CONFIRMED
    index: str
    file: FileRef
    uploaded: bool = True

    def __post_init__(self) -> None:
        check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class TestPublished(Payload):
    """Every approved file is on Test PyPI, or Test PyPI was turned off for this lane."""

    __test__: ClassVar = False  # not a pytest test class
    event_type: ClassVar = EventType.TEST_PUBLISHED
    url: str = ""
    skipped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Published(Payload):
    """Every approved file is on PyPI."""

    event_type: ClassVar = EventType.PUBLISHED
    url: str = ""


PAYLOADS: Final[dict[EventType, type[Payload]]] = {
    cls.event_type: cls
    for cls in (
        LaneOpened, BuildStarted, FileRecorded, BuildFinished, Built, Attested,
        ReleaseRequested, ReleaseRecorded, AssetUploadStarted, AssetUploaded, Drafted,
        Approved, UploadStarted, UploadConfirmed, TestPublished, Published,
    )
}
