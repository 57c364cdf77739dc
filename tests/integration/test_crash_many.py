"""Crashes in a release of many files: killed at each kind of side effect, a rerun finishes it.

The log is stored per batch (intents before, results with the next snapshot), so a job killed
in the middle of a batch leaves the world ahead of the log. Each test kills one job of a
12-file release at one kind of side effect: during the attach batch, between two uploads of an
index's batch (several in flight), before the final publish, and at the publishing request
itself. A fresh job (a new runner) then runs to the end: the release is published, every file
is attached once and held exactly once by each index, with the ledger's bytes, and the log
confirms each of them once.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from action import pipeline
from action.attestation.keys import generate_key
from action.stores.local import LocalStore
from statemachine.plan import StopKind
from statemachine.states import EventType, State
from tests.integration.harness import (
    NAME,
    VERSION,
    ProcessDied,
    Progress,
    Uploads,
    World,
    held_files,
    make_project,
    sha256,
)
from tests.many_dists import write_dists

if TYPE_CHECKING:
    from pathlib import Path

    from action.index import IndexConfig
    from action.job import Job
    from action.stores.base import AssetInfo, ReleaseInfo
    from tests.fixtures_index import PypiServer

pytestmark = pytest.mark.integration

FILES = 12


class DyingStore(LocalStore):
    """The local store, killing the job after the Nth file attached or at publishing."""

    def __init__(self, root: Path, *, attached: int | None = None,
                 at_publish: bool = False) -> None:
        super().__init__(root)
        self.attached, self.at_publish, self.count = attached, at_publish, 0

    def upload_asset(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        info = super().upload_asset(release_id, path, name=name)
        if not name.startswith("release-state."):
            self.count += 1
            if self.attached is not None and self.count >= self.attached:
                raise ProcessDied(f"killed after attaching {name}")
        return info

    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        if self.at_publish:
            raise ProcessDied("killed as the release was being published")
        return super().publish(release_id, body=body, read=read)


@pytest.fixture
def many(tmp_path: Path, testpypi: IndexConfig, pypi: IndexConfig) -> tuple[World, Path]:
    """The tiny project's tag, and 12 dists of it handed over to the job (taken in)."""
    private, _public = generate_key()
    world = World(make_project(tmp_path / "project"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    handover = tmp_path / "handover"
    write_dists(handover, name=NAME, version=VERSION, wheels=FILES - 1, size=2048)
    return world, handover


@pytest.fixture
def servers(testpypi_server: PypiServer, pypi_server: PypiServer) -> dict[str, PypiServer]:
    return {"testpypi": testpypi_server, "pypi": pypi_server}


def job(world: World, handover: Path, workdir: Path, **options: object) -> Job:
    """A job on a fresh runner: the handed-over files copied into its own dist directory."""
    dist = workdir / "dist"
    shutil.copytree(handover, dist)
    return world.job(workdir, parts=(), dist_dir=dist, **options)  # type: ignore[arg-type]


def crash_then_finish(world: World, handover: Path, tmp_path: Path,
                      **crash: object) -> Job:
    with pytest.raises(ProcessDied):
        pipeline.run(job(world, handover, tmp_path / "crashed", **crash))
    rerun = job(world, handover, tmp_path / "rerun")
    final = pipeline.run(rerun)
    assert final.stop.kind is StopKind.DONE, final.stop
    return rerun


def assert_released_once(world: World, servers: dict[str, PypiServer], rerun: Job) -> None:
    lane = rerun.lane
    assert lane.state is State.PUBLISHED
    ledger = {f.name: f.sha256 for f in lane.dists()}
    assert len(ledger) == FILES
    for name, server in servers.items():
        assert held_files(server.packages) == sorted(ledger), name
        for file in server.packages.rglob("*.*"):
            assert sha256(file) == ledger[file.name], (name, file.name)
    events = rerun.log.events
    for index in servers:
        confirmed = [e.payload.file.name for e in events
                     if e.type is EventType.UPLOAD_CONFIRMED and e.payload.index == index]
        assert sorted(confirmed) == sorted(ledger), index
    attached = [e.payload.file.name for e in events if e.type is EventType.ASSET_UPLOADED]
    assert sorted(attached) == sorted(f.name for f in lane.release_files())
    (release,) = (world.store_root / "releases").iterdir()
    assets = {p.name: sha256(p) for p in (release / "assets").iterdir()
              if not p.name.startswith(".") and not p.name.startswith("release-state.")}
    assert assets == {f.name: f.sha256 for f in lane.release_files()}
    assert LocalStore(world.store_root).get_release(int(release.name)).draft is False


def test_killed_during_the_attach_batch(many, tmp_path, servers):
    """Killed after 5 of 12 files reached the draft: the rerun attaches the other 7 only."""
    world, handover = many
    store = DyingStore(world.store_root, attached=5)
    rerun = crash_then_finish(world, handover, tmp_path, store=store)
    assert store.count == 5
    assert_released_once(world, servers, rerun)


def test_killed_between_two_uploads_to_an_index(many, tmp_path, servers):
    """Killed in the middle of Test PyPI's batch (uploads in flight land): nothing twice."""
    world, handover = many
    crashed = Uploads(die_after=5)
    rerun_uploads = Uploads()
    with pytest.raises(ProcessDied):
        pipeline.run(job(world, handover, tmp_path / "crashed", uploads=crashed))
    assert 5 <= len(crashed.done) < FILES
    assert {index for index, _name, _outcome in crashed.done} == {"testpypi"}
    rerun = job(world, handover, tmp_path / "rerun", uploads=rerun_uploads)
    assert pipeline.run(rerun).stop.kind is StopKind.DONE
    uploaded = sorted((i, n) for i, n, _o in crashed.done + rerun_uploads.done)
    assert uploaded == sorted((i, f.name) for i in servers for f in rerun.lane.dists())
    assert_released_once(world, servers, rerun)


def test_killed_before_the_final_publish(many, tmp_path, servers):
    """Killed after the last upload, before the log's final snapshot: the rerun confirms the
    uploads from what the index holds, uploads nothing again and publishes."""
    world, handover = many
    with pytest.raises(ProcessDied):
        pipeline.run(job(world, handover, tmp_path / "crashed",
                         progress=Progress(stop_before="publish-release")))
    rerun_uploads = Uploads()
    rerun = job(world, handover, tmp_path / "rerun", uploads=rerun_uploads)
    assert pipeline.run(rerun).stop.kind is StopKind.DONE
    assert rerun_uploads.done == []
    assert_released_once(world, servers, rerun)


def test_killed_while_publishing_the_release(many, tmp_path, servers):
    """The log is final, the release still a draft: the rerun only publishes it."""
    world, handover = many
    store = DyingStore(world.store_root, at_publish=True)
    rerun_uploads = Uploads()
    with pytest.raises(ProcessDied):
        pipeline.run(job(world, handover, tmp_path / "crashed", store=store))
    rerun = job(world, handover, tmp_path / "rerun", uploads=rerun_uploads)
    assert pipeline.run(rerun).stop.kind is StopKind.DONE
    assert rerun_uploads.done == []
    assert_released_once(world, servers, rerun)
