"""Builders for event sequences used across the core's tests: a release told as a story."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from statemachine.canonical import sha256_hex
from statemachine.ledger import manifest_digest
from statemachine.log import EventLog
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
    Payload,
    Published,
    ReleaseRecorded,
    ReleaseRequested,
    TestPublished,
    UploadConfirmed,
    UploadStarted,
)
from statemachine.records import Cause, FileRef, Image

if TYPE_CHECKING:
    from statemachine.events import Event

COMMIT = "a" * 40
CAUSE = Cause(run_id="1001", run_attempt=1, job="release", actor="octocat", workflow="release")


def digest(text: str) -> str:
    return sha256_hex(text.encode())


def dist(name: str, content: str | None = None) -> FileRef:
    body = content if content is not None else name
    return FileRef(name=name, size=len(body), sha256=digest(body))


MAIN_FILES = (
    dist("sample-1.0.0.tar.gz"),
    dist("sample-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
    dist("sample-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
)
BACKFILL_FILES = (dist("sample-1.0.0-cp314-cp314-manylinux_2_17_x86_64.whl"),)


@dataclass
class Story:
    """Appends events to a log, one helper per step of a release."""

    log: EventLog = field(default_factory=EventLog)
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 1, 12, 0, tzinfo=UTC))

    def add(self, lane: str, payload: Payload) -> Event:
        self.clock += timedelta(seconds=1)
        return self.log.append(lane, payload, at=self.clock, cause=CAUSE)

    def open(self, lane: str = "main", python: tuple[str, ...] = ()) -> None:
        self.add(lane, LaneOpened(tag="v1.0.0", version="1.0.0", commit=COMMIT,
                                     repository="octo/sample", source_date_epoch=1700000000,
                                     python=python))

    def release(self, lane: str = "main", release_id: int = 7) -> None:
        self.add(lane, ReleaseRequested(tag="v1.0.0"))
        self.add(lane, ReleaseRecorded(release_id=release_id, url="https://x/releases/7"))

    def build(self, lane: str = "main", files: tuple[FileRef, ...] = MAIN_FILES) -> None:
        self.add(lane, BuildStarted(part="linux"))
        for f in files:
            self.add(lane, FileRecorded(part="linux", file=f))
        self.add(lane, BuildFinished(part="linux", tools={"cibuildwheel": "4.3.5"},
                                        images=(Image(name="local/x", digest="sha256:1"),)))
        self.add(lane, Built(manifest=manifest_digest(files)))

    def attest(self, lane: str = "main") -> FileRef:
        prov = dist(f"{'multiple' if lane == 'main' else lane}.intoto.jsonl")
        self.add(lane, Attested(provenance=prov, signer="key:abc"))
        return prov

    def draft(self, lane: str = "main") -> None:
        state = self.log.state.lanes[lane]
        for f in state.missing_assets():
            self.add(lane, AssetUploadStarted(file=f))
            self.add(lane, AssetUploaded(file=f, asset_id=100 + len(self.log)))
        self.add(lane, Drafted(manifest=state.manifest()))

    def approve(self, lane: str = "main") -> None:
        state = self.log.state.lanes[lane]
        self.add(lane, Approved(approver="octocat", approved_at="2026-11-01T12:30:00Z",
                                   environment="publish", manifest=state.drafted_manifest))

    def upload(self, lane: str, index: str) -> None:
        for f in self.log.state.lanes[lane].dists():
            self.add(lane, UploadStarted(index=index, file=f))
            self.add(lane, UploadConfirmed(index=index, file=f))

    def publish(self, lane: str = "main") -> None:
        self.upload(lane, "testpypi")
        self.add(lane, TestPublished(url="http://test"))
        self.upload(lane, "pypi")
        self.add(lane, Published(url="http://pypi"))

    def drafted(self, lane: str = "main") -> Story:
        """The main lane from its tag to a draft ready for review."""
        self.open(lane)
        self.release(lane)
        self.build(lane)
        self.attest(lane)
        self.draft(lane)
        return self

    def full(self, lane: str = "main") -> None:
        self.drafted(lane)
        self.approve(lane)
        self.publish(lane)
