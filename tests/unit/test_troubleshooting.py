"""docs/troubleshooting.md is written from the error classes and cannot drift from them."""

from __future__ import annotations

from action import troubleshooting
from action.errors import ConfigError
from statemachine.errors import ReleaseError

REGENERATE = "run `.venv/bin/python -m action.troubleshooting --write` and commit the page"


def test_the_page_is_the_one_the_code_writes():
    """The committed page equals what the generator writes from today's code."""
    committed = troubleshooting.PAGE.read_text(encoding="utf-8")
    assert committed == troubleshooting.render(), f"docs/troubleshooting.md is stale: {REGENERATE}"


def test_every_error_class_has_a_fix_and_a_meaning():
    """Each class the tool can raise says what it means (docstring) and what to do (`fix`)."""
    classes = troubleshooting.error_classes()
    assert ReleaseError in classes
    assert ConfigError in classes
    missing = [c.__name__ for c in classes if not c.fix.strip() or not (c.__doc__ or "").strip()]
    assert missing == []


def test_every_class_has_its_own_section_in_the_table_and_below():
    """The table links each class to its section; no two sections share an anchor."""
    page = troubleshooting.render()
    classes = troubleshooting.error_classes()
    anchors = [troubleshooting._anchor(c) for c in classes]
    assert len(set(anchors)) == len(anchors)
    for cls, anchor in zip(classes, anchors, strict=True):
        assert f"(#{anchor})" in page
        assert f"\n## {troubleshooting._heading(cls)}\n" in page


def test_the_messages_are_read_from_the_raises_in_the_source():
    """A raise in cli.py shows up under its class with its hint, placeholders marked."""
    found = troubleshooting.raised({"ConfigError"})["ConfigError"]
    read_log = [r for r in found if r.module == "action.cli"
                and r.message.startswith("cannot read the log {path}")]
    assert len(read_log) == 1
    assert read_log[0].hint.startswith("Give the path of a state log")
    assert sum(len(v) for v in troubleshooting.raised(
        {c.__name__ for c in troubleshooting.error_classes()}).values()) > 100
