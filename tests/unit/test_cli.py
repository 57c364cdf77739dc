"""The `status` and `diagram` commands, and errors turned into exit codes and annotations."""

from __future__ import annotations

from action.cli import main
from tests.unit.story import Story


def write_log(tmp_path, story: Story):
    path = tmp_path / "release.jsonl"
    path.write_bytes(story.log.to_bytes())
    return path


def test_status_prints_each_lane_and_what_is_next(tmp_path, capsys):
    """status replays the log: lane, state, files, release and the next steps."""
    story = Story()
    story.open()
    story.release()
    story.build()
    assert main(["status", str(write_log(tmp_path, story))]) == 0
    out = capsys.readouterr().out
    assert "lane main: built (v1.0.0, 3 files, release 7)" in out
    assert "next: attest" in out


def test_status_refuses_a_bad_log_naming_the_line(tmp_path, capsys):
    """A broken log exits non-zero with the first bad line in the message."""
    story = Story()
    story.full()
    path = write_log(tmp_path, story)
    lines = path.read_bytes().split(b"\n")
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"\n".join(lines))
    assert main(["status", str(path)]) == 3
    assert "line 3 of the state log" in capsys.readouterr().err


def test_status_on_a_missing_file_says_so(tmp_path, capsys):
    """A missing log is a configuration error with a hint."""
    assert main(["status", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read the log" in capsys.readouterr().err


def test_errors_become_annotations_on_github(tmp_path, capsys, monkeypatch):
    """On a runner, an error is an ::error:: annotation and a job-summary line."""
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["status", str(tmp_path / "nope.jsonl")]) == 2
    assert capsys.readouterr().out.startswith("::error title=configuration error::cannot read")
    assert "**configuration error:**" in summary.read_text()


def test_diagram_marks_the_lanes_of_a_log(tmp_path, capsys):
    """diagram LOG draws the machine with the log's lanes marked."""
    story = Story()
    story.full()
    assert main(["diagram", str(write_log(tmp_path, story))]) == 0
    assert "note right of published: lane main" in capsys.readouterr().out
