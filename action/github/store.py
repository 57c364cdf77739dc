"""The GitHub release of a tag as the ReleaseStore (`action/stores/base.py`): its files and its
log, through PyGithub. Each public method turns GitHub's refusals into the project's errors.

The work is done by `releases.py` (drafts, publishing), `assets.py` (uploads, downloads,
cut-off uploads) and `log_store.py` (snapshots), over one `transport.Transport` (pacing,
retries, pages) that the tag and approval look-ups (`run.py`) and the attestations
(`attestations.py`) share, so that every request of the job draws from the same write budget.
"""

from __future__ import annotations

import concurrent.futures
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from action.errors import ConfigError
from action.github import attestations, run
from action.github.assets import Assets
from action.github.failures import translated
from action.github.log_store import LogStore
from action.github.releases import Releases
from action.github.transport import GitHubTuning, Transport
from action.logs import mask

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from action.errors import ReleaseError
    from action.github.pacing import Throttling
    from action.stores.base import AssetInfo, ReleaseInfo, StoredLog
    from action.tags import TagInfo

__all__ = ["GitHubStore", "open_github_store"]


class GitHubStore:
    """The GitHub release of a tag: its log and its files (see the module's docstring)."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        repository: str,
        tuning: GitHubTuning | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.tuning = tuning or GitHubTuning()
        self.repository = repository
        self._http = Transport(api_url=api_url, token=token, tuning=self.tuning, sleep=sleep,
                               jitter=jitter)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.tuning.concurrency, thread_name_prefix="github-transfer"
        )
        self._releases = Releases(self._http, repository, seen=self._seen)
        self._assets = Assets(self._http, self._releases, pool=self._pool,
                              clock=clock or (lambda: datetime.now(UTC)))
        self._log = LogStore(self._assets)

    def _seen(self, release_id: int, assets: list[Mapping[str, Any]]) -> None:
        self._assets.seen(release_id, assets)  # the release's answer lists its assets

    def throttled(self) -> Throttling:
        """How long this store's writes waited for GitHub's limits."""
        return self._http.throttled()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- releases ------------------------------------------------------------------------

    @translated
    def find_release(self, tag: str) -> ReleaseInfo | None:
        return self._releases.find(tag)

    @translated
    def get_release(self, release_id: int) -> ReleaseInfo:
        return self._releases.get(release_id)

    @translated
    def create_draft(self, tag: str, *, commit: str, name: str, body: str) -> ReleaseInfo:
        return self._releases.create_draft(tag, commit=commit, name=name, body=body)

    @translated
    def find_backfill_draft(self, tag: str, lane: str) -> ReleaseInfo | None:
        return self._releases.find_backfill_draft(tag, lane)

    @translated
    def backfill_drafts(self, tag: str) -> list[ReleaseInfo]:
        return self._releases.backfill_drafts(tag)

    @translated
    def ensure_backfill_draft(self, tag: str, lane: str, *, commit: str, body: str) -> ReleaseInfo:
        return self._releases.ensure_backfill_draft(tag, lane, commit=commit, body=body)

    @translated
    def update_body(self, release_id: int, body: str) -> None:
        self._releases.update_body(release_id, body)

    @translated
    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        return self._releases.publish(release_id, body=body, read=read)

    # -- assets --------------------------------------------------------------------------

    @translated
    def list_assets(self, release_id: int) -> list[AssetInfo]:
        """The assets as last listed (when the log was read or stored), with this store's own
        uploads and deletions since: a listing costs no request while nothing else is known
        to have changed. Bytes are always checked against the ledger, never the listing."""
        return [r.info for r in self._assets.known(release_id)]

    @translated
    def upload_asset(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        return self._assets.upload(release_id, path, name=name)

    @translated
    def upload_assets(self, release_id: int, paths: Sequence[Path]) -> list[AssetInfo]:
        return self._assets.upload_all(release_id, paths)

    @translated
    def attach_files(self, release_id: int,
                     paths: Sequence[Path]) -> list[AssetInfo | ReleaseError]:
        """As `upload_assets`, but each file's own outcome: its asset, or why it failed."""
        return self._assets.attach(release_id, paths)

    @translated
    def delete_asset(self, release_id: int, asset: AssetInfo) -> None:
        self._assets.delete(release_id, asset)

    @translated
    def download_asset(self, release_id: int, asset: AssetInfo, dest: Path) -> Path:
        del release_id  # assets are addressed by id
        return self._assets.download(asset, dest)

    @translated
    def download_assets(self, release_id: int, assets: Sequence[AssetInfo],
                        dest_dir: Path) -> list[Path]:
        return self._assets.download_all(release_id, assets, dest_dir)

    # -- the log -------------------------------------------------------------------------

    @translated
    def load_log(self, release_id: int) -> StoredLog:
        return self._log.load(release_id)

    @translated
    def store_log(self, release_id: int, data: bytes, *, first_new_seq: int) -> None:
        self._log.store(release_id, data, first_new_seq=first_new_seq)

    # -- the tag and the run (through the same transport) --------------------------------

    @translated
    def resolve_tag(self, tag: str) -> TagInfo:
        return run.resolve_tag(self._http, self.repository, tag)

    @translated
    def approvals(self, run_id: int) -> list[run.Approval]:
        return run.approvals(self._http, self.repository, run_id)

    @translated
    def run_jobs(self, run_id: int) -> list[run.RunJob]:
        return run.run_jobs(self._http, self.repository, run_id)

    # -- attestations --------------------------------------------------------------------

    @translated
    def create_attestation(self, bundle: Mapping[str, Any]) -> int:
        """Store a Sigstore bundle in the repository's attestations; its id."""
        return attestations.create_attestation(self._http, self.repository, bundle)


def open_github_store(
    *,
    api_url: str,
    token: str,
    repository: str,
    tuning: GitHubTuning | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> GitHubStore:
    """The store for `repository` at `api_url` (GITHUB_API_URL). The token is masked first."""
    if not token:
        raise ConfigError("no GitHub token", hint="Pass `github-token` (default: the "
                          "workflow's GITHUB_TOKEN) with `contents: write` permission.")
    if not api_url:
        raise ConfigError("no GitHub API URL", hint="The runner sets GITHUB_API_URL.")
    mask(token)
    return GitHubStore(api_url=api_url, token=token, repository=repository, tuning=tuning,
                       clock=clock, sleep=sleep)
