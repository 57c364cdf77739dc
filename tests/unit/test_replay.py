"""Replay and its guards: what an event claims must fit what is recorded."""

from __future__ import annotations

import pytest

from statemachine.errors import GuardError, ReleaseError, TransitionRefusedError
from statemachine.log import load
from statemachine.payloads import (
    Approved,
    AssetUploadStarted,
    BuildStarted,
    Drafted,
    FileRecorded,
    LaneOpened,
    Published,
    TestPublished,
    UploadConfirmed,
    UploadStarted,
)
from statemachine.records import FileRef
from tests.unit.story import BACKFILL_FILES, MAIN_FILES, Story, dist


def drafted_story() -> Story:
    return Story().drafted()


def test_replay_gathers_everything_the_next_step_needs():
    """Lane state, ledger, provenance, release id, approval and confirmed uploads."""
    story = Story()
    story.full()
    lane = load(story.log.to_bytes()).state.main
    assert lane is not None
    assert lane.state.value == "published"
    assert sorted(lane.files) == sorted(f.name for f in MAIN_FILES)
    assert lane.files["sample-1.0.0.tar.gz"].part == "linux"
    assert lane.provenance is not None and lane.provenance.name == "multiple.intoto.jsonl"
    assert lane.release is not None and lane.release.release_id == 7
    assert lane.approval is not None and lane.approval.approver == "octocat"
    assert lane.approval.manifest == lane.drafted_manifest
    assert set(lane.confirmed("pypi")) == {f.name for f in MAIN_FILES}


def test_dists_are_ordered_wheels_first():
    """Uploads go wheels first, then the sdist."""
    story = drafted_story()
    names = [f.name for f in story.log.state.main.dists()]
    assert names[-1].endswith(".tar.gz")


def test_an_event_before_its_lane_opens_is_refused():
    """Nothing may be recorded for a lane that has not been opened."""
    story = Story()
    with pytest.raises(GuardError, match="no lane-opened"):
        story.add("main", BuildStarted(part="sdist"))


def test_backfill_waits_for_the_main_lanes_draft():
    """A backfill lane may start only once the main lane is drafted."""
    story = Story()
    story.open()
    story.release()
    with pytest.raises(GuardError, match="drafted or later"):
        story.open("cp314", python=("cp314",))


def test_backfill_uses_the_tag_of_the_release():
    """A backfill for another commit than the release's is refused."""
    story = drafted_story()
    with pytest.raises(GuardError, match="tag's own commit"):
        story.add("cp314", LaneOpened(tag="v1.0.0", version="1.0.0", commit="b" * 40,
                                         repository="octo/sample", source_date_epoch=1,
                                         python=("cp314",)))


def test_backfill_never_touches_main_files():
    """A backfill lane cannot record a file of the main lane."""
    story = drafted_story()
    story.open("cp314", python=("cp314",))
    story.add("cp314", BuildStarted(part="linux"))
    with pytest.raises(GuardError, match="belongs to lane 'main'"):
        story.add("cp314", FileRecorded(part="linux", file=MAIN_FILES[1]))


def test_backfill_shares_the_main_release():
    """A backfill lane attaches to the main lane's release by id."""
    story = drafted_story()
    story.open("cp314", python=("cp314",))
    story.build("cp314", BACKFILL_FILES)
    lane = story.log.state.lanes["cp314"]
    assert story.log.state.release_of(lane).release_id == 7


def test_backfill_adds_no_sdist():
    """The sdist is the main lane's; a backfill adds wheels only."""
    story = drafted_story()
    story.open("cp314", python=("cp314",))
    story.add("cp314", BuildStarted(part="linux"))
    with pytest.raises(GuardError, match="wheels only"):
        story.add("cp314", FileRecorded(part="linux", file=dist("sample-1.0.0.post1.tar.gz")))


def test_main_lane_needs_exactly_one_sdist():
    """Built is refused without an sdist."""
    story = Story()
    story.open()
    story.release()
    with pytest.raises(GuardError, match="exactly one sdist"):
        story.build(files=MAIN_FILES[1:])


def test_built_waits_for_unfinished_parts():
    """A part that started and never finished blocks the completeness gate."""
    story = Story()
    story.open()
    story.add("main", BuildStarted(part="sdist"))
    with pytest.raises(GuardError, match="unfinished: sdist"):
        story.build()


def test_restarting_an_unfinished_part_forgets_its_files():
    """A part rebuilt after a crash replaces the files it recorded before."""
    story = Story()
    story.open()
    story.add("main", BuildStarted(part="linux"))
    story.add("main", FileRecorded(part="linux", file=MAIN_FILES[1]))
    story.add("main", BuildStarted(part="linux"))
    assert story.log.state.main.files == {}


def test_finished_parts_are_never_rebuilt():
    """A finished part cannot be started again."""
    story = Story()
    story.open()
    story.release()
    story.build()
    with pytest.raises(TransitionRefusedError):
        story.add("main", BuildStarted(part="linux"))


def test_asset_with_other_bytes_than_the_ledger_is_refused():
    """Attaching a file is recorded only with the ledger's digest."""
    story = Story()
    story.open()
    story.release()
    story.build()
    story.attest()
    other = FileRef(name=MAIN_FILES[0].name, size=3, sha256="e" * 64)
    with pytest.raises(GuardError, match="the ledger records"):
        story.add("main", AssetUploadStarted(file=other))


def test_drafted_needs_every_file_attached():
    """A draft missing a file cannot be sealed."""
    story = Story()
    story.open()
    story.release()
    story.build()
    story.attest()
    with pytest.raises(GuardError, match="the draft lacks files"):
        story.add("main", Drafted(manifest=story.log.state.main.manifest()))


def test_approval_must_be_for_the_drafted_manifest():
    """An approval of another manifest is refused."""
    story = drafted_story()
    with pytest.raises(GuardError, match="approve what is in the draft"):
        story.add("main", Approved(approver="x", approved_at="2026-11-01T13:00:00Z",
                                      environment="publish", manifest="c" * 64))


def test_upload_of_other_bytes_than_approved_is_refused():
    """An upload record with a digest other than the approved one is refused."""
    story = drafted_story()
    story.approve()
    wrong = FileRef(name=MAIN_FILES[1].name, size=MAIN_FILES[1].size, sha256="d" * 64)
    with pytest.raises(GuardError, match="is not the approved"):
        story.add("main", UploadConfirmed(index="testpypi", file=wrong))


def test_pypi_waits_for_test_pypi():
    """Uploading to PyPI while the lane is only approved is refused."""
    story = drafted_story()
    story.approve()
    with pytest.raises(GuardError, match="test-published"):
        story.add("main", UploadStarted(index="pypi", file=MAIN_FILES[1]))


def test_published_needs_every_file_confirmed():
    """The lane is published only when every dist is confirmed on PyPI."""
    story = drafted_story()
    story.approve()
    story.upload("main", "testpypi")
    story.add("main", TestPublished(url="t"))
    story.add("main", UploadConfirmed(index="pypi", file=MAIN_FILES[1]))
    with pytest.raises(GuardError, match="not yet confirmed on pypi"):
        story.add("main", Published(url="p"))


def test_test_pypi_can_be_turned_off():
    """With Test PyPI off, the lane moves on without uploads there, and says so."""
    story = drafted_story()
    story.approve()
    story.add("main", TestPublished(skipped=True))
    assert story.log.state.main.test_skipped


def test_refused_event_changes_nothing():
    """A refused append leaves the log and the state exactly as before."""
    story = drafted_story()
    before = (story.log.to_bytes(), story.log.state.seq, story.log.state.main.state)
    with pytest.raises(ReleaseError):
        story.add("main", Published(url="p"))
    assert (story.log.to_bytes(), story.log.state.seq, story.log.state.main.state) == before


def test_unknown_uploads_are_those_started_but_not_confirmed():
    """Replay tells which uploads must be checked on the index after a crash."""
    story = drafted_story()
    story.approve()
    story.add("main", UploadStarted(index="testpypi", file=MAIN_FILES[1]))
    assert story.log.state.main.indexes["testpypi"].unknown() == [MAIN_FILES[1].name]
