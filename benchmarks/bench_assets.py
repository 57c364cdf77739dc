"""Release assets through the GitHub store against the GitHub double: memory and concurrency.

    .venv/bin/python benchmarks/bench_assets.py [--size-mb 1024]

1. Memory. A 1 GiB file (sparse, with a few written blocks) goes up and comes back through
   `GitHubStore`. Each phase runs in its own subprocess and reports its peak RSS (VmHWM); the
   baseline phase only imports and opens the store and lists the release's assets. For
   comparison, the same download through PyGithub's own `GitReleaseAsset.download_asset`. The
   double runs in this (parent) process, so the bytes it holds do not count against a phase.
2. Concurrency. 20 assets of 5 MiB each are uploaded, with the production tuning but for the
   pool size, to a double that answers every request after 50 ms: one at a time, 4 and 8
   workers; the store runs in its own process (not sharing a GIL with the double). Printed as
   seconds and ratios.

Figures only: nothing here asserts anything about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import github
import structlog

from action.github.store import GitHubStore, open_github_store
from action.github.transport import GitHubTuning
from tests.doubles.github import GitHubDouble

ROOT = Path(__file__).resolve().parents[1]

TOKEN = "ghs_bench_token"  # noqa: S105 - the double's token, not a secret
REPO = "acme/widget"
MIB = 1 << 20


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss: ru_maxrss survives exec, so
    a child forked from the parent (which holds the double's copy of the asset) would report
    the parent's size at fork time."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- child phases (one per subprocess) ----------------------------------------------------


def _store(api_url: str) -> GitHubStore:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    tuning = GitHubTuning(writes_per_minute=None, writes_per_hour=None)
    return open_github_store(api_url=api_url, token=TOKEN, repository=REPO, tuning=tuning)


def phase(name: str, api_url: str, release_id: int, path: Path) -> dict[str, float]:
    started = time.perf_counter()
    if name == "pygithub-download":
        _pygithub_download(api_url, release_id, path)
    elif name.startswith("many:"):
        _upload_many(api_url, release_id, path, workers=int(name.split(":")[1]))
        started = float(os.environ.get("BENCH_STARTED", started))
    else:
        store = _store(api_url)
        assets = store.list_assets(release_id)
        if name == "upload":
            store.upload_asset(release_id, path, name="big.bin")
        elif name == "download":
            (big,) = (a for a in assets if a.name == "big.bin")
            store.download_asset(release_id, big, path)
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def _upload_many(api_url: str, release_id: int, folder: Path, *, workers: int) -> None:
    """Production tuning but for the pool size; timed from the first request (after import)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    tuning = replace(GitHubTuning(), concurrency=workers)
    files = sorted(folder.iterdir())
    with open_github_store(api_url=api_url, token=TOKEN, repository=REPO,
                           tuning=tuning) as store:
        os.environ["BENCH_STARTED"] = str(time.perf_counter())
        store.upload_assets(release_id, files)


def _pygithub_download(api_url: str, release_id: int, path: Path) -> None:
    client = github.Github(base_url=api_url, auth=github.Auth.Token(TOKEN), retry=None,
                           seconds_between_requests=None, seconds_between_writes=None)
    release = client.get_repo(REPO).get_release(release_id)
    (big,) = (a for a in release.get_assets() if a.name == "big.bin")
    big.download_asset(str(path), chunk_size=MIB)


def run_phase(name: str, api_url: str, release_id: int, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, api_url, str(release_id), str(path)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the parent -----------------------------------------------------------------------------


def make_big_file(path: Path, size: int) -> None:
    """A sparse file of `size` bytes with a few real blocks, so its bytes are not all zero."""
    with path.open("wb") as stream:
        stream.truncate(size)
        for offset in (0, size // 2, size - MIB):
            stream.seek(offset)
            stream.write(os.urandom(MIB))


def memory(size: int, tmp: Path) -> None:
    big = tmp / "big.bin"
    make_big_file(big, size)
    with GitHubDouble(token=TOKEN) as double:
        repo = double.create_repo(REPO)
        release_id = repo.add_release("v1.0.0")
        rows = [("baseline (open store, list assets)", run_phase("baseline", double.api_url,
                                                                release_id, big))]
        rows.append((f"upload {size // MIB} MiB", run_phase("upload", double.api_url,
                                                          release_id, big)))
        big.unlink()
        back = tmp / "back.bin"
        rows.append((f"download {size // MIB} MiB", run_phase("download", double.api_url,
                                                            release_id, back)))
        back.unlink()
        rows.append(("PyGithub download_asset, for comparison",
                     run_phase("pygithub-download", double.api_url, release_id, back)))
        back.unlink()
    base = rows[0][1]["peak_rss_mb"]
    print(f"\nPeak memory per phase (each in its own process), file of {size // MIB} MiB")
    for label, row in rows:
        extra = row["peak_rss_mb"] - base
        print(f"  {label:42} {row['peak_rss_mb']:8.1f} MB  ({extra:+8.1f} MB over baseline)"
              f"  {row['seconds']:6.1f} s")


def concurrency(tmp: Path, count: int = 20, size: int = 5 * MIB, latency: float = 0.05) -> None:
    folder = tmp / "wheels"
    folder.mkdir()
    for n in range(count):
        (folder / f"wheel-{n:02d}.whl").write_bytes(os.urandom(size))
    production = GitHubTuning()
    print(f"\nUploading {count} assets of {size // MIB} MiB (store in its own process), double "
          f"latency {latency * 1000:.0f} ms, production pacing ({production.writes_per_minute} "
          f"writes a minute, {production.writes_per_hour} an hour)")
    timings = {}
    for workers in (1, 4, 8):
        with GitHubDouble(token=TOKEN, latency=latency) as double:
            release_id = double.create_repo(REPO).add_release("v1.0.0")
            row = run_phase(f"many:{workers}", double.api_url, release_id, folder)
        timings[workers] = row["seconds"]
        print(f"  {workers} worker(s): {timings[workers]:6.2f} s")
    print(f"  one at a time / 4 workers: {timings[1] / timings[4]:.1f}x;"
          f" one at a time / 8 workers: {timings[1] / timings[8]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--phase", nargs=4, metavar=("NAME", "API", "RELEASE", "PATH"))
    args = parser.parse_args()
    if args.phase:
        name, api, release, path = args.phase
        print(json.dumps(phase(name, api, int(release), Path(path))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-assets-") as tmp:
        memory(args.size_mb * MIB, Path(tmp))
        concurrency(Path(tmp))


if __name__ == "__main__":
    main()
