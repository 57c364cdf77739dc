"""The state log on a release: one current snapshot `release-state.<NNNNNN>.jsonl` (see
`action/stores/base.py`).

An append uploads the next name, then lists the assets once and confirms that (1) the asset
under that name is ours, complete, with our digest and (2) no complete snapshot with a higher
number exists (a writer that loaded a stale log can find its name free because the snapshot it
should have collided with was already replaced: it must not fork the log). Only then are older
snapshots deleted. Otherwise `LogConflictError`: reload, re-plan, retry.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from github import GithubException

from action.errors import GitHubError, LogConflictError, LogError
from action.github.assets import Upload
from action.github.failures import HTTP_NOT_FOUND, HttpError
from action.logs import get_logger
from action.stores.base import StoredLog, snapshot_name, snapshot_seq
from statemachine.log import parse

if TYPE_CHECKING:
    from collections.abc import Iterable

    from action.github.assets import Assets, Remote
    from action.stores.base import AssetInfo

log = get_logger("action.github")

VANISHED_ROUNDS = 3  # re-listings when a snapshot disappears between listing and download


class _VanishedError(Exception):
    """An asset listed a moment ago is gone (a newer snapshot replaced it)."""


class LogStore:
    """Load and append the state log kept as assets of a release."""

    def __init__(self, assets: Assets) -> None:
        self.assets = assets

    def load(self, release_id: int) -> StoredLog:
        """The newest complete snapshot whose chain validates: one listing (none when the
        release was just read: its answer lists the assets), one download (more only when a
        snapshot is bad or replaced while being read)."""
        for _ in range(VANISHED_ROUNDS):
            complete = [(seq, r) for seq, r in _snapshots(self.assets.current(release_id))
                        if r.info.complete]
            if not complete:
                return StoredLog(b"", None)
            try:
                return self._newest_valid(complete)
            except _VanishedError:
                log.info("github.snapshot_replaced_while_reading", release_id=release_id)
        raise GitHubError(
            "the state log kept being replaced while it was read",
            hint="Another run is appending to it quickly. Re-run this job when it is done.",
        )

    def _newest_valid(self, snapshots: list[tuple[int, Remote]]) -> StoredLog:
        refused: list[LogError] = []
        for seq, remote in snapshots:
            data = self._fetch(remote.info)
            try:
                _check_snapshot(data, seq, remote.info)
            except LogError as problem:
                log.warning("github.snapshot_refused", name=remote.info.name,
                            problem=problem.message)
                refused.append(problem)
                continue
            return StoredLog(data, remote.info)
        raise refused[0]

    def _fetch(self, info: AssetInfo) -> bytes:
        buffer = io.BytesIO()

        def attempt() -> bytes:
            buffer.seek(0)
            buffer.truncate()
            self.assets.stream(info, buffer.write)
            return buffer.getvalue()

        try:
            return self.assets.http.retrying.run(f"download {info.name}", attempt)
        except HttpError as exc:
            if exc.status == HTTP_NOT_FOUND:
                raise _VanishedError(info.name) from exc
            raise

    def store(self, release_id: int, data: bytes, *, first_new_seq: int) -> None:
        """Upload `release-state.<first_new_seq>.jsonl`, confirm it is the head, then delete
        older snapshots. LogConflictError when another run got there first."""
        upload = Upload.of_bytes(snapshot_name(first_new_seq), data)
        self.assets.put(release_id, upload, None)
        remotes = self.assets.remotes(release_id)
        self._confirm_head(release_id, upload, first_new_seq, remotes)
        self._delete_older(release_id, first_new_seq, remotes)
        log.info("github.snapshot_stored", name=upload.name, size=upload.size)

    def _confirm_head(self, release_id: int, upload: Upload, seq: int,
                      remotes: list[Remote]) -> None:
        mine = next((r for r in remotes if r.info.name == upload.name), None)
        if mine is None or not mine.info.complete or mine.info.size != upload.size or (
            mine.info.sha256 not in (None, upload.sha256)
        ):
            raise LogConflictError(f"{upload.name} was replaced by another run's append",
                                   hint="Reload the log, re-plan and retry.")
        newer = [s for s, r in _snapshots(remotes) if s > seq and r.info.complete]
        if newer:
            self.assets.delete(release_id, mine.info)  # a stale fork: take it back
            raise LogConflictError(
                f"the log moved on to {snapshot_name(max(newer))} while this run appended "
                f"{upload.name}",
                hint="Reload the log, re-plan and retry.",
            )

    def _delete_older(self, release_id: int, seq: int, remotes: list[Remote]) -> None:
        for older, remote in _snapshots(remotes):
            if older >= seq:
                continue
            try:
                self.assets.delete(release_id, remote.info)
            except (GitHubError, GithubException) as exc:  # the append stands; readers skip it
                log.warning("github.old_snapshot_kept", name=remote.info.name,
                            reason=str(exc))


def _snapshots(remotes: Iterable[Remote]) -> list[tuple[int, Remote]]:
    """Snapshot assets, newest (highest number) first."""
    found = [(snapshot_seq(r.info.name), r) for r in remotes]
    return sorted(((seq, r) for seq, r in found if seq is not None),
                  key=lambda pair: pair[0], reverse=True)


def _check_snapshot(data: bytes, seq: int, info: AssetInfo) -> None:
    """The chain validates and holds at least the events the name promises."""
    events = parse(data)
    if len(events) < seq:
        raise LogError(len(events) + 1, f"{info.name} should hold events 1..{seq} at least, "
                       f"but ends after {len(events)}")
