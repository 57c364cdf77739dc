"""Planning: from the replayed state and the job's request to the ordered next steps."""

from __future__ import annotations

from statemachine.payloads import (
    BuildFinished,
    BuildStarted,
    ReleaseRequested,
    UploadConfirmed,
    UploadStarted,
)
from statemachine.plan import Request, StepInput, StepKind, StopKind, plan
from statemachine.replay import ReleaseState
from tests.unit.story import MAIN_FILES, Story, dist


def kinds(p):
    return [s.kind for s in p.steps]


def test_a_new_tag_opens_its_lane_then_makes_the_draft_and_builds():
    """An empty log plans: open the lane, create the draft, build this job's parts."""
    p = plan(ReleaseState(), Request(step=StepInput.BUILD, parts=("sdist", "linux")))
    assert kinds(p) == [StepKind.OPEN_LANE, StepKind.CREATE_RELEASE, StepKind.BUILD,
                        StepKind.BUILD]
    assert p.next.kind is StepKind.OPEN_LANE


def test_a_draft_request_without_a_result_is_checked_before_making_another():
    """After a crash between requesting and recording the draft, the plan looks for it first."""
    story = Story()
    story.open()
    story.add("main", ReleaseRequested(tag="v1.0.0"))
    p = plan(story.log.state, Request(step=StepInput.BUILD, parts=("sdist",)))
    assert p.next.kind is StepKind.FIND_RELEASE
    assert StepKind.CREATE_RELEASE not in kinds(p)


def test_an_unfinished_part_is_built_again_and_a_finished_one_never():
    """Only parts without a build-finished event are (re)built."""
    story = Story()
    story.open()
    story.release()
    story.add("main", BuildStarted(part="sdist"))
    story.add("main", BuildFinished(part="sdist"))
    story.add("main", BuildStarted(part="linux"))
    p = plan(story.log.state, Request(step=StepInput.BUILD, parts=("sdist", "linux")))
    builds = [s for s in p.steps if s.kind is StepKind.BUILD]
    assert [s.names for s in builds] == [("linux",)]
    assert "never finished" in builds[0].why


def test_files_from_other_jobs_are_taken_in():
    """Dist files present in the job's directory but not in the ledger are taken in."""
    story = Story()
    story.open()
    story.release()
    mac = dist("sample-1.0.0-cp311-cp311-macosx_11_0_arm64.whl")
    p = plan(story.log.state, Request(step=StepInput.RELEASE, present=(mac,)))
    assert kinds(p)[:2] == [StepKind.TAKE_IN, StepKind.ATTACH]
    assert p.steps[0].names == (mac.name,)
    assert StepKind.SEAL_BUILT in kinds(p)


def test_the_release_job_attests_and_seals_the_draft_then_waits_for_approval():
    """After building, the release step goes to drafted and stops for the reviewer."""
    story = Story()
    story.open()
    story.release()
    story.build()
    p = plan(story.log.state, Request(step=StepInput.RELEASE))
    assert kinds(p) == [StepKind.ATTEST, StepKind.ATTACH, StepKind.SEAL_DRAFT]
    assert p.stop.kind is StopKind.NEEDS_APPROVAL


def test_publishing_outside_the_approval_environment_stops_with_why():
    """A job that may not publish plans nothing past the draft and says what to do."""
    story = Story().drafted()
    p = plan(story.log.state, Request(step=StepInput.PUBLISH, may_publish=False))
    assert p.steps == ()
    assert p.stop.kind is StopKind.NEEDS_APPROVAL
    assert "`publish` environment" in p.stop.message


def test_publish_plans_approval_test_pypi_pypi_then_the_release():
    """In the approval environment: approve, then each index, then publish the release."""
    story = Story().drafted()
    p = plan(story.log.state, Request(step=StepInput.PUBLISH, may_publish=True))
    assert kinds(p) == [StepKind.APPROVE, StepKind.UPLOAD, StepKind.SEAL_INDEX, StepKind.UPLOAD,
                        StepKind.SEAL_INDEX, StepKind.PUBLISH_RELEASE]
    assert [s.names[0] for s in p.steps if s.kind is StepKind.UPLOAD] == ["testpypi", "pypi"]


def test_uploads_cut_off_are_checked_and_confirmed_ones_skipped():
    """A crash mid-upload plans a check of the unknown file and uploads only the rest."""
    story = Story().drafted()
    story.approve()
    dists = story.log.state.main.dists()
    story.add("main", UploadStarted(index="testpypi", file=dists[0]))
    story.add("main", UploadConfirmed(index="testpypi", file=dists[0]))
    story.add("main", UploadStarted(index="testpypi", file=dists[1]))
    p = plan(story.log.state, Request(step=StepInput.PUBLISH, may_publish=True))
    assert p.steps[0].kind is StepKind.CHECK_UPLOADS
    assert p.steps[0].names == ("testpypi", dists[1].name)
    assert p.steps[1].names == ("testpypi", dists[2].name)


def test_test_pypi_turned_off_is_sealed_without_uploads():
    """skip_test_index plans a seal of Test PyPI with no upload there."""
    story = Story().drafted()
    story.approve()
    p = plan(story.log.state, Request(step=StepInput.PUBLISH, may_publish=True,
                                      skip_test_index=True))
    assert kinds(p)[:2] == [StepKind.SEAL_INDEX, StepKind.UPLOAD]
    assert p.steps[1].names[0] == "pypi"


def test_a_published_lane_has_only_the_release_to_publish():
    """A re-dispatch after everything is done plans nothing but the idempotent last act."""
    story = Story()
    story.full()
    p = plan(story.log.state, Request(step=StepInput.AUTO, may_publish=True))
    assert kinds(p) == [StepKind.PUBLISH_RELEASE]
    assert p.stop.kind is StopKind.DONE


def test_backfill_waits_for_the_main_draft():
    """A backfill lane before the main lane's draft is blocked, with why."""
    story = Story()
    story.open()
    p = plan(story.log.state, Request(lane="cp314", step=StepInput.BUILD, parts=("linux",)))
    assert p.steps == ()
    assert p.stop.kind is StopKind.BLOCKED
    assert "draft" in p.stop.message


def test_backfill_reuses_the_release_and_builds_no_sdist():
    """A backfill lane plans no new draft and never the sdist part."""
    story = Story().drafted()
    p = plan(story.log.state, Request(lane="cp314", step=StepInput.BUILD,
                                      parts=("sdist", "linux")))
    assert kinds(p) == [StepKind.OPEN_LANE, StepKind.BUILD]
    assert p.steps[1].names == ("linux",)


def test_plan_is_pure_and_repeatable():
    """The same state and request give the same plan, and planning changes nothing."""
    story = Story()
    story.open()
    story.release()
    before = story.log.to_bytes()
    request = Request(step=StepInput.AUTO, parts=("linux",), present=(MAIN_FILES[0],))
    assert plan(story.log.state, request) == plan(story.log.state, request)
    assert story.log.to_bytes() == before


def test_publishing_a_lane_that_is_only_built_says_what_must_happen_first():
    """Issue 11: `step: publish` on a built lane failed with an internal message about an
    empty manifest digest. It plans nothing and names the release step, in or out of the
    approval environment."""
    story = Story()
    story.open()
    story.release()
    story.build()
    for may_publish in (True, False):
        p = plan(story.log.state, Request(step=StepInput.PUBLISH, may_publish=may_publish))
        assert p.steps == ()
        assert p.stop.kind is StopKind.BLOCKED
        assert p.stop.message.startswith("lane 'main' is built: its draft is not finished")
        assert "run the `release` step first" in p.stop.message
    # A job that also releases goes on through the draft to publishing.
    p = plan(story.log.state, Request(step=StepInput.AUTO, may_publish=True))
    assert StepKind.SEAL_DRAFT in kinds(p) and StepKind.APPROVE in kinds(p)
