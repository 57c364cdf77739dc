"""The output layer: nothing printed can start a workflow command of its own (issue 11)."""

from __future__ import annotations

import io
import re

from action import logs, output, runner
from action.builders.tools import show as _show
from action.cli import main, report_error
from action.config import RunnerFiles
from action.errors import ConfigError
from statemachine import payloads as ev
from tests.unit.story import CAUSE, COMMIT, Story

HOSTILE = "v1.0.0\n::set-output name=state::published\r::warning::X%0A"

def runner_lines(text: str) -> list[str]:
    """The lines as the runner splits them (on LF and on CR)."""
    return re.split(r"\r\n|\r|\n", text)


def injected(text: str) -> list[str]:
    """The runner lines that are commands the action never writes there itself."""
    return [line for line in runner_lines(text)
            if re.match(r"::(set-output|warning|add-mask)", line)]


def test_escape_data_escapes_percent_cr_lf_in_that_order():
    """`%` first, so that an escaped CR cannot be read back as a CR."""
    assert output.escape_data("a%0D\r\nb") == "a%250D%0D%0Ab"
    assert output.escape_property("t:i,tle\n") == "t%3Ai%2Ctle%0A"


def test_terminal_text_shows_control_characters():
    """On a terminal a CR or an escape sequence is shown, LF and TAB kept."""
    assert output.for_terminal("a\rb\x1b[2Jc\n\td") == "a\\x0db\\x1b[2Jc\n\td"


def test_a_hostile_tag_in_an_error_line_is_one_line_on_the_runner(tmp_path, capsys, monkeypatch):
    """The error line carries the dispatched tag escaped: no injected command, stdout or stderr."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/sample")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("INPUT_TAG", HOSTILE)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code = main(["run"])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.err.startswith("error: ")
    assert not injected(captured.err), captured.err
    assert not injected(captured.out), captured.out
    assert "\r" not in captured.err
    assert captured.err.count("\n") == 1  # one error line


def test_an_error_with_cr_and_lf_is_one_escaped_line_on_the_runner(tmp_path, capsys):
    """report_error: the `error:` line and the annotation both escape the message."""
    report_error(ConfigError(f"dist/{HOSTILE}.whl is not a wheel", hint="x"),
                 RunnerFiles(on_github=True, step_summary=tmp_path / "s.md"))
    captured = capsys.readouterr()
    assert not injected(captured.err), captured.err
    assert not injected(captured.out), captured.out
    assert captured.err.count("\n") == 1
    assert "%0A::set-output" in captured.err


def test_an_error_line_off_the_runner_shows_the_cr(tmp_path, capsys, monkeypatch):
    """On a terminal the CR cannot hide the start of the line."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    bad = tmp_path / "a\rb.jsonl"
    assert main(["status", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "a\\x0db.jsonl" in err


def test_status_prints_a_hostile_tag_from_a_log_escaped(tmp_path, capsys, monkeypatch):
    """`status LOG` on a runner: a tag the log carries cannot become a command."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    story = Story()
    story.log.append("main", ev.LaneOpened(
        tag=HOSTILE, version="1.0.0", commit=COMMIT, repository="octo/sample",
        source_date_epoch=1700000000, python=()), at=story.clock, cause=CAUSE)
    path = tmp_path / "release.jsonl"
    path.write_bytes(story.log.to_bytes())
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert not injected(out), out
    assert "v1.0.0%0A::set-output name=state::published%0D::warning::X%250A" in out


def test_log_lines_on_the_runner_are_escaped():
    """A structlog line with a hostile event text stays one line; JSON lines escape on their own.

    (structlog's console renderer shows key=value strings with repr; the event text it does not.)
    """
    stream = io.StringIO()
    logs.configure(runner=True, stream=stream)
    logs.get_logger("t").info(HOSTILE, tag=HOSTILE)
    logs.configure(json=True, runner=True, stream=stream)
    logs.get_logger("t").info("tag", tag=HOSTILE)
    logs.configure()
    text = stream.getvalue()
    assert not injected(text), text
    assert len(runner_lines(text.rstrip("\n"))) == 2


def test_log_lines_off_the_runner_are_not_escaped():
    """The escaping is the runner's: a rehearsal's console keeps its text (the check can fail)."""
    stream = io.StringIO()
    logs.configure(stream=stream)
    logs.get_logger("t").info("tag", tag="a%b")
    logs.configure()
    assert "a%b" in stream.getvalue()


def test_annotations_groups_and_masks_escape_their_text(capsys):
    """Every workflow command the action writes escapes its data and properties."""
    runner.annotate("warning", HOSTILE, title="a\nb")
    runner.start_group(HOSTILE)
    logs.mask("se%cr\ret-value-1")
    assert runner_lines(capsys.readouterr().out.rstrip("\n")) == [
        "::warning title=a%0Ab::v1.0.0%0A::set-output name=state::published%0D::warning::X%250A",
        "::group::v1.0.0%0A::set-output name=state::published%0D::warning::X%250A",
        "::add-mask::se%25cr",  # the runner unescapes it back to `se%cr`
        "::add-mask::et-value-1",
    ]


def test_build_output_is_shown_with_commands_stopped(capsys):
    """A build's output (the project's own code runs) is wrapped in stop-commands."""
    text = "compiling\n::set-output name=state::published\n::endgroup::\n::add-mask::x\n"
    _show("cibuildwheel", text, {"GITHUB_ACTIONS": "true"})
    err = capsys.readouterr().err
    lines = runner_lines(err.rstrip("\n"))
    assert lines[0] == "::group::cibuildwheel"
    start = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[1])
    assert start
    token = start.group(1)
    body_end = lines.index(f"::{token}::")
    assert "::set-output name=state::published" in lines[2:body_end]
    assert lines[body_end + 1:] == ["::endgroup::"]
    assert token not in text


def test_the_stop_token_is_new_each_time():
    """A token seen in one build's output cannot end the next one's."""
    first = output.untrusted("a", "x", stream=io.StringIO())
    second = output.untrusted("a", "x", stream=io.StringIO())
    assert first != second
