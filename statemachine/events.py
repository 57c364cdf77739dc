"""Event records: typed payloads, canonical JSON (RFC 8785) and the hash chain.

An event is one line of the log: the canonical JSON of its fields, among them `prev` (the hash
of the event before it, `GENESIS` for the first) and `hash` (the sha256 of its own canonical
form without `hash`). A line must be exactly the canonical form of the event it holds, so any
changed byte in a log changes a hash, breaks the chain or breaks the canonical form.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import types
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Self, Union, get_args, get_origin, get_type_hints

import rfc8785

from statemachine.errors import EventError
from statemachine.states import EventType

GENESIS: Final = "0" * 64
MAIN_LANE: Final = "main"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_LANE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
INDEXES: Final = ("testpypi", "pypi")


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON value."""
    return bytes(rfc8785.dumps(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(value: str, what: str) -> None:
    if not _SHA256.fullmatch(value):
        raise EventError(f"{what} must be a sha256 digest (64 lowercase hex digits), not {value!r}")


def check_lane(value: str) -> None:
    if not _LANE.fullmatch(value):
        raise EventError(
            f"lane name {value!r} is not valid: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'main' or 'cp314')"
        )


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() != UTC.utcoffset(None):
        raise EventError(f"event times must be in UTC, not {moment!r}")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime:
    if not _TIME.fullmatch(text):
        raise EventError(f"time {text!r} is not an RFC 3339 UTC time like 2026-01-31T12:00:00Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise EventError(f"time {text!r} is not a real moment: {exc}") from None


# --- typed records --------------------------------------------------------------------------


class Record:
    """Base of the frozen records in an event: JSON in and out, checked on the way in."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: _dump(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]  # every Record subclass is a dataclass

    @classmethod
    def from_json(cls, data: Any) -> Self:
        if not isinstance(data, dict):
            raise EventError(f"{cls.__name__} must be a JSON object, not {type(data).__name__}")
        hints, fields = _schema(cls)  # type: ignore[arg-type]  # classes are hashable; mypy cannot tell for type[Self]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise EventError(f"{cls.__name__} has unknown fields: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in fields.items():
            if name not in data:
                if _required(spec):
                    raise EventError(f"{cls.__name__} is missing the field {name!r}")
                continue
            values[name] = _load(hints[name], data[name], f"{cls.__name__}.{name}")
        return cls(**values)


@functools.cache
def _schema(cls: type[Record]) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """Field types and fields of a record class, computed once per class."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # a dataclass
    return get_type_hints(cls), fields


def _required(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _load(hint: Any, value: Any, where: str) -> Any:  # noqa: C901, PLR0911 - a branch per JSON type
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        return None if value is None else _load(options[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise EventError(f"{where} must be a list")
        item = get_args(hint)[0]
        return tuple(_load(item, v, f"{where}[]") for v in value)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise EventError(f"{where} must be an object of strings")
        return dict(value)
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_json(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise EventError(f"{where} must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise EventError(f"{where} must be a whole number")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise EventError(f"{where} must be a string")
        return value
    raise EventError(f"{where}: unsupported field type {hint!r}")  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRef(Record):
    """A file by name, size and content digest."""

    name: str
    size: int
    sha256: str

    def __post_init__(self) -> None:
        check_file_name(self.name)
        if self.size < 0:
            raise EventError(f"{self.name}: size must not be negative")
        check_sha256(self.sha256, f"digest of {self.name}")


def check_file_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name in {".", ".."} or "\n" in name:
        raise EventError(f"file name {name!r} must be a plain file name, without directories")


@dataclass(frozen=True, slots=True, kw_only=True)
class Image(Record):
    """A container image a build used, by name and content digest."""

    name: str
    digest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Cause(Record):
    """Who and what caused an event: the workflow run, its attempt, the job and the actor."""

    run_id: str
    run_attempt: int
    job: str
    actor: str
    workflow: str = ""


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
    """A build part ends: the tools that made it and the images they ran in."""

    event_type: ClassVar = EventType.BUILD_FINISHED
    part: str
    tools: dict[str, str] = field(default_factory=dict)
    images: tuple[Image, ...] = ()


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
        _check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadConfirmed(Payload):
    """The index serves the file with these bytes (uploaded now, or found already there)."""

    event_type: ClassVar = EventType.UPLOAD_CONFIRMED
    index: str
    file: FileRef
    uploaded: bool = True

    def __post_init__(self) -> None:
        _check_index(self.index)


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


def _check_index(index: str) -> None:
    if index not in INDEXES:
        raise EventError(f"index must be one of {', '.join(INDEXES)}, not {index!r}")


PAYLOADS: Final[dict[EventType, type[Payload]]] = {
    cls.event_type: cls
    for cls in (
        LaneOpened, BuildStarted, FileRecorded, BuildFinished, Built, Attested,
        ReleaseRequested, ReleaseRecorded, AssetUploadStarted, AssetUploaded, Drafted,
        Approved, UploadStarted, UploadConfirmed, TestPublished, Published,
    )
}


# --- the event --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One line of the log. Build new ones with `Event.create`, which computes the hash."""

    seq: int
    lane: str
    type: EventType
    at: datetime
    cause: Cause
    payload: Payload
    prev: str
    hash: str

    def __post_init__(self) -> None:
        check_lane(self.lane)
        if self.seq < 1:
            raise EventError("sequence numbers start at 1")
        if type(self.payload) is not PAYLOADS[self.type]:
            raise EventError(
                f"a {self.type.value} event needs a {PAYLOADS[self.type].__name__} payload"
            )
        check_sha256(self.prev, "prev")
        check_sha256(self.hash, "hash")

    @classmethod
    def create(
        cls, *, seq: int, lane: str, payload: Payload, at: datetime, cause: Cause, prev: str
    ) -> Event:
        body = _body(seq, lane, payload.event_type, at, cause, payload, prev)
        return cls(
            seq=seq, lane=lane, type=payload.event_type, at=at, cause=cause,
            payload=payload, prev=prev, hash=sha256_hex(canonical(body)),
        )

    def to_json(self) -> dict[str, Any]:
        body = _body(self.seq, self.lane, self.type, self.at, self.cause, self.payload, self.prev)
        body["hash"] = self.hash
        return body

    def to_line(self) -> bytes:
        """The canonical JSON of the event, without the newline."""
        return canonical(self.to_json())

    def computed_hash(self) -> str:
        body = _body(self.seq, self.lane, self.type, self.at, self.cause, self.payload, self.prev)
        return sha256_hex(canonical(body))

    @classmethod
    def from_json(cls, data: Any) -> Event:
        if not isinstance(data, dict):
            raise EventError("an event must be a JSON object")
        expected = {"seq", "lane", "type", "at", "cause", "payload", "prev", "hash"}
        if set(data) != expected:
            missing = sorted(expected - set(data))
            extra = sorted(set(data) - expected)
            raise EventError(f"event fields wrong: missing {missing}, unknown {extra}")
        try:
            kind = EventType(data["type"])
        except ValueError:
            raise EventError(f"unknown event type {data['type']!r}") from None
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise EventError("seq must be a whole number")
        for name in ("lane", "at", "prev", "hash"):
            if not isinstance(data[name], str):
                raise EventError(f"{name} must be a string")
        return cls(
            seq=seq, lane=data["lane"], type=kind, at=parse_time(data["at"]),
            cause=Cause.from_json(data["cause"]),
            payload=PAYLOADS[kind].from_json(data["payload"]),
            prev=data["prev"], hash=data["hash"],
        )


def _body(  # noqa: PLR0917 - the fields of an event, in their order
    seq: int, lane: str, kind: EventType, at: datetime, cause: Cause, payload: Payload, prev: str
) -> dict[str, Any]:
    return {
        "seq": seq, "lane": lane, "type": kind.value, "at": format_time(at),
        "cause": cause.to_json(), "payload": payload.to_json(), "prev": prev,
    }
