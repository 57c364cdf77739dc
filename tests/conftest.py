"""Test tiers and the shared fixtures.

Tiers are markers: `unit` (the default, pure), `integration` (real local servers on 127.0.0.1)
and `docker` (a real Docker engine). Tests of a tier are selected by their directory, so a test
cannot forget its marker. With CI=true nothing that needs a server or Docker may skip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = [
    "tests.doubles.fixtures",
    "tests.fixtures_index",
    "tests.fixtures_docker",
    "tests.fixtures_sigstore",
    "tests.fixtures_warehouse",
]

TIERS = {"unit": "unit", "integration": "integration", "docker": "docker"}
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, TIERS[tier]))


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """The CLI configures structlog for its process; a test's CLI call must not leak into the
    next test (its level would hide the events another test captures)."""
    yield
    structlog.reset_defaults()


def require(condition: bool, why: str) -> None:
    """Skip when a local facility is missing, except under CI=true, where it is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {why}: .ci/run must have installed it")
    pytest.skip(why)
