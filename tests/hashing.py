"""Counting the bytes of files read to be hashed: by the action and by twine.

`install()` wraps the two places a file is read for its digest: `action.digests.hash_file`
(every sha256 the action takes of a file) and twine's `HashManager.hash` (the sha256 and
blake2b twine takes when it makes a `PackageFile`); each adds the file's size to `FED`. What
the log's own hash chain and snapshots cost is not a file's bytes and is not counted. Used by
the scale test (bytes hashed per job) and, through a sitecustomize, by
benchmarks/bench_release.py in every process of a job.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from twine import package as twine_package

from action import digests

FED = [0]
_lock = threading.Lock()
_original = (digests.hash_file, twine_package.HashManager.hash)


def _count(path: Any) -> None:
    with _lock:
        FED[0] += Path(path).stat().st_size


def _hash_file(path: Any) -> str:
    _count(path)
    return _original[0](path)


def _twine_hash(self: twine_package.HashManager) -> None:
    _count(self.filename)
    _original[1](self)


def install() -> None:
    digests.hash_file = _hash_file  # type: ignore[assignment]
    twine_package.HashManager.hash = _twine_hash  # type: ignore[method-assign]


def uninstall() -> None:
    digests.hash_file = _original[0]  # type: ignore[assignment]
    twine_package.HashManager.hash = _original[1]  # type: ignore[method-assign]
