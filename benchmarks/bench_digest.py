"""SHA-256 of a large file: the action's `hash_file` against `openssl dgst -sha256`.

    .venv/bin/python benchmarks/bench_digest.py [--size-mb 1024] [--rounds 5]

One file of random bytes (in the page cache after the first read, as a file the job has just
written or downloaded is), hashed `rounds` times by each reader in turn; the best wall time of
each is printed with its throughput, its CPU time (user + system, children included for
openssl) and its throughput as a share of openssl's. The readers: openssl (a process per
round, as a shell step would run it), `hashlib.file_digest` (what `sha256_file` did before)
and `action.digests.hash_file` (unbuffered readinto a reused 4 MiB buffer). Figures only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from action.digests import hash_file  # noqa: E402 - after the path is set

MIB = 1 << 20


def openssl(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[0]


def file_digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def best_of(rounds: int, reader: object, path: Path) -> tuple[float, float, str]:
    """(best wall seconds, CPU seconds of that round, digest)."""
    best, cpu, digest = float("inf"), 0.0, ""
    for _ in range(rounds):
        before, started = os.times(), time.perf_counter()
        digest = reader(path)  # type: ignore[operator]
        wall, after = time.perf_counter() - started, os.times()
        if wall < best:
            best = wall
            cpu = sum(after[i] - before[i] for i in range(4))  # user, system, children's
    return best, cpu, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mb * MIB
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        path = Path(tmp) / "big.bin"
        with path.open("wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(MIB))
        openssl(path)  # into the page cache
        rows = [(name, *best_of(args.rounds, reader, path)) for name, reader in (
            ("openssl dgst -sha256", openssl),
            ("hashlib.file_digest (before)", file_digest),
            ("action.digests.hash_file", hash_file),
        )]
    if len({digest for *_rest, digest in rows}) != 1:
        raise SystemExit("the readers disagree about the digest")
    base = rows[0][1]
    print(f"\nSHA-256 of {args.size_mb} MiB, best of {args.rounds} (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for name, wall, cpu, _digest in rows:
        print(f"  {name:30} {wall:6.3f} s  {size / wall / 1e6:7.0f} MB/s  cpu {cpu:5.2f} s  "
              f"{base / wall:5.0%} of openssl")


if __name__ == "__main__":
    main()
