"""Issue 5: the real pipeline publishes a tiny project to two real pypiservers.

Every test drives `action.pipeline.run` with the real LocalStore, KeySigner, twine and
pypiserver. The project is built once per module up to `drafted` (no index is touched up to
there); each test copies that store and goes on from it with fresh Jobs, as new workflow runs
would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from action import pipeline
from action.attestation.keys import generate_key
from action.errors import ApprovalError, DigestMismatchError, PackageIndexError, ReleaseError
from action.index import Outcome, PackageIndex
from action.progress import Notice
from statemachine.payloads import Approved, UploadStarted
from statemachine.plan import StopKind
from statemachine.states import EventType, State
from tests.fixtures_index import TEST_TOKEN
from tests.integration.harness import (
    CP314_TAG,
    CP314_WHEEL,
    NAME,
    SDIST,
    VERSION,
    WHEEL,
    Approvals,
    ProcessDied,
    Progress,
    Uploads,
    World,
    approval,
    build,
    held_files,
    make_project,
    sha256,
    simple_listing,
)

if TYPE_CHECKING:
    from pathlib import Path

    from action.index import IndexConfig
    from action.job import Job
    from tests.fixtures_index import PypiServer

MAIN_FILES = sorted([SDIST, WHEEL])


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory,
            pypiservers: dict[str, PypiServer]) -> World:
    """The tiny project taken to `drafted` once for the module (the indexes are only read:
    has the release's 14-day window closed?)."""
    root = tmp_path_factory.mktemp("drafted")
    private, _public = generate_key()
    for server in pypiservers.values():
        server.clean()
    world = World(make_project(root), root / "store", private,
                  {name: server.config() for name, server in pypiservers.items()})
    job = world.job(root / "job", in_environment=False)
    final = pipeline.run(job)
    assert final.stop.kind is StopKind.NEEDS_APPROVAL, final.stop
    assert job.lane.state is State.DRAFTED
    return world


@pytest.fixture(scope="module")
def handover(drafted: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real cp314 wheel of the tag's commit, as another job would hand it over."""
    out = tmp_path_factory.mktemp("handover")
    wheel = build(drafted.project, out, "wheel", wheel_tag=CP314_TAG)
    assert wheel.name == CP314_WHEEL
    return out


@pytest.fixture(scope="module")
def foreign_sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist with the release's file name and other bytes (someone else's upload)."""
    root = tmp_path_factory.mktemp("foreign")
    project = make_project(root, content="X = 2  # not what was approved\n")
    sdist = build(project, root / "dist", "sdist")
    assert sdist.name == SDIST
    return sdist


@pytest.fixture
def world(
    drafted: World, tmp_path: Path, testpypi: IndexConfig, pypi: IndexConfig
) -> World:
    """A copy of the drafted release, and two empty indexes."""
    store = tmp_path / "store"
    shutil.copytree(drafted.store_root, store)
    return World(drafted.project, store, drafted.private_key,
                 {"testpypi": testpypi, "pypi": pypi})


@pytest.fixture
def servers(testpypi_server: PypiServer, pypi_server: PypiServer) -> dict[str, PypiServer]:
    return {"testpypi": testpypi_server, "pypi": pypi_server}


def run(job: Job) -> Job:
    """Run the job to its end and check it ended DONE."""
    final = pipeline.run(job)
    assert final.stop.kind is StopKind.DONE, final.stop
    return job


def publish(world: World, workdir: Path) -> Job:
    return run(world.job(workdir))


def ledger(job: Job, lane: str = "main") -> dict[str, str]:
    state = job.log.state.lanes[lane]
    return {f.name: f.sha256 for f in state.dists()}


def assets(world: World) -> dict[str, Path]:
    (release,) = (world.store_root / "releases").iterdir()
    return {p.name: p for p in (release / "assets").iterdir() if not p.name.startswith(".")}


def types(job: Job) -> list[EventType]:
    return [e.type for e in job.log.events]


def assert_published_once(world: World, servers: dict[str, PypiServer],
                          expected: dict[str, str]) -> None:
    """Each index holds each expected file exactly once, listed with the ledger's digest."""
    for name, server in servers.items():
        assert held_files(server.packages) == sorted(expected), name
        assert simple_listing(world.indexes[name]) == sorted(expected.items()), name
        for file in server.packages.rglob("*.*"):
            assert sha256(file) == expected[file.name], (name, file.name)


def twine_upload(config: IndexConfig, path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", config.upload_url, "-u", "__token__", "-p", TEST_TOKEN, str(path)],
        check=True, capture_output=True,
    )


# --- the main lane ------------------------------------------------------------------------------


def test_main_lane_goes_from_tag_to_published(drafted, tmp_path, testpypi, pypi, servers):
    """A fresh store and a tag: one run builds, drafts, approves and publishes to both indexes."""
    world = World(drafted.project, tmp_path / "store", drafted.private_key,
                  {"testpypi": testpypi, "pypi": pypi})
    job = publish(world, tmp_path / "job")
    assert job.log.events[-1].type is EventType.PUBLISHED
    assert [lane.state for lane in job.log.state.lanes.values()] == [State.PUBLISHED]
    assert EventType.APPROVED in types(job) and EventType.TEST_PUBLISHED in types(job)
    assert job.release is not None and not job.release.draft
    assert_published_once(world, servers, ledger(job))


def test_pip_downloads_exactly_the_draft_bytes(world, tmp_path, pypi):
    """pip, reading the "PyPI" index, gets the wheel and sdist with the draft's sha256."""
    job = publish(world, tmp_path / "job")
    draft = assets(world)
    for option in ("--only-binary", "--no-binary"):
        dest = tmp_path / option
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
             "--disable-pip-version-check", "--quiet", option, ":all:", "--no-build-isolation",
             "--index-url", pypi.simple_url, "--dest", str(dest), f"{NAME}=={VERSION}"],
            check=True, capture_output=True,
        )
        (got,) = dest.iterdir()
        assert sha256(got) == sha256(draft[got.name]) == ledger(job)[got.name]


def test_rerun_after_publishing_does_nothing(world, tmp_path):
    """A run after everything is published records no event, uploads nothing and says so."""
    first = publish(world, tmp_path / "first")
    before = {name: path.read_bytes() for name, path in assets(world).items()}
    uploads, progress = Uploads(), Progress()
    job = world.job(tmp_path / "again", uploads=uploads, progress=progress)
    final = pipeline.run(job)
    assert final.stop.kind is StopKind.DONE and final.next is None
    assert "published" in final.stop.message
    assert {name: path.read_bytes() for name, path in assets(world).items()} == before
    assert job.log.to_bytes() == first.log.to_bytes() and job.unflushed == 0
    assert uploads.done == []
    assert Notice(text="the release is already published: nothing to do") in progress.events


# --- crashes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dies_after", [1, 2, 3, 4])
def test_crash_after_an_upload_then_rerun_publishes_each_file_once(
    world, tmp_path, servers, dies_after
):
    """Killed after the Nth upload, a fresh run ends published with every file once per index."""
    crashed = Uploads(die_after=dies_after, workers=1)  # one at a time: killed after the Nth
    with pytest.raises(ProcessDied):
        pipeline.run(world.job(tmp_path / "crashed", uploads=crashed))
    assert len(crashed.done) == dies_after
    rerun = Uploads()
    job = run(world.job(tmp_path / "rerun", uploads=rerun))
    assert job.log.events[-1].type is EventType.PUBLISHED
    assert_published_once(world, servers, ledger(job))
    uploaded = [(i, n) for i, n, o in crashed.done + rerun.done if o is Outcome.UPLOADED]
    assert sorted(uploaded) == sorted((i, n) for i in servers for n in MAIN_FILES)
    assert types(job).count(EventType.UPLOAD_CONFIRMED) == 4


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sidecar", [True, False], ids=["bytes-and-digest", "bytes-only"])
def test_draft_file_replaced_after_approval_uploads_nothing(world, tmp_path, servers, sidecar):
    """Other bytes on the draft after approval: nothing is uploaded; the error names both."""
    approving = world.job(tmp_path / "approve", progress=Progress(stop_before="upload"))
    with pytest.raises(ProcessDied):
        pipeline.run(approving)
    assert approving.lane.state is State.APPROVED
    asset = assets(world)[WHEEL]
    approved = sha256(asset)
    asset.write_bytes(asset.read_bytes() + b"\0")
    if sidecar:
        (asset.parent.parent / "digests" / WHEEL).write_text(sha256(asset), encoding="ascii")
    uploads = Uploads()
    job = world.job(tmp_path / "publish", uploads=uploads)
    with pytest.raises(DigestMismatchError) as caught:
        pipeline.run(job)
    assert not any(e.type is EventType.UPLOAD_STARTED for e in job.log.events)
    message = str(caught.value)
    assert WHEEL in message and approved in message and sha256(asset) in message
    assert uploads.done == []
    assert all(held_files(server.packages) == [] for server in servers.values())


@pytest.mark.parametrize("index", ["testpypi", "pypi"])
def test_index_holding_other_bytes_under_a_name_stops(world, tmp_path, servers, foreign_sdist,
                                                      index):
    """A name already taken by other bytes: stop before any upload to any index (issue 11:
    PyPI holding other bytes stopped the run only after Test PyPI got every file)."""
    twine_upload(world.indexes[index], foreign_sdist)
    uploads = Uploads()
    job = world.job(tmp_path / "job", uploads=uploads)
    with pytest.raises(DigestMismatchError) as caught:
        pipeline.run(job)
    ours = ledger(job)[SDIST]
    message = str(caught.value)
    assert SDIST in message and ours in message and sha256(foreign_sdist) in message
    assert held_files(servers[index].packages) == [SDIST]
    assert simple_listing(world.indexes[index]) == [(SDIST, sha256(foreign_sdist))]
    assert uploads.done == []
    other = "pypi" if index == "testpypi" else "testpypi"
    assert held_files(servers[other].packages) == []
    assert [e for e in job.log.events if isinstance(e.payload, UploadStarted)] == []
    assert f"{index} ({world.indexes[index].simple_url})" in message


def test_no_approval_is_refused(world, tmp_path, servers):
    """No approval recorded: refused with what to do, and nothing is uploaded."""
    uploads = Uploads()
    job = world.job(tmp_path / "job", approvals=Approvals([]), uploads=uploads)
    with pytest.raises(ReleaseError, match="no approval of the `publish` environment") as caught:
        pipeline.run(job)
    assert "require-approval: false" in caught.value.hint
    assert job.lane.state is State.DRAFTED and job.lane.approval is None
    assert uploads.done == []
    assert all(held_files(server.packages) == [] for server in servers.values())


class ForgedApprovals(Approvals):
    """The log's approval is what `approvals` says (a forger's); GitHub's record of the run
    is `real`."""

    def __init__(self, forged: list, real: list) -> None:
        super().__init__(forged)
        self.real = real

    def of_run(self, _run_id: str, environment: str) -> list:
        return [r for r in self.real if environment in r.environments]


def test_an_approval_github_did_not_record_is_refused_before_any_upload(world, tmp_path,
                                                                        servers):
    """Issue 11: the log (anyone with the build job's token can write it) records an approver
    who never approved. Checked against GitHub's approvals of the run that recorded it: the
    lane stops before the first upload, naming both."""
    uploads = Uploads()
    job = world.job(tmp_path / "job", uploads=uploads, approvals=ForgedApprovals(
        [approval("mallory")], [approval("reviewer")]))
    with pytest.raises(ApprovalError) as caught:
        pipeline.run(job)
    assert caught.value.message == (
        "the log records that mallory approved `publish` at 2026-01-02T09:30:00Z in run 4242, "
        "but GitHub's approvals of that run say otherwise (reviewer at 2026-01-02T09:30:00Z): "
        "this approval was not recorded by the action")
    assert caught.value.exit_code == 21
    assert uploads.done == []
    assert all(held_files(server.packages) == [] for server in servers.values())


def test_an_approved_event_written_before_the_real_approval_is_not_trusted(world, tmp_path,
                                                                           servers):
    """Issue 11: an `approved` event placed in the log before the reviewer approved was kept.
    Its time is GitHub's, but the event was written before it: refused."""
    uploads = Uploads()
    job = world.job(tmp_path / "job", uploads=uploads)
    job.services.clock = lambda: datetime(2026, 1, 2, 9, 0, tzinfo=UTC)  # before 09:30
    with pytest.raises(ApprovalError) as caught:
        pipeline.run(job)
    assert caught.value.message.endswith(
        "in an event written at 2026-01-02T09:00:00Z, before GitHub recorded that approval "
        "(2026-01-02T09:30:00Z): an approval is recorded after it is given, so this event was "
        "placed there by someone else")
    assert uploads.done == []


def test_an_opt_out_in_the_log_counts_only_where_the_workflow_opts_out(world, tmp_path,
                                                                        servers):
    """The log says the review was opted out; a job that requires approval refuses to go on."""
    first = world.job(tmp_path / "first", approvals=Approvals([]), require_approval=False,
                      uploads=Uploads(die_after=0))  # killed as its first upload starts
    with pytest.raises(ProcessDied):
        pipeline.run(first)
    uploads = Uploads()
    job = world.job(tmp_path / "job", approvals=Approvals([]), uploads=uploads)
    with pytest.raises(ApprovalError, match=r"published without review \(require-approval: "
                       r"false\), but this job's workflow requires approval"):
        pipeline.run(job)
    assert uploads.done == []
    opted = world.job(tmp_path / "opted", approvals=Approvals([]), require_approval=False)
    assert pipeline.run(opted).stop.kind is StopKind.DONE


def test_opting_out_of_approval_is_recorded_as_such(world, tmp_path):
    """require_approval=False without an approval records Approved.opted_out, by the actor."""
    job = world.job(tmp_path / "job", approvals=Approvals([]), require_approval=False,
                    progress=Progress(stop_before="upload"))
    with pytest.raises(ProcessDied):
        pipeline.run(job)
    (approved,) = [e.payload for e in job.log.events if isinstance(e.payload, Approved)]
    assert approved.opted_out is True
    assert approved.approver == "octocat"
    assert "require-approval: false" in approved.comment


# --- a backfill lane ----------------------------------------------------------------------------


def test_backfill_lane_publishes_only_its_wheel(world, tmp_path, servers, handover):
    """After main is published, a cp314 lane attaches and uploads only its own wheel."""
    main_job = publish(world, tmp_path / "main")
    main_events = main_job.log.to_bytes()
    main_assets = {name: sha256(path) for name, path in assets(world).items()
                   if not name.startswith("release-state.")}
    uploads = Uploads()
    job = run(world.job(tmp_path / "cp314", python=("cp314",), parts=(),
                        wheels=("cp314-manylinux_x86_64",), dist_dir=handover, uploads=uploads))
    state = job.log.state
    assert state.lanes["cp314"].state is State.PUBLISHED
    assert state.lanes["main"].state is State.PUBLISHED
    assert job.log.to_bytes().startswith(main_events)
    new = job.log.events[len(main_job.log):]
    assert {e.lane for e in new} == {"cp314"}
    assert ledger(job, "cp314") == {CP314_WHEEL: sha256(handover / CP314_WHEEL)}
    assert sorted(uploads.done) == [("pypi", CP314_WHEEL, Outcome.UPLOADED),
                                    ("testpypi", CP314_WHEEL, Outcome.UPLOADED)]
    after = {name: sha256(path) for name, path in assets(world).items()}
    assert {n: after[n] for n in main_assets} == main_assets
    assert set(after) - set(main_assets) >= {CP314_WHEEL, "cp314.intoto.jsonl"}
    assert_published_once(world, servers, {**ledger(job), **ledger(job, "cp314")})



# --- the 14-day window ----------------------------------------------------------------------


def backfill_job(world, tmp_path, handover, uploads):
    return world.job(tmp_path / "cp314", python=("cp314",), parts=(),
                     wheels=("cp314-manylinux_x86_64",), dist_dir=handover, uploads=uploads)


def test_backfill_lane_on_a_release_past_14_days_is_refused_before_building(
        world, tmp_path, servers, handover):
    """The release on PyPI is 15 days old: the cp314 lane stops before anything, naming the
    day it closed, and no index is sent a file."""
    publish(world, tmp_path / "main")
    servers["pypi"].age(NAME, VERSION, days=15)
    opened = servers["pypi"].double.first_upload(NAME, VERSION)
    assert opened is not None
    uploads = Uploads()
    job = backfill_job(world, tmp_path, handover, uploads)
    with pytest.raises(PackageIndexError) as caught:
        pipeline.run(job)
    closes = opened + timedelta(days=14)
    assert (f"{NAME} {VERSION} on pypi was first uploaded on {opened:%Y-%m-%d %H:%M} UTC, so it "
            f"closed to new files on {closes:%Y-%m-%d %H:%M} UTC") in caught.value.message
    assert "Stopped before the lane built anything." in caught.value.message
    assert f"({VERSION}.post1)" in caught.value.hint
    assert "cp314" not in job.log.state.lanes
    assert uploads.done == []
    for server in servers.values():
        assert server.double.uploads_of(CP314_WHEEL) == []


def test_backfill_lane_inside_the_window_publishes(world, tmp_path, servers, handover):
    """13 days after the first upload the release still takes the new wheel."""
    publish(world, tmp_path / "main")
    for server in servers.values():
        server.age(NAME, VERSION, days=13)
    uploads = Uploads()
    job = run(backfill_job(world, tmp_path, handover, uploads))
    assert job.log.state.lanes["cp314"].state is State.PUBLISHED
    assert sorted(uploads.done) == [("pypi", CP314_WHEEL, Outcome.UPLOADED),
                                    ("testpypi", CP314_WHEEL, Outcome.UPLOADED)]


def test_a_main_lane_resumed_past_the_window_says_so_and_sends_nothing(world, tmp_path,
                                                                       servers):
    """Killed after PyPI took the wheel; resumed 15 days later: the sdist can no longer go,
    and the error says so instead of the index's 400."""
    crashed = Uploads(die_after=3)  # testpypi: wheel, sdist; pypi: wheel
    with pytest.raises(ProcessDied):
        pipeline.run(world.job(tmp_path / "crashed", uploads=crashed))
    if (servers["pypi"].packages / SDIST).exists():  # the batch may have landed whole
        servers["pypi"].double.delete(SDIST)
    servers["pypi"].age(NAME, VERSION, days=15)
    sent = len(servers["pypi"].double.uploads_of(SDIST))
    rerun = Uploads()
    with pytest.raises(PackageIndexError) as caught:
        pipeline.run(world.job(tmp_path / "rerun", uploads=rerun))
    assert "closed to new files on" in caught.value.message
    assert f"({SDIST} still to upload)" in caught.value.message
    assert "Stopped before uploading anything to pypi." in caught.value.message
    assert len(servers["pypi"].double.uploads_of(SDIST)) == sent
    assert [n for i, n, o in rerun.done if o is Outcome.UPLOADED] == []


# --- confirming the release through the JSON API ----------------------------------------------


def test_each_index_confirms_exactly_the_approved_files(world, tmp_path, servers):
    """After the last upload each index's JSON API lists the two approved files, no more."""
    progress = Progress()
    run(world.job(tmp_path / "job", progress=progress))
    for name in ("testpypi", "pypi"):
        assert Notice(text=f"{name}: the release holds exactly the 2 approved files") in (
            progress.events)
        assert any(c.path == f"/pypi/{NAME}/{VERSION}/json"
                   for c in servers[name].double.calls)


def test_a_file_nobody_approved_on_the_release_stops_the_lane(world, tmp_path, servers,
                                                               handover):
    """Someone else adds a wheel to the release on PyPI: the lane is not sealed published and
    the error names the file."""
    crashed = Uploads(die_after=4)  # every upload done, the PyPI seal not yet
    with pytest.raises(ProcessDied):
        pipeline.run(world.job(tmp_path / "crashed", uploads=crashed))
    PackageIndex(servers["pypi"].config()).upload(handover / CP314_WHEEL)
    job = world.job(tmp_path / "rerun")
    with pytest.raises(PackageIndexError) as caught:
        pipeline.run(job)
    assert f"{CP314_WHEEL}: not approved, yet the index holds it" in caught.value.message
    assert job.lane.state is State.TEST_PUBLISHED
