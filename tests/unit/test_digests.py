"""Each file hashed once per job: the digest cache, the reader, and bounded batch workers."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from action import digests, dists
from action.errors import ReleaseError
from action.workers import run_bounded
from tests import hashing
from tests.many_dists import write_wheel


@pytest.fixture
def counted():
    """Count the bytes of files read to be hashed, with an empty digest cache."""
    digests._known.clear()
    dists._packages.clear()
    hashing.install()
    before = hashing.FED[0]
    yield lambda: hashing.FED[0] - before
    hashing.uninstall()


def test_the_reader_agrees_with_hashlib(tmp_path):
    """Across block boundaries and for an empty file, the digest is hashlib's."""
    for size in (0, 1, digests.BLOCK - 1, digests.BLOCK, 2 * digests.BLOCK + 7):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        assert digests.hash_file(path) == hashlib.sha256(data).hexdigest()


def test_a_file_is_read_once_while_it_stays_as_it_is(tmp_path, counted):
    """Asked three times, the file is read once."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    assert len({digests.sha256_file(path) for _ in range(3)}) == 1
    assert counted() == 1000


def test_a_rewritten_file_is_hashed_again(tmp_path, counted):
    """Other bytes of the same size, written after it was hashed: a new digest, not the old."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    first = digests.sha256_file(path)
    stat = path.stat()
    path.write_bytes(b"b" * 100)
    # a rewrite later than the file system's timestamp tick (a few ms on some) moves mtime
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert digests.sha256_file(path) == hashlib.sha256(b"b" * 100).hexdigest() != first
    assert counted() == 200


def test_a_dist_is_hashed_once_for_twine_and_for_the_ledger(tmp_path, counted):
    """twine's PackageFile reads the wheel once; its sha256 is the ledger's, no second read."""
    wheel = write_wheel(tmp_path, "p", "1.0", "cp311-cp311-linux_x86_64", 5000)
    assert dists.check_strict(wheel) == []
    assert dists.sha256(wheel) == digests.sha256_file(wheel) == hashlib.sha256(
        wheel.read_bytes()).hexdigest()
    assert counted() == wheel.stat().st_size


def test_workers_return_each_result_or_its_error_in_order():
    """A ReleaseError is that item's result; the others still run."""
    def work(n: int) -> int:
        if n == 3:
            raise ReleaseError("three")
        return n * 10

    results = run_bounded(work, list(range(6)), workers=3)
    assert [r if isinstance(r, int) else r.message for r in results] == [0, 10, 20, "three",
                                                                          40, 50]


def test_workers_stop_starting_items_after_anything_else_is_raised():
    """Another exception (a bug, the process being stopped) is raised; no item starts after."""
    started: list[int] = []
    gate = threading.Event()

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            raise KeyboardInterrupt
        gate.wait(0.2)
        return n

    with pytest.raises(KeyboardInterrupt):
        run_bounded(work, list(range(20)), workers=2)
    assert len(started) < 20
