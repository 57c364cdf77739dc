"""Hypothesis drives random releases: valid and invalid events, crashes and replays.

Checked after every step: replay is deterministic; nothing reaches test-published or published
without an approval; a file counted as published has the approved digest; any changed byte in
the log is detected; backfill lanes never touch the main lane's files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from statemachine.errors import LogError, ReleaseError
from statemachine.ledger import manifest_digest
from statemachine.log import load
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
from statemachine.records import INDEXES, FileRef
from statemachine.states import State
from tests.unit.story import BACKFILL_FILES, COMMIT, MAIN_FILES, Story, dist

if TYPE_CHECKING:
    from statemachine.replay import LaneState, ReleaseState

BACKFILLS = {"cp314": BACKFILL_FILES, "cp315": (dist("sample-1.0.0-cp315-cp315-linux.whl"),)}
LANES = ("main", *BACKFILLS)
ALL_FILES = (*MAIN_FILES, *BACKFILL_FILES, *BACKFILLS["cp315"])
EXAMPLES = 100
STEPS = 50


def lane_files(name: str) -> tuple[FileRef, ...]:
    return MAIN_FILES if name == "main" else BACKFILLS[name]


def opening(name: str) -> LaneOpened:
    return LaneOpened(tag="v1.0.0", version="1.0.0", commit=COMMIT, repository="octo/sample",
                         source_date_epoch=1700000000, python=() if name == "main" else (name,))


def legal_next(state: ReleaseState) -> list[tuple[str, Payload]]:
    """Every event that may come next in some lane, as a release would produce it."""
    options: list[tuple[str, Payload]] = []
    for name in LANES:
        lane = state.lane(name)
        if lane is None:
            main = state.main
            if name == "main" or (main and main.state.rank >= State.DRAFTED.rank):
                options.append((name, opening(name)))
            continue
        options += [(name, p) for p in _next_in_lane(state, lane)]
    return options


def _next_in_lane(state: ReleaseState, lane: LaneState) -> list[Payload]:  # noqa: C901, PLR0911, PLR0912 - one branch per state
    s = lane.state
    if s is State.TAGGED:
        if state.release_of(lane) is None:
            return [ReleaseRecorded(release_id=7, url="u") if lane.release_requested
                    else ReleaseRequested(tag="v1.0.0")]
        others = [p for p in lane.unfinished_parts() if p != "linux"]
        if others:  # a part someone else started: it finishes too
            return [BuildFinished(part=others[0])]
        part = lane.parts.get("linux")
        if part is None:
            return [BuildStarted(part="linux")]
        if not part.finished:
            todo = [f for f in lane_files(lane.name) if state.owner_of(f.name) is None]
            restart = [BuildStarted(part="linux")]
            if todo:
                return [FileRecorded(part="linux", file=todo[0]), *restart]
            return [BuildFinished(part="linux"), *restart]
        missing = [f for f in lane_files(lane.name) if state.owner_of(f.name) is None]
        if not lane.files and not missing:
            return []  # another lane took this lane's files (a hostile event): it is stuck
        if missing:  # the part finished short: the rest arrives from another job
            return [FileRecorded(part="taken-in", file=missing[0], origin="taken-in")]
        return [Built(manifest=manifest_digest([a.file for a in lane.files.values()]))]
    if s is State.BUILT:
        return [Attested(provenance=dist(f"{lane.name}.intoto.jsonl"), signer="key")]
    if s is State.ATTESTED:
        for f in lane.missing_assets():
            if f.name in lane.assets_started:
                return [AssetUploaded(file=f, asset_id=9)]
            return [AssetUploadStarted(file=f)]
        return [Drafted(manifest=lane.manifest())]
    if s is State.DRAFTED:
        return [Approved(approver="a", approved_at="2026-11-01T00:00:00Z",
                            environment="publish", manifest=lane.drafted_manifest)]
    if s in (State.APPROVED, State.TEST_PUBLISHED):
        index = "testpypi" if s is State.APPROVED else "pypi"
        record = lane.indexes[index]
        for f in lane.dists():
            if f.name not in record.confirmed:
                started = f.name in record.started
                return [UploadConfirmed(index=index, file=f) if started
                        else UploadStarted(index=index, file=f)]
        if index == "testpypi":
            return [TestPublished(url="t")]
        return [Published(url="p")]
    return []


digests = st.sampled_from([f.sha256 for f in ALL_FILES] + ["e" * 64])
files = st.builds(lambda name, sha: FileRef(name=name, size=4, sha256=sha),
                  st.sampled_from([f.name for f in ALL_FILES] + ["x.whl"]), digests) | \
    st.sampled_from(ALL_FILES)
manifests = st.sampled_from(["c" * 64]) | st.just("")


def arbitrary_payloads(state: ReleaseState) -> st.SearchStrategy[Payload]:
    """Events a buggy or hostile caller might send: right kinds, often wrong content."""
    real = [lane.manifest() for lane in state.lanes.values()] or ["c" * 64]
    manifest = st.sampled_from([*real, "c" * 64])
    index = st.sampled_from(INDEXES)
    part = st.sampled_from(["linux", "sdist", "taken-in"])
    options: list[st.SearchStrategy[Any]] = [
        st.sampled_from(LANES).map(opening),
        st.builds(lambda p: BuildStarted(part=p), part),
        st.builds(lambda p, f, o: FileRecorded(part=p, file=f, origin=o), part, files,
                  st.sampled_from(["built", "taken-in"])),
        st.builds(lambda p: BuildFinished(part=p), part),
        st.builds(lambda m: Built(manifest=m), manifest),
        st.builds(lambda f: Attested(provenance=f, signer="k"), files),
        st.just(ReleaseRequested(tag="v1.0.0")),
        st.just(ReleaseRecorded(release_id=8, url="u")),
        st.builds(lambda f: AssetUploadStarted(file=f), files),
        st.builds(lambda f: AssetUploaded(file=f, asset_id=1), files),
        st.builds(lambda m: Drafted(manifest=m), manifest),
        st.builds(lambda m: Approved(approver="z", approved_at="2026-11-01T00:00:00Z",
                                        environment="publish", manifest=m), manifest),
        st.builds(lambda i, f: UploadStarted(index=i, file=f), index, files),
        st.builds(lambda i, f: UploadConfirmed(index=i, file=f), index, files),
        st.builds(lambda s: TestPublished(skipped=s), st.booleans()),
        st.just(Published(url="p")),
    ]
    return st.one_of(options)


def summary(state: ReleaseState) -> Any:
    """Everything replay derives, as plain data (for determinism checks)."""
    return (state.seq, state.head, {
        name: (lane.state, dict(lane.files), lane.provenance, lane.approval, lane.release,
               {i: (dict(r.started), dict(r.confirmed)) for i, r in lane.indexes.items()},
               {p: (r.finished, r.tools) for p, r in lane.parts.items()}, dict(lane.assets),
               lane.drafted_manifest, lane.test_skipped)
        for name, lane in state.lanes.items()
    })


class ReleaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.story = Story()

    @property
    def state(self) -> ReleaseState:
        return self.story.log.state

    @rule(data=st.data())
    def valid_event(self, data: st.DataObject) -> None:
        options = legal_next(self.state)
        if options:
            lane, payload = data.draw(st.sampled_from(options))
            self.story.add(lane, payload)

    @rule(data=st.data())
    def arbitrary_event(self, data: st.DataObject) -> None:
        lane = data.draw(st.sampled_from(LANES))
        payload = data.draw(arbitrary_payloads(self.state))
        before = (self.story.log.to_bytes(), summary(self.state))
        try:
            self.story.add(lane, payload)
        except ReleaseError:
            assert (self.story.log.to_bytes(), summary(self.state)) == before

    @rule()
    def crash_and_resume(self) -> None:
        """The process dies between two events; the next run replays the stored bytes."""
        reloaded = load(self.story.log.to_bytes())
        assert summary(reloaded.state) == summary(self.state)
        self.story.log = reloaded

    @precondition(lambda self: len(self.story.log) > 0)
    @rule(data=st.data())
    def one_changed_byte_is_detected(self, data: st.DataObject) -> None:
        raw = self.story.log.to_bytes()
        position = data.draw(st.integers(0, len(raw) - 1))
        value = data.draw(st.integers(0, 255).filter(lambda v: v != raw[position]))
        with pytest.raises(LogError):
            load(raw[:position] + bytes([value]) + raw[position + 1:])

    @invariant()
    def nothing_is_published_without_approval(self) -> None:
        for lane in self.state.lanes.values():
            if lane.state.rank >= State.TEST_PUBLISHED.rank:
                assert lane.approval is not None
                assert lane.approval.manifest == manifest_digest(lane.release_files())

    @invariant()
    def published_files_have_the_approved_digest(self) -> None:
        for lane in self.state.lanes.values():
            for record in lane.indexes.values():
                for name, file in record.confirmed.items():
                    assert lane.approval is not None
                    assert lane.files[name].file == file

    @invariant()
    def backfill_lanes_never_touch_main_files(self) -> None:
        main = self.state.main
        for lane in self.state.lanes.values():
            if lane.is_backfill and main is not None:
                assert not set(lane.files) & set(main.files)
                assert not set(lane.assets) & {f.name for f in main.dists()}


ReleaseMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # No shrinking: a failing walk is printed as found; shrinking one can take many minutes,
    # more than the CI budget allows.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
TestRelease = ReleaseMachine.TestCase


def test_random_walks_reach_published():
    """The valid-event rule alone reaches published in every lane (the generator is sound)."""
    story = Story()
    for _ in range(400):
        options = legal_next(story.log.state)
        if not options:
            break
        story.add(*options[0])
    assert {lane.state for lane in story.log.state.lanes.values()} == {State.PUBLISHED}
    assert set(story.log.state.lanes) == set(LANES)
