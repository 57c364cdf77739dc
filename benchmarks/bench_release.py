"""A whole release of many wheels: release-action against the seed-style workflow, in one run.

    .venv/bin/python benchmarks/bench_release.py                        # N = 10 and 100, 10 MiB
    .venv/bin/python benchmarks/bench_release.py --wheels 5 --size-mb 1  # a quick run

N wheels of the given size plus the sdist (generated, valid: `tests/many_dists.py`, so nothing
is compiled), the GitHub double answering every request after 50 ms, two pypiservers standing in
for Test PyPI and PyPI (`tests/fixtures_index.py`), and each job in its own process as a runner
would start it, on its own workspace and HOME:

- release-action: `release-action run` with `step: build` (the build job takes every file in:
  the sdist compile is left out), `step: release` (attest, finish the draft), `step: publish`
  (approved; Test PyPI, PyPI, publish the release), with the production write pacing; then a
  no-op re-dispatch of the publish job.
- seed-style (the workflow the project started from, `seed_workflow.py`): build = hash every
  file for the provenance; release = a PyGithub draft and `upload_asset` per file (PyGithub's
  defaults: 0.25 s between requests, 1 s between writes); publish = one `twine upload dist/*`
  per index.
  Its publish job reads the files from disk (the seed downloads workflow artifacts, which is
  not modelled), which favours it.

Columns per job: wall time, GitHub API requests (api + uploads; the redirected asset
downloads, which GitHub serves from its object storage, are counted apart), writes (POST,
PATCH, PUT, DELETE), and, from a sitecustomize that each Python process of the job loads
(twine's included): the peak RSS of the job's largest process (its VmHWM at exit; not wait4's
ru_maxrss, which a child inherits from the parent that holds the double's copy of every
asset) and the bytes fed to SHA-256, as a multiple of the bytes released. Figures only:
nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from action.attestation.keys import generate_key  # noqa: E402 - after the path is set
from tests.doubles.github import GitHubDouble  # noqa: E402
from tests.fixtures_index import TEST_TOKEN, PypiServer, start_pypiserver, stop_pypiserver  # noqa: E402
from tests.integration.harness import NAME, REPOSITORY, TAG, VERSION, make_project  # noqa: E402
from tests.many_dists import write_dists  # noqa: E402

SEED = Path(__file__).with_name("seed_workflow.py")
TOKEN = "ghs_bench_token"  # noqa: S105 - the double's token, not a secret
RUN_ID = 4242
MIB = 1 << 20
WRITES = {"POST", "PATCH", "PUT", "DELETE"}

# Loaded by every Python process of a job: counts the bytes of files it reads to hash them
# (tests/hashing.py), and reports that and its peak RSS to $BENCH_HASHED when it exits.
SITECUSTOMIZE = textwrap.dedent(
    """
    import atexit, os

    from tests import hashing

    hashing.install()

    @atexit.register
    def _report():
        peak = 0
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
        if os.environ.get("BENCH_HASHED"):
            with open(os.environ["BENCH_HASHED"], "a") as out:
                out.write(f"{os.getpid()} {hashing.FED[0]} {peak}\\n")
    """
)


@dataclass
class JobFigures:
    seconds: float = 0.0
    requests: int = 0
    writes: int = 0
    downloads: int = 0
    peak_rss_mb: float = 0.0
    hashed: int = 0


@dataclass
class Row:
    name: str
    jobs: dict[str, JobFigures] = field(default_factory=dict)

    def total(self, what: str, jobs: tuple[str, ...] = ("build", "release", "publish")) -> float:
        values = [getattr(self.jobs[j], what) for j in jobs if j in self.jobs]
        return max(values) if what == "peak_rss_mb" else sum(values)


@dataclass
class Setting:
    """What one row runs against: the files, the double, the indexes, a scratch directory."""

    dists: list[Path]
    double: GitHubDouble
    servers: dict[str, PypiServer]
    scratch: Path
    project: Path
    private_key: str
    sitedir: Path

    @property
    def released_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dists)


# --- measuring one job ------------------------------------------------------------------------


def measure(setting: Setting, name: str, argv: list[str], env: dict[str, str]) -> JobFigures:
    """Run one job's process; its wall time, GitHub calls, peak RSS and bytes hashed."""
    hashed = setting.scratch / f"hashed-{name}-{time.monotonic_ns()}"
    env = {**env, "PYTHONPATH": f"{setting.sitedir}{os.pathsep}{ROOT}",
           "BENCH_HASHED": str(hashed)}
    before = len(setting.double.calls)
    log = setting.scratch / f"{name}.log"
    started = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=env.get("GITHUB_WORKSPACE", ROOT))
        process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"job {name} failed ({process.returncode}); its log ends:\n{tail}")
    calls = setting.double.calls[before:]
    github = [c for c in calls if c.kind != "download"]
    reports = [line.split() for line in hashed.read_text().splitlines()] \
        if hashed.is_file() else []
    return JobFigures(seconds=seconds, requests=len(github),
                      writes=sum(c.method in WRITES for c in github),
                      downloads=len(calls) - len(github),
                      peak_rss_mb=max((int(r[2]) for r in reports), default=0) / 1024,
                      hashed=sum(int(r[1]) for r in reports))


# --- release-action ---------------------------------------------------------------------------


def workspace(setting: Setting, job: str, *, with_dists: bool) -> tuple[Path, Path]:
    """A fresh checkout of the project and a HOME for one job (each job is its own runner)."""
    root = setting.scratch / job
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    checkout = root / "workspace"
    subprocess.run(["git", "clone", "-q", str(setting.project), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", TAG], check=True)
    if with_dists:
        (checkout / "dist").mkdir()
        for path in setting.dists:
            os.link(path, checkout / "dist" / path.name)
    home = root / "home"
    home.mkdir()
    return checkout, home


def action_env(setting: Setting, step: str, checkout: Path, home: Path, sha: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    base.pop("RELEASE_ACTION_WRITE_INTERVAL", None)  # the production pacing
    return base | {
        "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": setting.double.api_url, "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": str(RUN_ID), "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/.github/workflows/release.yml@refs/tags/{TAG}",
        "GITHUB_EVENT_NAME": "push", "GITHUB_REF": f"refs/tags/{TAG}", "GITHUB_SHA": sha,
        "GITHUB_WORKSPACE": str(checkout), "HOME": str(home), "GITHUB_JOB": step,
        "GITHUB_OUTPUT": str(home / "output"), "GITHUB_STEP_SUMMARY": str(home / "summary"),
        "INPUT_STEP": step, "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_PARTS": "",
        "INPUT_PLATFORMS": "", "INPUT_SIGNING-KEY": setting.private_key,
        "INPUT_REPOSITORY-URL": setting.servers["pypi"].url + "/",
        "INPUT_TEST-REPOSITORY-URL": setting.servers["testpypi"].url + "/",
        "INPUT_PASSWORD": TEST_TOKEN, "INPUT_TEST-PASSWORD": TEST_TOKEN,
    }


def release_action(setting: Setting, sha: str) -> Row:
    row = Row("release-action")
    argv = [sys.executable, "-m", "action.cli", "run"]
    for step in ("build", "release", "publish"):
        if step == "publish":
            setting.double.repo(REPOSITORY).add_approval(RUN_ID, environments=("publish",))
        checkout, home = workspace(setting, step, with_dists=step == "build")
        env = action_env(setting, step, checkout, home, sha)
        row.jobs[step] = measure(setting, step, argv, env)
    checkout, home = workspace(setting, "again", with_dists=False)
    env = action_env(setting, "publish", checkout, home, sha) | {
        "GITHUB_EVENT_NAME": "workflow_dispatch", "INPUT_TAG": TAG}
    row.jobs["no-op re-dispatch"] = measure(setting, "again", argv, env)
    _check_published(setting)
    return row


def _check_published(setting: Setting) -> None:
    (release,) = setting.double.repo(REPOSITORY).releases()
    if release.draft:
        raise SystemExit("release-action left the release a draft")
    for server in setting.servers.values():
        held = sorted(p.name for p in server.packages.rglob("*") if p.is_file())
        if held != sorted(p.name for p in setting.dists):
            raise SystemExit(f"{server.name} holds {len(held)} files, not the release's")


# --- the seed-style workflow ------------------------------------------------------------------


def seed_style(setting: Setting) -> Row:
    row = Row("seed-style")
    folder = setting.scratch / "seed" / "dist"
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in setting.dists:
        os.link(path, folder / path.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "GITHUB_"))} | {
        "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": TEST_TOKEN, "GITHUB_TOKEN": TOKEN,
    }
    for job in ("build", "release", "publish"):
        argv = [sys.executable, str(SEED), job, str(folder), "--api", setting.double.api_url,
                "--repository", REPOSITORY, "--tag", TAG,
                "--index", setting.servers["testpypi"].url + "/",
                "--index", setting.servers["pypi"].url + "/"]
        row.jobs[job] = measure(setting, f"seed-{job}", argv, env)
    return row


# --- the table --------------------------------------------------------------------------------


def show(wheels: int, size_mb: float, released: int, rows: list[Row]) -> None:
    print(f"\n{wheels} wheels of {size_mb:g} MiB + the sdist ({released / MIB:.0f} MiB "
          "released); GitHub double at 50 ms per request; production pacing")
    head = (f"  {'':16} {'job':18} {'wall s':>8} {'requests':>9} {'writes':>7} "
            f"{'downloads':>9} {'peak RSS MB':>11} {'hashed':>7}")
    print(head)
    for row in rows:
        for job, fig in row.jobs.items():
            print(f"  {row.name:16} {job:18} {fig.seconds:8.1f} {fig.requests:9d} "
                  f"{fig.writes:7d} {fig.downloads:9d} {fig.peak_rss_mb:11.0f} "
                  f"{fig.hashed / released:6.1f}x")
        print(f"  {row.name:16} {'whole release':18} {row.total('seconds'):8.1f} "
              f"{row.total('requests'):9.0f} {row.total('writes'):7.0f} "
              f"{row.total('downloads'):9.0f} {row.total('peak_rss_mb'):11.0f}")
    ours, seed = rows
    print("  release-action / seed-style: "
          + ", ".join(f"{job} {ours.jobs[job].seconds / seed.jobs[job].seconds:.2f}x"
                      for job in ("build", "release", "publish"))
          + f"; whole release {ours.total('seconds') / seed.total('seconds'):.2f}x time, "
          f"{ours.total('requests') / seed.total('requests'):.1f}x requests, "
          f"{ours.total('writes') / seed.total('writes'):.1f}x writes")
    files = wheels + 1
    print(f"  targets (N = {files} files): requests <= 2N + 40 = {2 * files + 40}, writes <= "
          f"N + 15 = {files + 15}, no-op re-dispatch <= 10 requests, hashed <= 2x per job")


def one_size(wheels: int, size: int, latency: float, tmp: Path, logs: Path) -> None:
    dists = write_dists(tmp / "dists", name=NAME, version=VERSION, wheels=wheels, size=size)
    project = make_project(tmp / "project")
    sha = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    sitedir = tmp / "site"
    sitedir.mkdir(exist_ok=True)
    (sitedir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    private, _public = generate_key()
    rows = []
    logs.mkdir(parents=True, exist_ok=True)
    for runner in ("release-action", "seed-style"):
        scratch = tmp / runner
        scratch.mkdir()
        started = []
        for name in ("testpypi", "pypi"):
            (scratch / f"{name}-packages").mkdir()
            started.append(start_pypiserver(name, scratch / f"{name}-packages"))
        try:
            with GitHubDouble(token=TOKEN, latency=latency) as double:
                repo = double.create_repo(REPOSITORY)
                repo.add_commit("release", sha=sha, date=datetime(2026, 1, 1, tzinfo=UTC))
                repo.tag(TAG, sha, annotated=True, message=TAG)
                setting = Setting(dists, double, {s.name: s for _p, s in started}, scratch,
                                  project, private, sitedir)
                rows.append(release_action(setting, sha) if runner == "release-action"
                            else seed_style(setting))
        finally:
            for process, _server in started:
                stop_pypiserver(process)
            for job_log in scratch.glob("*.log"):
                shutil.copy(job_log, logs / f"{wheels}-{runner}-{job_log.name}")
            shutil.rmtree(scratch, ignore_errors=True)
    show(wheels, size / MIB, sum(p.stat().st_size for p in dists), rows)
    shutil.rmtree(tmp / "dists")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=int, nargs="+", default=[10, 100],
                        help="numbers of wheels, one table each (default: 10 100)")
    parser.add_argument("--size-mb", type=float, default=10.0, help="size of each wheel")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "bench-release",
                        help="where each job's log is kept (default: %(default)s)")
    args = parser.parse_args()
    for wheels in args.wheels:
        with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
            one_size(wheels, int(args.size_mb * MIB), args.latency_ms / 1000, Path(tmp),
                     args.logs)


if __name__ == "__main__":
    main()
