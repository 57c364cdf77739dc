"""The job context every step works in: the job's configuration, the world (`Services`), and
the log as it stands, with the way events are recorded and flushed to the store.

This is the floor under the steps: steps import it (and `action.lane_files`, the adapters and
the core), never the pipeline or each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from action.errors import ReleaseError
from action.logs import get_logger
from action.progress import ignore
from statemachine import log as eventlog
from statemachine.plan import StepInput
from statemachine.records import MAIN_LANE, format_time

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from action.attestation.signers import ProvenanceSigner
    from action.config import Config
    from action.index import PackageIndex
    from action.progress import ProgressEvent
    from action.stores.base import ReleaseInfo, ReleaseStore
    from action.tags import TagInfo
    from statemachine.payloads import Payload
    from statemachine.replay import LaneState, ReleaseRef

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    login: str
    at: datetime
    comment: str
    environments: tuple[str, ...]
    at_known: bool = True  # False: the source gave no time (`at` is when it was read)


class TagSource(Protocol):
    def resolve(self, tag: str) -> TagInfo: ...

    def checked_out(self) -> str:
        """The commit the job's working tree is on."""
        ...


class ApprovalSource(Protocol):
    def approvals(self, environment: str) -> list[ApprovalRecord]:
        """The approvals of `environment` in this job's run."""
        ...

    def of_run(self, run_id: str, environment: str) -> list[ApprovalRecord] | None:
        """The approvals of `environment` in the run `run_id` as GitHub recorded them (the
        run that recorded an approval in the log); None where no such record exists to
        check against (a rehearsal: its log never leaves the machine)."""
        ...


@dataclass(slots=True, kw_only=True)
class Services:
    """The outside world, as the steps see it. Each is built by a factory tests can replace."""

    store: ReleaseStore
    tags: TagSource
    approvals: ApprovalSource
    indexes: Callable[[str], PackageIndex]
    signer: Callable[[], ProvenanceSigner]
    build_env: Mapping[str, str]
    public_key: str | None = None  # to verify key-signed provenance before publishing
    # PEP 740 publish attestations (keyless, on GitHub): dists -> `<dist>.publish.attestation`
    attester: Callable[[list[Path]], tuple[Path, ...]] | None = None
    # GitHub's attestations API (keyless): stores a Sigstore bundle for `gh attestation verify`
    record_attestation: Callable[[Mapping[str, Any]], int] | None = None
    in_environment: Callable[[str], bool] = field(default=lambda _env: False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    progress: Callable[[ProgressEvent], None] = ignore  # the view: see action/progress.py


@dataclass(slots=True)
class Job:
    """One run of the action: its configuration, the world, and the log as it stands."""

    config: Config
    services: Services
    workdir: Path
    log: eventlog.EventLog = field(default_factory=eventlog.EventLog)
    release: ReleaseInfo | None = None
    unflushed: int = 0
    own_release: bool = False

    # --- the log ----------------------------------------------------------------------------

    def load(self) -> None:
        """Find the release of the tag and load its newest log snapshot (or start empty).

        A backfill lane of a published immutable release lives in a draft of its own, whose
        log continues the release's log; until that draft has a log, the release's is read.
        """
        store = self.services.store
        if self.release is not None:  # reloading: read it again by id
            release: ReleaseInfo | None = store.get_release(self.release.release_id)
        else:  # the listing that finds it has just read it
            release = store.find_release(self.config.tag)
        if release is None:
            self.log, self.release = eventlog.EventLog(), None
            return
        if self.config.lane != MAIN_LANE and release.immutable and not release.draft:
            self.own_release = True
            own = store.find_backfill_draft(self.config.tag, self.config.lane)
            if own is not None and store.load_log(own.release_id).data:
                release = own
        self.release = release
        self.log = eventlog.load(store.load_log(release.release_id).data)
        self.unflushed = 0

    def move_to(self, release: ReleaseInfo) -> None:
        """From now on the log lives in `release`: its first snapshot holds the whole log."""
        self.release = release
        self.unflushed = len(self.log)

    def record(self, lane: str, payload: Payload) -> None:
        self.log.append(lane, payload, at=self.services.clock(), cause=self.config.run.cause())
        self.unflushed += 1
        log.info("event", lane=lane, type=payload.event_type.value, seq=len(self.log))

    def flush(self) -> None:
        """Store the log as the next snapshot (once the release exists to hold it).

        The log is stored per batch, not per event: before a batch of side effects (its
        intents, `commit`) and when the job stops. Whatever a crash loses in between is told
        again by the world on resume (the asset listing, the index's files) or redone.
        """
        if not self.unflushed or self.release is None:
            return
        if self.release.immutable and not self.release.draft:
            return  # it takes no more assets: the backfill's own draft will hold the log
        first_new = len(self.log) - self.unflushed + 1
        self.services.store.store_log(self.release.release_id, self.log.to_bytes(),
                                      first_new_seq=first_new)
        self.unflushed = 0

    def record_and_flush(self, lane: str, *payloads: Payload) -> None:
        """Append one batch of events and store the log once: the intents before a batch of
        side effects (see docs/adr/0002)."""
        self.note(lane, *payloads)
        self.flush()

    def note(self, lane: str, *payloads: Payload) -> None:
        """Append events; they are stored with the next snapshot (before the next batch of
        side effects, or when the job stops): results, and facts a rerun can tell again."""
        for payload in payloads:
            self.record(lane, payload)

    # --- what the steps need ----------------------------------------------------------------

    @property
    def lane(self) -> LaneState:
        lane = self.log.state.lane(self.config.lane)
        if lane is None:
            raise ReleaseError(f"lane {self.config.lane!r} is not open")  # plan opens it first
        return lane

    def release_ref(self) -> ReleaseRef:
        ref = self.log.state.release_of(self.lane)
        if ref is None:
            raise ReleaseError(f"lane {self.config.lane!r} has no release yet")
        return ref

    def may_publish(self) -> bool:
        """Publishing steps run only in the approval environment's job (or a rehearsal)."""
        if self.config.step not in {StepInput.PUBLISH, StepInput.AUTO}:
            return False
        return self.services.in_environment(self.config.approval_environment)


def utc_text(moment: datetime) -> str:
    """A moment as the log writes it (UTC, whole seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment.astimezone(UTC).replace(microsecond=0))
