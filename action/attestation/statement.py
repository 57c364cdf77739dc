"""SLSA provenance v1 in an in-toto v1 Statement: built from typed inputs, read back, checked.

Pure: no I/O, no signing. `build_statement` returns the canonical (RFC 8785) bytes that a signer
wraps in a DSSE envelope; `read_statement` turns a verified payload back into the claims a
verifier compares with what it expects.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from action.errors import ConfigError, VerificationError
from statemachine.canonical import canonical
from statemachine.errors import EventError
from statemachine.records import MAIN_LANE, check_file_name, check_lane, format_time

if TYPE_CHECKING:
    from datetime import datetime

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
# What this action's build does and which parameters it takes. Changing the meaning of any
# externalParameters field needs a new version of this URI.
BUILD_TYPE: Final = "https://release-action.github.io/buildtypes/python-release/v1"
# GitHub-hosted runners are the build platform that runs this action.
GITHUB_HOSTED_BUILDER: Final = "https://github.com/actions/runner/github-hosted"
MAIN_PROVENANCE_STEM: Final = "multiple"
WHEEL_SOURCE_ROLE: Final = "wheel-source"  # annotation of the sdist the wheels were built from

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_PYTHON = re.compile(r"[a-z]+[0-9]+[a-z]*")


def provenance_file_name(lane: str) -> str:
    """`multiple.intoto.jsonl` for the main lane, `<lane>.intoto.jsonl` for a backfill lane."""
    _check(check_lane, lane)
    return f"{MAIN_PROVENANCE_STEM if lane == MAIN_LANE else lane}.intoto.jsonl"


def bundle_file_name(lane: str) -> str:
    """The Sigstore bundle that sits next to a keyless lane's provenance."""
    return provenance_file_name(lane).removesuffix(".intoto.jsonl") + ".intoto.sigstore.json"


@dataclass(frozen=True, slots=True)
class Subject:
    """A file the provenance speaks for: its plain name and the sha256 of its bytes."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        _check(check_file_name, self.name)
        if not _SHA256.fullmatch(self.sha256):
            raise ConfigError(f"{self.name}: sha256 must be 64 lowercase hex digits")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}


@dataclass(frozen=True, slots=True)
class BuilderImage:
    """A container image the build ran in; `digest` is `sha256:<hex>` or the bare hex."""

    name: str
    digest: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a builder image needs a name")
        if not _SHA256.fullmatch(self.sha256):
            raise ConfigError(f"image {self.name}: digest must be sha256:<64 hex>")

    @property
    def sha256(self) -> str:
        return self.digest.removeprefix("sha256:")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "digest": {"sha256": self.sha256}}


@dataclass(frozen=True, slots=True)
class WheelSource:
    """The sdist that wheel parts were built from: a resolved dependency of those wheels.

    In the statement it is a resourceDescriptor in `resolvedDependencies` with the sdist's
    name and sha256, annotated with its role and the build parts (e.g. `linux`) made from it.
    """

    sdist: Subject
    parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.sdist.name.endswith(".tar.gz"):
            raise ConfigError(f"a wheel source is an sdist (.tar.gz), not {self.sdist.name}")
        if not self.parts:
            raise ConfigError(f"wheel source {self.sdist.name}: which parts were built from it?")

    def to_json(self) -> dict[str, Any]:
        return {**self.sdist.to_json(),
                "annotations": {"role": WHEEL_SOURCE_ROLE, "parts": sorted(self.parts)}}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetails:
    """The workflow run that built a lane: where, from which tag and commit, and how."""

    server_url: str
    repository: str
    commit: str
    tag: str
    run_id: str
    run_attempt: int
    workflow: str
    event: str
    lane: str
    started_on: datetime
    python: tuple[str, ...] = ()
    builder_id: str = GITHUB_HOSTED_BUILDER

    def __post_init__(self) -> None:
        _check_run(self)

    @property
    def ref(self) -> str:
        return f"refs/tags/{self.tag}"

    @property
    def source_uri(self) -> str:
        return f"git+{self.server_url}/{self.repository}@{self.ref}"

    @property
    def invocation_id(self) -> str:
        return (
            f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
            f"/attempts/{self.run_attempt}"
        )


def _check_run(run: RunDetails) -> None:
    problems = [
        ("server_url must be an https:// URL without a trailing slash",
         run.server_url.startswith("https://") and not run.server_url.endswith("/")),
        ("repository must be owner/name", bool(_REPOSITORY.fullmatch(run.repository))),
        ("commit must be a 40-digit lowercase hex id", bool(_COMMIT.fullmatch(run.commit))),
        ("tag must not be empty or hold whitespace", run.tag.split() == [run.tag]),
        ("run_id must be a number", run.run_id.isdigit()),
        ("run_attempt must be 1 or more", run.run_attempt >= 1),
        ("workflow and event must not be empty", bool(run.workflow and run.event)),
        ("python identifiers look like cp314", all(_PYTHON.fullmatch(p) for p in run.python)),
    ]
    for message, ok in problems:
        if not ok:
            raise ConfigError(f"run details for provenance: {message}")
    _check(check_lane, run.lane)
    _check(format_time, run.started_on)


def _check(checker: Any, value: Any) -> None:
    try:
        checker(value)
    except EventError as exc:
        raise ConfigError(exc.message) from exc


def build_statement(
    subjects: tuple[Subject, ...] | list[Subject],
    run: RunDetails,
    images: tuple[BuilderImage, ...] | list[BuilderImage] = (),
    wheel_sources: tuple[WheelSource, ...] | list[WheelSource] = (),
) -> bytes:
    """The canonical JSON bytes of the provenance statement for a lane's files."""
    return canonical(statement_json(subjects, run, images, wheel_sources))


def statement_json(
    subjects: tuple[Subject, ...] | list[Subject],
    run: RunDetails,
    images: tuple[BuilderImage, ...] | list[BuilderImage] = (),
    wheel_sources: tuple[WheelSource, ...] | list[WheelSource] = (),
) -> dict[str, Any]:
    """The statement as a JSON value; subjects, images and wheel sources sorted by name."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [s.to_json() for s in _sorted_subjects(subjects)],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": _build_definition(run, images, wheel_sources),
            "runDetails": _run_details(run),
        },
    }


def _sorted_subjects(subjects: tuple[Subject, ...] | list[Subject]) -> list[Subject]:
    if not subjects:
        raise ConfigError("provenance needs at least one file")
    ordered = sorted(subjects, key=lambda s: s.name)
    for before, after in itertools.pairwise(ordered):
        if before.name == after.name:
            raise ConfigError(f"{after.name} is listed twice as a provenance subject")
    return ordered


def _build_definition(
    run: RunDetails, images: tuple[BuilderImage, ...] | list[BuilderImage],
    wheel_sources: tuple[WheelSource, ...] | list[WheelSource] = (),
) -> dict[str, Any]:
    source = {"uri": run.source_uri, "digest": {"gitCommit": run.commit}}
    unique = {(i.name, i.sha256): i for i in images}
    sdists = sorted(wheel_sources, key=lambda w: w.sdist.name)
    return {
        "buildType": BUILD_TYPE,
        "externalParameters": {
            "repository": run.repository,
            "ref": run.ref,
            "tag": run.tag,
            "workflow": run.workflow,
            "event": run.event,
            "lane": run.lane,
            "python": list(run.python),
        },
        "resolvedDependencies": [source] + [unique[k].to_json() for k in sorted(unique)]
        + [w.to_json() for w in sdists],
    }


def _run_details(run: RunDetails) -> dict[str, Any]:
    return {
        "builder": {"id": run.builder_id},
        "metadata": {"invocationId": run.invocation_id, "startedOn": format_time(run.started_on)},
    }


# --- reading a statement back -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvenanceClaims:
    """What a (verified) statement says: the files it covers and where they came from."""

    subjects: tuple[Subject, ...]
    repository: str
    commit: str
    source_uri: str
    tag: str
    lane: str
    workflow: str
    wheel_sources: tuple[WheelSource, ...] = ()

    def digest_of(self, name: str) -> str | None:
        return next((s.sha256 for s in self.subjects if s.name == name), None)


def read_statement(payload: bytes) -> ProvenanceClaims:
    """Parse the payload of a verified envelope; VerificationError if it is not our provenance."""
    try:
        data = json.loads(payload)
        return _claims(data)
    except (ValueError, KeyError, TypeError, AttributeError, ConfigError) as exc:
        raise VerificationError(
            f"the signed statement is not SLSA provenance v1 as this action writes it: {exc!r}"
        ) from exc


def _claims(data: dict[str, Any]) -> ProvenanceClaims:
    if data["_type"] != STATEMENT_TYPE or data["predicateType"] != PREDICATE_TYPE:
        raise ValueError(f"statement type {data['_type']}, predicate {data['predicateType']}")
    definition = data["predicate"]["buildDefinition"]
    params = definition["externalParameters"]
    source = definition["resolvedDependencies"][0]
    subjects = tuple(Subject(s["name"], s["digest"]["sha256"]) for s in data["subject"])
    return ProvenanceClaims(
        subjects=subjects,
        repository=str(params["repository"]),
        commit=str(source["digest"]["gitCommit"]),
        source_uri=str(source["uri"]),
        tag=str(params["tag"]),
        lane=str(params["lane"]),
        workflow=str(params["workflow"]),
        wheel_sources=tuple(_wheel_sources(definition["resolvedDependencies"])),
    )


def _wheel_sources(dependencies: list[dict[str, Any]]) -> list[WheelSource]:
    found = []
    for item in dependencies:
        annotations = item.get("annotations") or {}
        if annotations.get("role") == WHEEL_SOURCE_ROLE:
            parts = annotations["parts"]
            if not isinstance(parts, list):
                raise TypeError("wheel-source parts must be a list")
            found.append(WheelSource(Subject(item["name"], item["digest"]["sha256"]),
                                     tuple(str(p) for p in parts)))
    return found
