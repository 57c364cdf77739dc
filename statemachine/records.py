"""Typed records: frozen dataclasses that check their fields on construction, JSON in and out.

`Record` gives every record of an event (its cause, the files it names, its payload) a strict
`from_json` (unknown or missing fields, wrong types: an `EventError` that names the field) and
a `to_json`. The field checks every record shares (digests, lane and file names, UTC times)
and the small records used across payloads (`FileRef`, `Image`, `Cause`) live here too.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Self, Union, get_args, get_origin, get_type_hints

from statemachine.errors import EventError

MAIN_LANE: Final = "main"
INDEXES: Final = ("testpypi", "pypi")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_LANE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def check_sha256(value: str, what: str) -> None:
    if not _SHA256.fullmatch(value):
        raise EventError(f"{what} must be a sha256 digest (64 lowercase hex digits), not {value!r}")


def check_lane(value: str) -> None:
    if not _LANE.fullmatch(value):
        raise EventError(
            f"lane name {value!r} is not valid: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'main' or 'cp314')"
        )


def check_file_name(name: str) -> None:
    if (not name or "/" in name or "\\" in name or name in {".", ".."}
            or any(ord(c) < 0x20 or c == "\x7f" for c in name)):  # noqa: PLR2004 - C0 controls
        raise EventError(f"file name {name!r} must be a plain file name, without directories")


def check_index(index: str) -> None:
    if index not in INDEXES:
        raise EventError(f"index must be one of {', '.join(INDEXES)}, not {index!r}")


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


# --- the record base -------------------------------------------------------------------------


# Field metadata for a field added to a record after logs were written without it: the field
# is left out of the JSON while it holds its default, so the lines of those logs keep their
# canonical form. `field(default=None, metadata={ADDED_LATER: True})`.
ADDED_LATER: Final = "release-action/added-later"


class Record:
    """Base of the frozen records in an event: JSON in and out, checked on the way in."""

    def to_json(self) -> dict[str, Any]:
        cls = type(self)
        later = _added_later(cls)  # type: ignore[arg-type]  # classes are hashable; mypy cannot tell for type[Self]
        if not later:
            return {name: _dump(getattr(self, name)) for name in _schema(cls)[1]}  # type: ignore[arg-type]  # as above
        return {name: _dump(value) for name in _schema(cls)[1]  # type: ignore[arg-type]  # as above
                if (value := getattr(self, name)) != later.get(name, _NO_DEFAULT)}

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


_NO_DEFAULT: Final = object()


@functools.cache
def _added_later(cls: type[Record]) -> dict[str, Any]:
    """The fields marked ADDED_LATER, with the default that keeps them out of the JSON."""
    return {name: spec.default for name, spec in _schema(cls)[1].items()  # type: ignore[arg-type]  # classes are hashable; mypy cannot tell for type[Record]
            if spec.metadata.get(ADDED_LATER)}


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


# --- records used across events --------------------------------------------------------------


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
