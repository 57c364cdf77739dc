"""Every usage line the project shows people parses with the real command line's parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from action import cli
from action.rehearsal_world import PYPISERVER
from action.rehearse import invocation

REPO = Path(__file__).resolve().parents[2]
COMMANDS = "run|rehearse|status|verify|diagram"
IN_BACKTICKS = re.compile(rf"`release-action ((?:{COMMANDS})\b[^`]*)`")
IN_DOCSTRING = re.compile(rf"^\s+release-action ((?:{COMMANDS})\b.*?)(?:\s{{2,}}.*)?$",
                          re.MULTILINE)
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(/[A-Z0-9_]+)?$")


def shown_usages() -> list[tuple[str, str]]:
    """(where, usage) for every `release-action ...` in the README, docs/ and cli's docstring."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8"))
        found += [(path.name, m.group(1).strip()) for m in IN_BACKTICKS.finditer(text)]
    doc = cli.__doc__ or ""
    found += [("action/cli.py", m.group(1).strip()) for m in IN_DOCSTRING.finditer(doc)]
    return found


def variants(usage: str) -> list[list[str]]:
    """The usage with its [optional] parts left out, and with all of them in."""
    without = re.sub(r"\[[^\]]*\]", "", usage).split()
    with_all = usage.replace("[", "").replace("]", "").split()
    return [[("x" if PLACEHOLDER.match(t) else t) for t in argv] for argv in (without, with_all)]


USAGES = shown_usages()


def test_the_usage_lines_are_found():
    """The scan sees the README's and the docstring's lines (a regex that finds none fails)."""
    where = {w for w, _ in USAGES}
    assert {"README.md", "action/cli.py"} <= where
    commands = {u.split()[0] for _, u in USAGES}
    assert commands == set(COMMANDS.split("|"))


@pytest.mark.parametrize(("where", "usage"), USAGES, ids=[f"{w}: {u}" for w, u in USAGES])
def test_a_shown_usage_parses(where, usage, capsys):
    """Each shown line, with and without its optional parts, is accepted by the parser."""
    for argv in variants(usage):
        try:
            cli._parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: `release-action {usage}` is refused: "
                        f"{capsys.readouterr().err.strip()}")


def test_a_usage_missing_a_required_option_is_refused():
    """The check can fail: verify without --repository and --commit does not parse."""
    with pytest.raises(SystemExit):
        cli._parser().parse_args(variants("verify DIR")[0])


def test_invocation_is_the_venv_script_by_absolute_path(tmp_path, monkeypatch):
    """Started as a relative .venv/bin/release-action not on PATH: its absolute path."""
    script = tmp_path / ".venv" / "bin" / "release-action"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert invocation(".venv/bin/release-action") == str(script)


def test_invocation_is_the_bare_name_when_path_finds_the_same_script(tmp_path, monkeypatch):
    """When PATH finds the very script that runs, the bare name works as printed."""
    script = tmp_path / "release-action"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert invocation(str(script)) == "release-action"


def test_invocation_from_elsewhere_is_this_interpreter_with_the_module():
    """Started by another program (pytest here): this Python with -m action.cli."""
    assert invocation("/usr/lib/something/pytest").endswith(" -m action.cli")


def test_the_pypiserver_hint_pins_what_pyproject_pins():
    """The rehearsal's install hint names the same pypiserver as the test extra."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"{PYPISERVER}"' in text
