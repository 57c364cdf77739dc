"""A release store in a local directory, for rehearsals: the same layout as a GitHub release.

    ROOT/releases/<id>/release.json       tag, draft, body (the release's metadata)
    ROOT/releases/<id>/assets/<name>      the assets, byte for byte, and nothing else
    ROOT/releases/<id>/digests/<name>     each asset's sha256 (GitHub's `digest` field)
    ROOT/releases/<id>/uploading/         uploads in progress

An upload writes a partial file under uploading/ and links it into assets/, which fails if
the name exists: the same "already exists" rule GitHub applies, so concurrent appends to the
log conflict exactly as they do on GitHub. The assets folder holds what the GitHub release
would hold, so it can be handed to `release-action verify` as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import zlib
from typing import TYPE_CHECKING

from action.digests import sha256_file
from action.errors import DuplicateDraftsError, LogConflictError, ReleaseError
from action.logs import get_logger
from action.stores.base import (
    AssetInfo,
    ReleaseInfo,
    StoredLog,
    backfill_name,
    snapshot_name,
    snapshot_seq,
)
from statemachine import log as eventlog
from statemachine.errors import LogError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

log = get_logger(__name__)


class LocalStore:
    """A ReleaseStore on the file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "releases").mkdir(parents=True, exist_ok=True)

    # releases ---------------------------------------------------------------------------

    def _dir(self, release_id: int) -> Path:
        return self.root / "releases" / str(release_id)

    def _read(self, release_id: int) -> dict[str, object]:
        path = self._dir(release_id) / "release.json"
        try:
            data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReleaseError(f"release {release_id} does not exist in {self.root}") from None
        return data

    def _info(self, release_id: int) -> ReleaseInfo:
        data = self._read(release_id)
        return ReleaseInfo(release_id=release_id, tag=str(data["tag"]), draft=bool(data["draft"]),
                           immutable=False, url=str(self._dir(release_id)),
                           body=str(data.get("body", "")))

    def _write(self, release_id: int, data: dict[str, object]) -> None:
        path = self._dir(release_id) / "release.json"
        partial = path.with_name(".release.json.partial")
        partial.write_text(json.dumps(data, indent=2), encoding="utf-8")
        partial.replace(path)

    def _ids(self) -> list[int]:
        return sorted(int(p.name) for p in (self.root / "releases").iterdir() if p.name.isdigit())

    def find_release(self, tag: str) -> ReleaseInfo | None:
        found = [self._info(i) for i in self._ids() if self._read(i)["tag"] == tag
                 and not str(self._read(i).get("name", "")).startswith(f"{tag} backfill ")]
        published = [r for r in found if not r.draft]
        if published:
            return published[0]
        if len(found) > 1:
            listing = ", ".join(r.url for r in found)
            raise DuplicateDraftsError(f"{len(found)} drafts claim tag {tag}: {listing}",
                                       hint="Delete all but the one with the state log.")
        return found[0] if found else None

    def find_backfill_draft(self, tag: str, lane: str) -> ReleaseInfo | None:
        name = backfill_name(tag, lane)
        found = [self._info(i) for i in self._ids() if self._read(i).get("name") == name]
        return found[0] if found else None

    def ensure_backfill_draft(self, tag: str, lane: str, *, commit: str,
                              body: str) -> ReleaseInfo:
        existing = self.find_backfill_draft(tag, lane)
        if existing is not None:
            return existing
        return self.create_draft(tag, commit=commit, name=backfill_name(tag, lane), body=body)

    def get_release(self, release_id: int) -> ReleaseInfo:
        return self._info(release_id)

    def create_draft(self, tag: str, *, commit: str, name: str, body: str) -> ReleaseInfo:
        release_id = (max(self._ids()) + 1) if self._ids() else 1
        for folder in ("assets", "digests", "uploading"):
            (self._dir(release_id) / folder).mkdir(parents=True)
        self._write(release_id, {"tag": tag, "commit": commit, "name": name, "body": body,
                                 "draft": True})
        return self._info(release_id)

    def update_body(self, release_id: int, body: str) -> None:
        data = self._read(release_id)
        data["body"] = body
        self._write(release_id, data)
        (self._dir(release_id) / "RELEASE.md").write_text(body, encoding="utf-8")

    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        del read  # reading a local file costs nothing
        if body is not None:
            self.update_body(release_id, body)
        data = self._read(release_id)
        data["draft"] = False
        self._write(release_id, data)
        return self._info(release_id)

    # assets -----------------------------------------------------------------------------

    def _assets(self, release_id: int) -> Path:
        return self._dir(release_id) / "assets"

    def _digest(self, release_id: int, name: str) -> Path:
        return self._dir(release_id) / "digests" / name

    def _asset(self, release_id: int, name: str) -> AssetInfo:
        path = self._assets(release_id) / name
        digest = self._digest(release_id, name)
        sha = digest.read_text(encoding="ascii").strip() if digest.exists() else None
        return AssetInfo(asset_id=zlib.crc32(f"{release_id}/{name}".encode()), name=name,
                         size=path.stat().st_size, sha256=sha, complete=True)

    def list_assets(self, release_id: int) -> list[AssetInfo]:
        folder = self._assets(release_id)
        return [self._asset(release_id, p.name) for p in sorted(folder.iterdir()) if p.is_file()]

    def upload_asset(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        uploading = self._dir(release_id) / "uploading"
        uploading.mkdir(exist_ok=True)
        partial = uploading / f"{name}.{os.getpid()}.{threading.get_ident()}"
        shutil.copyfile(path, partial)
        digest = sha256_file(partial)
        try:
            os.link(partial, self._assets(release_id) / name)
        except FileExistsError:
            raise LogConflictError(f"release {release_id} already has an asset {name}") from None
        finally:
            partial.unlink(missing_ok=True)
        self._digest(release_id, name).parent.mkdir(exist_ok=True)
        self._digest(release_id, name).write_text(digest, encoding="ascii")
        return self._asset(release_id, name)

    def attach_files(self, release_id: int,
                     paths: Sequence[Path]) -> list[AssetInfo | ReleaseError]:
        """One at a time (a local disk gains nothing from more)."""
        results: list[AssetInfo | ReleaseError] = []
        for path in paths:
            try:
                results.append(self.upload_asset(release_id, path, name=path.name))
            except ReleaseError as problem:
                results.append(problem)
        return results

    def download_asset(self, release_id: int, asset: AssetInfo, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._assets(release_id) / asset.name, dest)
        return dest

    def download_assets(self, release_id: int, assets: Sequence[AssetInfo],
                        dest_dir: Path) -> list[Path]:
        return [self.download_asset(release_id, a, dest_dir / a.name) for a in assets]

    def delete_asset(self, release_id: int, asset: AssetInfo) -> None:
        (self._assets(release_id) / asset.name).unlink(missing_ok=True)
        self._digest(release_id, asset.name).unlink(missing_ok=True)

    # the log ----------------------------------------------------------------------------

    def load_log(self, release_id: int) -> StoredLog:
        snapshots = sorted(
            (seq, a) for a in self.list_assets(release_id)
            if (seq := snapshot_seq(a.name)) is not None
        )
        for _seq, asset in reversed(snapshots):
            data = (self._assets(release_id) / asset.name).read_bytes()
            try:
                eventlog.parse(data)
            except LogError as exc:
                log.warning("log.snapshot-skipped", asset=asset.name, why=exc.message)
                continue
            return StoredLog(data, asset)
        return StoredLog(b"", None)

    def store_log(self, release_id: int, data: bytes, *, first_new_seq: int) -> None:
        name = snapshot_name(first_new_seq)
        uploading = self._dir(release_id) / "uploading"
        uploading.mkdir(exist_ok=True)
        source = uploading / f"{name}.new.{os.getpid()}.{threading.get_ident()}"
        source.write_bytes(data)
        try:
            self.upload_asset(release_id, source, name=name)
        finally:
            source.unlink(missing_ok=True)
        for asset in self.list_assets(release_id):
            seq = snapshot_seq(asset.name)
            if seq is not None and seq < first_new_seq:
                self.delete_asset(release_id, asset)
