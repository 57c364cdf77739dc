"""The ReleaseStore protocol: what the pipeline needs from the home of a release.

A release has a log (a single current snapshot asset, named after the sequence number of the
first event it adds) and files (assets). The GitHub store keeps both on the GitHub release of
the tag; the local store keeps them in a directory with the same layout, for rehearsals.

Snapshots: appending uploads the whole log as `release-state.<NNNNNN>.jsonl`, where NNNNNN is
the number of the first event the append adds (the stored log's length + 1). Two writers that
start from the same log therefore race for the same name; the loser gets `LogConflictError`,
reloads, re-plans and retries. Older snapshots are deleted after a newer one is complete; a
reader takes the newest complete snapshot and ignores incomplete uploads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from action.errors import UnsafeInputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from action.errors import ReleaseError

SNAPSHOT = re.compile(r"release-state\.(\d{6})\.jsonl")
_NOT_IN_A_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_NAME = 255


def checked_asset_name(name: str, *, release: str) -> str:
    """An asset's name as the store reports it, refused unless it is one plain file name.

    Asset names become paths (downloads, the local store, `verify --release`): `../x.whl`, a
    name with a slash, backslash or control character, `.`, `..`, or a name longer than a file
    name can be never does.
    """
    if name in {"", ".", ".."} or _NOT_IN_A_NAME.search(name) or len(name) > MAX_NAME:
        raise UnsafeInputError(
            f"release {release} has an asset named {name!r}, which is not a plain file name "
            "(it holds a path separator, a control character or is `.`/`..`); refusing to use it",
            hint="Delete that asset from the release (someone with write access to the "
            "repository's releases uploaded it), then re-run.",
        )
    return name


def backfill_name(tag: str, lane: str) -> str:
    """The draft that holds a backfill lane's files and log when the release is immutable."""
    return f"{tag} backfill {lane}"


def snapshot_name(first_new_seq: int) -> str:
    return f"release-state.{first_new_seq:06d}.jsonl"


def snapshot_seq(name: str) -> int | None:
    match = SNAPSHOT.fullmatch(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseInfo:
    release_id: int
    tag: str
    draft: bool
    immutable: bool
    url: str  # the page a person opens
    body: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetInfo:
    asset_id: int
    name: str
    size: int
    sha256: str | None  # GitHub's `digest` field; None where the store does not know it
    complete: bool  # False for an upload that was cut off (GitHub's `starter` state)


@dataclass(frozen=True, slots=True)
class StoredLog:
    """The newest complete snapshot: its bytes, and the asset it came from."""

    data: bytes
    asset: AssetInfo | None  # None: the release has no log yet


class ReleaseStore(Protocol):
    """Everything the pipeline asks of the home of a release."""

    # Releases ------------------------------------------------------------------------------
    def find_release(self, tag: str) -> ReleaseInfo | None:
        """The release of `tag`: the published one, or the single draft (several: raise)."""

    def get_release(self, release_id: int) -> ReleaseInfo:
        """A release by id (what the log records once the draft exists)."""

    def create_draft(self, tag: str, *, commit: str, name: str, body: str) -> ReleaseInfo:
        """Create the draft release of `tag` at `commit`."""

    def find_backfill_draft(self, tag: str, lane: str) -> ReleaseInfo | None:
        """The separate draft a backfill lane uses when the tag's release is immutable."""

    def ensure_backfill_draft(self, tag: str, lane: str, *, commit: str,
                              body: str) -> ReleaseInfo:
        """Find or create that draft (`<tag> backfill <lane>`); it stays a draft."""

    def update_body(self, release_id: int, body: str) -> None:
        """Replace the release's description (the review body)."""

    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        """Turn the draft into a published release (idempotent), with `body` if given;
        `read`: the release as the caller has just read it (saves reading it again)."""

    # Assets --------------------------------------------------------------------------------
    def list_assets(self, release_id: int) -> list[AssetInfo]:
        """Every asset of the release, complete or not."""

    def upload_asset(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        """Attach a file (streamed); an existing asset with that name raises LogConflictError
        for snapshots and ReleaseError otherwise."""

    def attach_files(self, release_id: int,
                     paths: Sequence[Path]) -> list[AssetInfo | ReleaseError]:
        """Attach files under their own names, several at a time: per file, the asset or why
        it failed (`upload_asset`'s rules for a name already taken)."""

    def download_asset(self, release_id: int, asset: AssetInfo, dest: Path) -> Path:
        """Stream an asset's bytes to `dest`."""

    def download_assets(self, release_id: int, assets: Sequence[AssetInfo],
                        dest_dir: Path) -> list[Path]:
        """Several downloads at a time, each to `dest_dir / asset.name`."""

    def delete_asset(self, release_id: int, asset: AssetInfo) -> None:
        """Remove an asset (used for cut-off uploads and old snapshots)."""

    # The log -------------------------------------------------------------------------------
    def load_log(self, release_id: int) -> StoredLog:
        """The newest complete snapshot whose chain validates (a constant number of calls)."""

    def store_log(self, release_id: int, data: bytes, *, first_new_seq: int) -> None:
        """Upload the next snapshot, then delete older ones. LogConflictError if taken."""
