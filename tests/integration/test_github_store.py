"""The GitHub store through PyGithub against the GitHub double (every response OpenAPI-checked)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from action.errors import (
    ConfigError,
    DigestMismatchError,
    DuplicateDraftsError,
    GitHubError,
    ImmutableReleaseError,
    LogConflictError,
)
from action.github.store import open_github_store
from action.github.transport import GitHubTuning
from action.stores.base import (
    snapshot_name,
)
from action.tags import check_checkout
from statemachine.log import EventLog, load
from statemachine.payloads import BuildStarted, FileRecorded
from tests.doubles import faults
from tests.doubles.faults import Apply
from tests.unit.story import CAUSE, Story, dist

TAG = "v1.0.0"
RELEASES = r"/repos/acme/widget/releases$"
ASSETS = r"/releases/\d+/assets$"
ASSET = r"/releases/assets/\d+$"
BYTES = r"^/api/objects/release-assets/"  # where the API's redirect points
FAST = GitHubTuning(
    writes_per_minute=None, writes_per_hour=None, timeout=3, attempts=10, backoff_base=0.01,
    backoff_cap=0.05,
)


class Crash(BaseException):
    """The process dies: nothing in the store may catch this."""


def crash_after_kill(double):
    """A `sleep` for the store that ends the 'process' once the double has recorded a kill."""

    def sleep(seconds: float) -> None:
        if double.killed:
            raise Crash
        time.sleep(seconds)

    return sleep


@pytest.fixture
def make_store(github_api, github_repo):
    made = []

    def make(**overrides):
        options = {
            "api_url": github_api.api_url,
            "token": github_api.token,
            "repository": github_repo.full_name,
            "tuning": FAST,
        }
        store = open_github_store(**(options | overrides))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def draft(store, github_repo):
    return store.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_files(tmp_path, count: int, size: int = 3000, salt: str = "") -> list:
    paths = []
    for n in range(count):
        path = tmp_path / f"sample-1.0.0-py3-none-any{n}.whl"
        path.write_bytes(f"{salt}{n}".encode() * (size // 2))
        paths.append(path)
    return paths


# --- the log --------------------------------------------------------------------------------


def started_log() -> EventLog:
    """A log whose main lane is building: it takes any number of FileRecorded events."""
    story = Story()
    story.open()
    story.release()
    story.add("main", BuildStarted(part="linux"))
    return story.log


def record(log: EventLog, name: str) -> None:
    at = log.events[-1].at + timedelta(seconds=1)
    file = dist(f"sample-1.0.0-py3-none-{name}.whl")
    log.append("main", FileRecorded(part="linux", file=file), at=at, cause=CAUSE)


def log_of(length: int) -> EventLog:
    log = started_log()
    for n in range(length - len(log)):
        record(log, f"f{n}")
    return log


def append(store, release_id: int, name: str, *, attempts: int = 200) -> int:
    """The pipeline's loop: reload, re-plan, retry on LogConflictError. Returns the tries."""
    for tries in range(1, attempts + 1):
        log = load(store.load_log(release_id).data)
        before = len(log)
        record(log, name)
        try:
            store.store_log(release_id, log.to_bytes(), first_new_seq=before + 1)
        except LogConflictError:
            continue
        return tries
    raise AssertionError(f"{name} never got in")


def names(log: EventLog) -> list[str]:
    return [e.payload.file.name for e in log.events if isinstance(e.payload, FileRecorded)]


def snapshots(github_repo, release_id: int) -> list[tuple[str, str]]:
    release = github_repo.release(release_id)
    return sorted((a.name, a.state) for a in release.assets.values()
                  if a.name.startswith("release-state."))


class TestLog:
    def test_roundtrip(self, store, draft):
        """A stored log loads back byte for byte; an empty release has no log."""
        assert store.load_log(draft.release_id).asset is None
        data = started_log().to_bytes()
        store.store_log(draft.release_id, data, first_new_seq=1)
        loaded = store.load_log(draft.release_id)
        assert loaded.data == data
        assert loaded.asset is not None and loaded.asset.name == snapshot_name(1)

    def test_older_snapshots_are_deleted(self, store, draft, github_repo):
        """After an append only the newest snapshot remains."""
        store.store_log(draft.release_id, started_log().to_bytes(), first_new_seq=1)
        append(store, draft.release_id, "a")
        assert snapshots(github_repo, draft.release_id) == [(snapshot_name(5), "uploaded")]

    def test_same_name_is_a_conflict(self, store, draft):
        """Appending from the same log twice: the second writer gets LogConflictError."""
        log = started_log()
        store.store_log(draft.release_id, log.to_bytes(), first_new_seq=1)
        record(log, "other")
        with pytest.raises(LogConflictError, match="appended"):
            store.store_log(draft.release_id, log.to_bytes(), first_new_seq=1)

    def test_two_writers_lose_nothing(self, make_store, draft, github_api):
        """Two writers appending at once: every event lands exactly once."""
        make_store().store_log(draft.release_id, started_log().to_bytes(), first_new_seq=1)
        github_api.latency = 0.002  # calls overlap: the writers collide
        tries: dict[str, int] = {}

        def writer(prefix: str) -> None:
            mine = make_store()
            tries[prefix] = sum(append(mine, draft.release_id, f"{prefix}{n}") for n in range(8))

        threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = load(make_store().load_log(draft.release_id).data)
        expected = {f"sample-1.0.0-py3-none-{p}{n}.whl" for p in "ab" for n in range(8)}
        assert sorted(names(final)) == sorted(expected)
        assert len(final) == 4 + 16
        assert tries["a"] + tries["b"] > 16, "the writers never collided: the test proved nothing"

    def test_stale_writer_cannot_fork(self, make_store, draft, github_repo):
        """A writer whose name is free only because the log moved on twice is refused and
        takes its snapshot back."""
        stale, fresh = make_store(), make_store()
        stale_log = started_log()
        fresh.store_log(draft.release_id, stale_log.to_bytes(), first_new_seq=1)
        append(fresh, draft.release_id, "x")  # release-state.000005
        append(fresh, draft.release_id, "y")  # release-state.000006; 000005 deleted
        record(stale_log, "stale")
        with pytest.raises(LogConflictError, match="moved on"):
            stale.store_log(draft.release_id, stale_log.to_bytes(), first_new_seq=5)
        assert snapshots(github_repo, draft.release_id) == [(snapshot_name(6), "uploaded")]

    def test_bad_newest_snapshot_is_skipped(self, store, draft, tmp_path):
        """A snapshot whose chain does not validate is skipped for the next older one."""
        data = started_log().to_bytes()
        store.store_log(draft.release_id, data, first_new_seq=1)
        bogus = tmp_path / snapshot_name(9)
        bogus.write_bytes(b'{"not": "an event"}\n')
        store.upload_asset(draft.release_id, bogus, name=bogus.name)
        with capture_logs() as logs:
            assert store.load_log(draft.release_id).data == data
        assert any(e["event"] == "github.snapshot_refused" for e in logs)

    def test_own_cut_off_upload_is_retried(self, store, draft, github_api, github_repo):
        """A snapshot upload cut off midway leaves a starter that the same writer removes."""
        github_api.inject(faults.HalfUpload(), method="POST", path=ASSETS, nth=1)
        data = started_log().to_bytes()
        store.store_log(draft.release_id, data, first_new_seq=1)
        assert store.load_log(draft.release_id).data == data
        assert snapshots(github_repo, draft.release_id) == [(snapshot_name(1), "uploaded")]

    @pytest.mark.parametrize("length", [10, 500])
    def test_resume_costs_constant_calls(self, make_store, github_api, github_repo, length):
        """Loading the log takes one listing and one download, however long it is."""
        writer = make_store()
        release = writer.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        writer.store_log(release.release_id, log_of(length).to_bytes(), first_new_seq=1)
        github_api.clear_calls()
        assert len(load(make_store().load_log(release.release_id).data)) == length
        assert [(c.method, c.kind, c.status) for c in github_api.calls] == [
            ("GET", "api", 200),  # list the assets
            ("GET", "api", 302),  # the snapshot's API URL redirects
            ("GET", "download", 200),  # its bytes
        ]

    def test_a_log_loaded_after_reading_the_release_costs_no_listing(
            self, make_store, github_api, github_repo):
        """GitHub's answer about a release holds all its assets: a job's first load (find the
        release, load its log) lists no assets, though 151 take two pages; the next load,
        with no fresh answer about the release, lists them (a request per 100)."""
        writer = make_store()
        release = writer.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        for n in range(150):
            github_repo.add_asset(release.release_id, f"sample-1.0.0-py3-none-any{n}.whl", b"w")
        writer.store_log(release.release_id, log_of(10).to_bytes(), first_new_seq=1)
        reader = make_store()
        github_api.clear_calls()
        found = reader.find_release(TAG)
        assert found is not None
        assert len(load(reader.load_log(found.release_id).data)) == 10
        assert [(c.method, c.kind, c.status) for c in github_api.calls] == [
            ("GET", "api", 200),  # the releases, each with its assets
            ("GET", "api", 302),  # the snapshot's API URL redirects
            ("GET", "download", 200),  # its bytes
        ]
        assert len(reader.list_assets(found.release_id)) == 151
        github_api.clear_calls()
        reader.load_log(found.release_id)
        assert len(github_api.calls_to("GET", ASSETS)) == 2


class TestCrashes:
    def test_crash_between_upload_and_delete(self, make_store, draft, github_api, github_repo):
        """Killed after uploading N+1 but before deleting N: a fresh store reads N+1 and the
        next append cleans up."""
        make_store().store_log(draft.release_id, started_log().to_bytes(), first_new_seq=1)
        github_api.inject(faults.Kill(apply=Apply.NOTHING), method="DELETE", path=ASSET, nth=1)
        with pytest.raises(Crash):
            append(make_store(sleep=crash_after_kill(github_api)), draft.release_id, "a")
        assert len(snapshots(github_repo, draft.release_id)) == 2
        fresh = make_store()
        assert names(load(fresh.load_log(draft.release_id).data)) == [
            "sample-1.0.0-py3-none-a.whl"
        ]
        append(fresh, draft.release_id, "b")
        assert snapshots(github_repo, draft.release_id) == [(snapshot_name(6), "uploaded")]

    def test_crash_mid_snapshot_upload(self, make_store, draft, github_api, github_repo):
        """Killed halfway through a snapshot upload: readers ignore the starter; a young one
        is a conflict, one older than the grace period is removed and the append goes in."""
        make_store().store_log(draft.release_id, started_log().to_bytes(), first_new_seq=1)
        github_api.inject(faults.Kill(apply=Apply.PARTIAL), method="POST", path=ASSETS, nth=1)
        with pytest.raises(Crash):
            append(make_store(sleep=crash_after_kill(github_api)), draft.release_id, "a")
        assert (snapshot_name(5), "starter") in snapshots(github_repo, draft.release_id)
        assert len(load(make_store().load_log(draft.release_id).data)) == 4
        retry = load(make_store().load_log(draft.release_id).data)
        record(retry, "a")
        with pytest.raises(LogConflictError, match="has not finished"):
            make_store().store_log(draft.release_id, retry.to_bytes(), first_new_seq=5)
        later = datetime.now(UTC) + timedelta(seconds=FAST.starter_grace + 1)
        append(make_store(clock=lambda: later), draft.release_id, "a")
        assert snapshots(github_repo, draft.release_id) == [(snapshot_name(5), "uploaded")]

    def test_crash_mid_file_upload(self, make_store, draft, github_api, github_repo, tmp_path):
        """Killed halfway through a file upload: a fresh store removes the starter and uploads."""
        paths = write_files(tmp_path, 1, size=200_000)
        github_api.inject(faults.Kill(apply=Apply.PARTIAL), method="POST", path=ASSETS, nth=1)
        with pytest.raises(Crash):
            make_store(sleep=crash_after_kill(github_api)).upload_assets(draft.release_id, paths)
        (asset,) = github_repo.release(draft.release_id).assets.values()
        assert asset.state == "starter"
        (info,) = make_store().upload_assets(draft.release_id, paths)
        assert (info.complete, info.sha256) == (True, sha256(paths[0].read_bytes()))
        assert len(github_repo.release(draft.release_id).assets) == 1


class TestFlakyGitHub:
    def test_full_cycle_converges(self, make_store, github_api, github_repo, tmp_path):
        """With about 30% of calls failing (502, resets before and after applying), a full
        store/load cycle still ends with one draft, every file once and the whole log."""
        github_api.inject(faults.ServerError(status=502), rate=0.15)
        github_api.inject(faults.Reset(apply=Apply.ALL), rate=0.10)
        github_api.inject(faults.Reset(apply=Apply.NOTHING), rate=0.10)
        store = make_store()
        release = store.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        paths = write_files(tmp_path, 6)
        uploaded = store.upload_assets(release.release_id, paths)
        store.store_log(release.release_id, started_log().to_bytes(), first_new_seq=1)
        for n in range(5):
            append(store, release.release_id, f"r{n}")
        fresh = make_store()
        log = load(fresh.load_log(release.release_id).data)
        out = tmp_path / "out"
        out.mkdir()
        downloaded = fresh.download_assets(release.release_id, uploaded, out)
        github_api.faults.clear()
        assert sum(r.draft for r in github_repo.releases()) == 1
        assert names(log) == [f"sample-1.0.0-py3-none-r{n}.whl" for n in range(5)]
        assert [p.read_bytes() for p in downloaded] == [p.read_bytes() for p in paths]
        assert len(github_repo.release(release.release_id).assets) == 7
        failed = [c for c in github_api.calls if c.status is None or c.status >= 500]
        assert len(failed) >= 0.15 * len(github_api.calls)


# --- releases -------------------------------------------------------------------------------


class TestReleases:
    def test_draft_found_by_listing(self, store, draft):
        """A draft is found for its tag (get-by-tag would not show it) and by its id."""
        assert store.find_release(TAG) == draft
        assert store.get_release(draft.release_id) == draft
        assert store.find_release("v9") is None

    def test_duplicate_drafts_reported(self, store, github_repo):
        """Two drafts for one tag stop the run, with both links; neither is picked."""
        ids = [github_repo.add_release(TAG), github_repo.add_release(TAG)]
        with pytest.raises(DuplicateDraftsError) as caught:
            store.find_release(TAG)
        for release_id in ids:
            assert store.get_release(release_id).url in caught.value.message
        assert "delete the others" in caught.value.hint

    def test_dropped_create_makes_one_draft(self, store, github_api, github_repo):
        """A create whose answer was lost is found by listing, not repeated."""
        github_api.inject(faults.Reset(apply=Apply.ALL), method="POST", path=RELEASES, nth=1)
        created = store.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        assert [r.id for r in github_repo.releases()] == [created.release_id]
        assert len(github_api.calls_to("POST", RELEASES)) == 1

    def test_creation_race_keeps_one_draft(self, make_store, github_repo):
        """Two runs creating the draft at once end up with the same single draft."""
        results: list[int] = []

        def create() -> None:
            info = make_store().create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
            results.append(info.release_id)

        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [r.id for r in github_repo.releases()] == [results[0]] == [results[1]]

    def test_publish_is_idempotent(self, store, draft, github_api):
        """Publishing twice publishes once."""
        assert store.publish(draft.release_id).draft is False
        assert store.publish(draft.release_id).draft is False
        assert len(github_api.calls_to("PATCH")) == 1
        assert store.find_release(TAG).release_id == draft.release_id

    def test_update_body(self, store, draft):
        """The review body replaces the description."""
        store.update_body(draft.release_id, "## Review")
        assert store.get_release(draft.release_id).body == "## Review"


class TestImmutable:
    @pytest.fixture
    def published(self, store, github_repo):
        github_repo.set_immutable_releases(True)
        release = store.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        return store.publish(release.release_id)

    def test_detected(self, store, published):
        """A published release in a repository with immutable releases says so."""
        assert published.immutable is True
        assert store.find_release(TAG).immutable is True

    def test_upload_refused(self, store, published, tmp_path):
        """Adding a file to it raises ImmutableReleaseError saying what happens instead."""
        (path,) = write_files(tmp_path, 1)
        with pytest.raises(ImmutableReleaseError) as caught:
            store.upload_asset(published.release_id, path, name=path.name)
        assert "backfill" in caught.value.hint
        assert "PyPI still gets the wheels" in caught.value.hint

    def test_backfill_draft(self, store, published, github_repo, tmp_path):
        """A backfill lane gets its own draft, found again, never mistaken for the release."""
        backfill = store.ensure_backfill_draft(TAG, "cp314", commit=github_repo.head(), body="")
        again = store.ensure_backfill_draft(TAG, "cp314", commit=github_repo.head(), body="")
        assert again == backfill and backfill.draft
        assert github_repo.release(backfill.release_id).name == f"{TAG} backfill cp314"
        assert store.find_release(TAG) == published
        (path,) = write_files(tmp_path, 1)
        assert store.upload_asset(backfill.release_id, path, name=path.name).complete


# --- files ----------------------------------------------------------------------------------


class TestFiles:
    def test_upload_and_download(self, store, draft, tmp_path):
        """Files go up several at a time and come back byte for byte."""
        paths = write_files(tmp_path, 5)
        infos = store.upload_assets(draft.release_id, paths)
        assert [i.sha256 for i in infos] == [sha256(p.read_bytes()) for p in paths]
        out = tmp_path / "out"
        out.mkdir()
        got = store.download_assets(draft.release_id, infos, out)
        assert [p.read_bytes() for p in got] == [p.read_bytes() for p in paths]

    def test_same_bytes_skipped(self, store, draft, github_api, tmp_path):
        """A file already attached with the same bytes is not uploaded again."""
        paths = write_files(tmp_path, 3)
        first = store.upload_assets(draft.release_id, paths)
        github_api.clear_calls()
        assert store.upload_assets(draft.release_id, paths) == first
        assert github_api.calls_to("POST") == []

    def test_null_digest_falls_back_to_hashing(self, store, draft, github_api, tmp_path,
                                               monkeypatch):
        """Where GitHub gives no digest the asset is downloaded and hashed instead."""
        from tests.doubles.github_model import Asset

        (path,) = write_files(tmp_path, 1)
        store.upload_asset(draft.release_id, path, name=path.name)
        monkeypatch.setattr(Asset, "digest", property(lambda _self: None))
        github_api.clear_calls()
        store.upload_asset(draft.release_id, path, name=path.name)
        assert github_api.calls_to("POST") == []
        assert [c.kind for c in github_api.calls] == ["api", "api", "download"]

    def test_other_bytes_refused(self, store, draft, github_api, tmp_path):
        """The same name with other bytes stops, showing both digests; nothing is uploaded."""
        (path,) = write_files(tmp_path, 1)
        store.upload_asset(draft.release_id, path, name=path.name)
        old = sha256(path.read_bytes())
        path.write_bytes(b"rebuilt")
        github_api.clear_calls()
        with pytest.raises(DigestMismatchError) as caught:
            store.upload_assets(draft.release_id, [path])
        assert old in caught.value.message
        assert sha256(b"rebuilt") in caught.value.message
        assert github_api.calls_to("POST") == []

    def test_cut_off_upload_retried(self, store, draft, github_api, github_repo, tmp_path):
        """An upload cut off midway: its starter is removed and the file uploaded again."""
        github_api.inject(faults.HalfUpload(), method="POST", path=ASSETS, nth=2)
        paths = write_files(tmp_path, 3)
        store.upload_assets(draft.release_id, paths)
        states = [a.state for a in github_repo.release(draft.release_id).assets.values()]
        assert states == ["uploaded"] * 3
        assert len(github_api.calls_to("DELETE", ASSET)) == 1

    def test_dropped_upload_not_repeated(self, store, draft, github_api, tmp_path):
        """An upload whose answer was lost is found by listing, not sent again."""
        github_api.inject(faults.Reset(apply=Apply.ALL), method="POST", path=ASSETS, nth=1)
        (path,) = write_files(tmp_path, 1)
        info = store.upload_asset(draft.release_id, path, name=path.name)
        assert info.complete
        assert len(github_api.calls_to("POST", ASSETS)) == 1

    def test_repeated_names_refused(self, store, draft, tmp_path):
        """Two local files with one asset name are refused before anything is sent."""
        (path,) = write_files(tmp_path, 1)
        other = tmp_path / "x"
        other.mkdir()
        (other / path.name).write_bytes(b"other")
        with pytest.raises(ConfigError, match="share the asset name"):
            store.upload_assets(draft.release_id, [path, other / path.name])


# --- limits, retries, errors ------------------------------------------------------------


class TestRateLimits:
    def test_primary_and_secondary_waited_out(self, store, github_api, github_repo):
        """Primary (x-ratelimit-reset) and secondary (retry-after) limits are waited out and
        logged with how long and why."""
        github_api.inject(faults.PrimaryRateLimit(reset_in=1), method="GET", path=RELEASES,
                          nth=1)
        github_api.inject(faults.SecondaryRateLimit(retry_after=1), method="POST",
                          path=RELEASES, nth=1)
        started = time.monotonic()
        with capture_logs() as logs:
            assert store.find_release(TAG) is None
            store.create_draft(TAG, commit=github_repo.head(), name=TAG, body="")
        waits = [e for e in logs if e["event"] == "github.rate_limited"]
        assert [w["why"].split(" (")[0] for w in waits] == [
            "primary rate limit", "secondary rate limit"
        ]
        assert all(w["wait_seconds"] >= 1 for w in waits)
        assert time.monotonic() - started >= 2

    def test_too_long_a_wait_gives_up(self, make_store, github_api):
        """A reset further away than the budget is a clear error, not a silent hang."""
        github_api.inject(faults.PrimaryRateLimit(reset_in=3600), path=RELEASES)
        tuning = GitHubTuning(writes_per_minute=None, writes_per_hour=None,
                              max_rate_limit_wait=5)
        with pytest.raises(GitHubError, match="primary rate limit"):
            make_store(tuning=tuning).find_release(TAG)

    def test_each_request_of_a_download_is_retried_on_its_own(self, make_store, draft,
                                                               github_api, tmp_path):
        """Issue 11: a download is two requests (the API's redirect, the bytes); it was
        retried as one, six times. Seven 502s in a row on the bytes: the API is asked once,
        the bytes eight times, within the time budget (no count of attempts)."""
        tuning = replace(FAST, attempts=None, retry_budget=30.0)
        store = make_store(tuning=tuning)
        (path,) = write_files(tmp_path, 1)
        (info,) = store.upload_assets(draft.release_id, [path])
        github_api.clear_calls()
        github_api.inject(faults.ServerError(status=502), path=BYTES, times=7)
        out = tmp_path / "out"
        out.mkdir()
        (got,) = store.download_assets(draft.release_id, [info], out)
        assert got.read_bytes() == path.read_bytes()
        assert len(github_api.calls_to("GET", ASSET)) == 1
        assert len(github_api.calls_to("GET", BYTES)) == 8

    def test_a_request_gives_up_when_its_time_budget_is_spent(self, make_store, github_api):
        """A GitHub that keeps failing: GitHubError once the budget (here 1 s) is spent,
        however many tries that took, saying for how long the action retries."""
        tuning = replace(FAST, attempts=None, retry_budget=1.0, backoff_base=0.1,
                         backoff_cap=0.2)
        github_api.inject(faults.ServerError(status=503), path=RELEASES)
        started = time.monotonic()
        with pytest.raises(GitHubError, match=r"failed [0-9]+ times") as caught:
            make_store(tuning=tuning).find_release(TAG)
        assert 0.5 <= time.monotonic() - started < 5
        assert len(github_api.calls_to("GET", RELEASES)) >= 5
        assert "ten minutes" in caught.value.hint

    def test_persistent_5xx_gives_up(self, store, github_api):
        """A GitHub that keeps failing: GitHubError after the configured attempts."""
        github_api.inject(faults.ServerError(status=503), path=RELEASES)
        with pytest.raises(GitHubError, match="failed 10 times"):
            store.find_release(TAG)
        assert len(github_api.calls_to("GET", RELEASES)) == 10

    def test_bad_token(self, make_store):
        """A wrong token is explained, and the token is not in the message."""
        with pytest.raises(GitHubError, match="refused the token") as caught:
            make_store(token="ghs_wrong_token").find_release(TAG)
        assert "ghs_wrong_token" not in str(caught.value)

    def test_token_masked_and_never_logged(self, make_store, capsys, github_api):
        """The token is announced to the runner with ::add-mask:: and appears in no log."""
        token = f"ghs_{time.time_ns()}"
        github_api.token = token
        with capture_logs() as logs:
            make_store(token=token).create_draft(TAG, commit="main", name=TAG, body="")
        assert f"::add-mask::{token}" in capsys.readouterr().out
        assert logs
        assert token not in repr(logs)


# --- git and approvals ----------------------------------------------------------------------


class TestTags:
    WHEN = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)

    @pytest.mark.parametrize("annotated", [False, True])
    def test_tag_to_commit_and_date(self, store, github_repo, annotated):
        """Lightweight and annotated tags resolve to the commit and its date."""
        sha = github_repo.add_commit("release 1.0", date=self.WHEN)
        github_repo.add_commit("later")
        github_repo.tag(TAG, sha, annotated=annotated)
        info = store.resolve_tag(TAG)
        assert (info.commit, info.epoch) == (sha, int(self.WHEN.timestamp()))

    def test_missing_tag(self, store):
        """A tag that is not on GitHub is a configuration error that says to push it."""
        with pytest.raises(ConfigError, match="does not exist"):
            store.resolve_tag("v9.9.9")

    def test_wrong_checkout_refused(self, store, github_repo):
        """Building from another commit than the tag's is refused, naming both."""
        github_repo.tag(TAG)
        info = store.resolve_tag(TAG)
        check_checkout(info.tag, info.commit, info.commit)
        with pytest.raises(ConfigError) as caught:
            check_checkout(info.tag, info.commit, "b" * 40)
        assert info.commit in caught.value.message and "b" * 40 in caught.value.message
        assert f"ref: {TAG}" in caught.value.hint


class TestApprovals:
    def test_approvals(self, store, github_repo):
        """Who approved which environments of a run, with the comment."""
        github_repo.add_approval(77, login="alice", comment="ship it")
        github_repo.add_approval(78, login="bob")
        (approval,) = store.approvals(77)
        assert (approval.login, approval.state, approval.comment) == ("alice", "approved",
                                                                     "ship it")
        assert approval.environments == ("publish",)
        assert approval.at is not None


class TestPacing:
    def test_production_defaults(self):
        """At most 80 writes a minute and 500 an hour: GitHub's limits for content creation."""
        tuning = GitHubTuning()
        assert (tuning.writes_per_minute, tuning.writes_per_hour) == (80, 500)
        assert tuning.concurrency == 4
