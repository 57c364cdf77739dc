"""The one way the action hashes a file: streamed sha256, and each file at most once per job.

Reading: unbuffered `readinto` into one reused 4 MiB buffer per call, with the kernel told the
read is sequential. `hashlib.file_digest` reads 256 KiB at a time through a buffered file and
spent its extra time in the kernel; benchmarks/bench_digest.py compares both with
`openssl dgst -sha256` on a 1 GiB file.

The cache: a digest is remembered under the file's identity and state (device, inode, size,
modification and change times in ns). Writing a file changes its mtime and ctime, so a file
rewritten after it was hashed is hashed again; no caller can set ctime (a same-size rewrite
within one timestamp tick of the file's previous write, a few ms on some file systems, would
not be seen: nothing on a runner rewrites a dist that fast, and a process that could might as
well swap the file between any check and its upload). `remember` enters a
digest computed while the file was written (a download hashed as it streamed), so that file is
never read back just to hash it. The cache lives as long as the process (one job).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

BLOCK = 4 << 20

_Key = tuple[int, int, int, int, int]
_known: dict[_Key, str] = {}
_lock = threading.Lock()


def _key(path: Path) -> _Key:
    stat = path.stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def hash_file(path: Path) -> str:
    """sha256 of the file's bytes, read now (no cache)."""
    digest, buffer = hashlib.sha256(), bytearray(BLOCK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(stream.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of the file, hashed at most once while it stays as it is."""
    key = _key(path)
    with _lock:
        known = _known.get(key)
    if known is None:
        known = hash_file(path)
        with _lock:
            _known[key] = known
    return known


def remember(path: Path, sha256: str) -> None:
    """The file at `path`, as it is now, has this digest (computed while it was written)."""
    key = _key(path)
    with _lock:
        _known[key] = sha256.lower()
