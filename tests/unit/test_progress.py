"""Progress events and their two views: the runner's log groups and the rehearsal's bars."""

from __future__ import annotations

from structlog.testing import capture_logs

from action.github_run import StepGroups
from action.progress import BuildingPart, FileUploaded, Notice, StepStarted
from action.rehearse import ProgressLines, bar
from statemachine.plan import StepKind

ATTEST = StepStarted(kind=StepKind.ATTEST, why="sign provenance")
UPLOAD = FileUploaded(index="testpypi", name="x-1.0.tar.gz", outcome="uploaded", number=1,
                      total=2)


def test_the_runner_folds_each_step_in_its_own_group(capsys):
    """A step opens a group and closes the one before; closing twice writes one endgroup."""
    groups = StepGroups()
    groups(ATTEST)
    groups(StepStarted(kind=StepKind.SEAL_DRAFT, why="the draft is complete"))
    groups.close()
    groups.close()
    assert capsys.readouterr().out.splitlines() == [
        "::group::attest: sign provenance", "::endgroup::",
        "::group::seal-draft: the draft is complete", "::endgroup::",
    ]


def test_the_runner_logs_uploads_and_notices_as_events_not_groups(capsys):
    """A notice with a colon in it opens no group; an upload is a log event with its fields."""
    groups = StepGroups()
    with capture_logs() as logs:
        groups(Notice(text="the release is already published: nothing to do"))
        groups(UPLOAD)
    assert "::group::" not in capsys.readouterr().out
    assert logs[1] == {"event": "upload", "log_level": "info", "index": "testpypi",
                       "file": "x-1.0.tar.gz", "outcome": "uploaded", "file_number": "1/2"}


def test_a_bar_fills_with_what_is_done():
    """Empty, part-filled and full bars of the same width, with the count."""
    assert bar(0, 4) == "[" + " " * 20 + "] 0/4"
    assert bar(4, 4) == "[" + "━" * 20 + "] 4/4"
    half = bar(2, 4)
    assert half.startswith("[" + "━" * 10) and half.endswith("] 2/4")
    assert len(half) == len(bar(0, 4))


def test_the_rehearsal_draws_builds_and_uploads_as_bars():
    """A build step is drawn once, as its part's bar; an upload as its index's bar."""
    lines: list[str] = []
    view = ProgressLines(lines.append)
    view(StepStarted(kind=StepKind.BUILD, why="build sdist"))
    view(BuildingPart(part="sdist", number=1, total=2))
    view(UPLOAD)
    view(ATTEST)
    assert lines == [
        f"  - build    {bar(0, 2)} part 1 (sdist)\n",
        f"    testpypi {bar(1, 2)} x-1.0.tar.gz uploaded\n",
        "  - attest: sign provenance\n",
    ]
