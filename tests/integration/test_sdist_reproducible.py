"""The sdist's bytes depend on the commit only, not on the checkout it was built from."""

from __future__ import annotations

import os
import subprocess

from action.builders.sdist import build_sdist
from tests.real_projects import COMMIT_EPOCH, tagged_example


def test_two_checkouts_of_one_commit_with_other_file_dates_give_the_same_sdist(tmp_path):
    """One clone as checked out now, one with every file dated years earlier: same bytes."""
    origin = tagged_example("sample-cext", tmp_path / "origin")  # setuptools keeps file dates
    clones = []
    for name in ("fresh", "old-dates"):
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", "--branch", "v1.0.0", str(origin), str(clone)],
                       check=True, capture_output=True)
        clones.append(clone)
    old = COMMIT_EPOCH - 5 * 365 * 86400
    for path in clones[1].rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (old, old))
    sdists = [build_sdist(clone, tmp_path / f"out-{clone.name}",
                          source_date_epoch=COMMIT_EPOCH, env=dict(os.environ)).files[0]
              for clone in clones]
    assert sdists[0].name == sdists[1].name
    assert sdists[0].read_bytes() == sdists[1].read_bytes()
