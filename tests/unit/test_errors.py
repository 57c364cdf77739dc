"""Errors: one module for the action's, a code per kind, and the README's list made from them."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import action
import statemachine
from action import errors
from statemachine.errors import ReleaseError

README = Path(__file__).parents[2] / "README.md"
BEGIN, END = "<!-- begin exit-codes -->\n", "<!-- end exit-codes -->"


def every_subclass(cls: type[ReleaseError]) -> set[type[ReleaseError]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *every_subclass(sub)}
    return found


def import_everything() -> None:
    for package in (action, statemachine):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


def test_every_error_is_defined_in_one_of_the_two_error_modules():
    """No module but action/errors.py (and the core's errors.py) defines an error class."""
    import_everything()
    elsewhere = {f"{c.__module__}.{c.__name__}" for c in every_subclass(ReleaseError)
                 if c.__module__ not in {"action.errors", "statemachine.errors"}}
    assert not elsewhere


def test_the_action_s_exit_codes_are_unique():
    """Each of the action's errors has a code no other error (the core's included) has."""
    classes = errors.error_classes()
    mine = [c for c in classes if c.__module__ == "action.errors"]
    for cls in mine:
        same = [c.__name__ for c in classes if c.exit_code == cls.exit_code and c is not cls]
        assert not same, f"{cls.__name__} shares exit code {cls.exit_code} with {same}"


def test_every_error_is_in_the_table():
    """The table lists each class with its code once."""
    table = errors.exit_code_table()
    for cls in errors.error_classes():
        assert table.count(f"| {cls.exit_code} | `{cls.__name__}` ") == 1


def test_the_readme_lists_the_exit_codes_as_the_classes_say():
    """README.md's exit-code table is the one `exit_code_table()` writes (regenerate it)."""
    text = README.read_text(encoding="utf-8")
    listed = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert listed == errors.exit_code_table()
