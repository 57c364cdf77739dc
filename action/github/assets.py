"""The files of a release: uploads that never repeat blindly, streamed and checked downloads.

Cut-off uploads (`starter` assets) and the rule chosen for them:
- a starter under a name that our own interrupted attempt was writing is ours: removed at once
  and the upload retried;
- a file's starter found before uploading is removed and the file uploaded;
- a snapshot's starter that we did not create is removed only once its `updated_at` is older
  than `starter_grace` (default 120 s; a snapshot is at most a few hundred KiB); a younger one
  raises `LogConflictError` (another writer may still be uploading it).
Safety does not rest on the grace period: success is decided by the log store's confirmation
(`log_store.py`), so removing a live writer's starter can only make that writer retry, never
lose an event. Readers ignore starters and never delete anything.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from github import GithubException

from action.digests import sha256_file
from action.errors import (
    ConfigError,
    DigestMismatchError,
    GitHubError,
    LogConflictError,
    ReleaseError,
)
from action.github import failures
from action.logs import get_logger
from action.stores.base import SNAPSHOT, AssetInfo, checked_asset_name

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from action.github.releases import Releases
    from action.github.transport import Transport

log = get_logger("action.github")

COLLISIONS = 4  # rounds of "422 already_exists -> look -> retry" before giving up


@dataclass(frozen=True, slots=True, kw_only=True)
class Remote:
    """An asset as listed, with what the protocol's AssetInfo leaves out."""

    info: AssetInfo
    updated_at: datetime
    url: str


@dataclass(frozen=True, kw_only=True)
class Upload:
    name: str
    size: int
    sha256: str
    snapshot: bool
    open: Callable[[], BinaryIO]

    @classmethod
    def of_file(cls, path: Path, name: str) -> Upload:
        return cls(name=name, size=path.stat().st_size, sha256=sha256_file(path),
                   snapshot=SNAPSHOT.fullmatch(name) is not None, open=lambda: path.open("rb"))

    @classmethod
    def of_bytes(cls, name: str, data: bytes) -> Upload:
        return cls(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   snapshot=True, open=lambda: io.BytesIO(data))


class Assets:
    """The assets of the releases `releases` knows, moved `pool`'s workers at a time.

    The last listing of each release is kept, with this store's own uploads and deletions
    since. GitHub's every answer about a release (read, listed among the releases, created,
    changed) holds all its assets: that is a listing too, and a cheaper one, since listing
    the assets takes a request per 100 of them. It is taken up when the assets are next
    needed (`current`, `known`), once: after that, `current` lists again.
    """

    def __init__(self, http: Transport, releases: Releases, *,
                 pool: concurrent.futures.ThreadPoolExecutor,
                 clock: Callable[[], datetime]) -> None:
        self.http = http
        self.releases = releases
        self._pool = pool
        self._clock = clock
        self._lock = threading.Lock()
        self._listing: dict[int, dict[int, Remote]] = {}
        self._embedded: dict[int, list[Mapping[str, Any]]] = {}

    def remotes(self, release_id: int) -> list[Remote]:
        """The release's assets, listed now (and kept as the listing `known` answers)."""
        listed = self.http.get_all(f"{self.releases.repo}/releases/{release_id}/assets")
        with self._lock:
            self._embedded.pop(release_id, None)  # older than this listing
        return self._keep(release_id, listed)

    def _keep(self, release_id: int, listed: Sequence[Mapping[str, Any]]) -> list[Remote]:
        remotes = [remote(a, release_id) for a in listed]
        with self._lock:
            self._listing[release_id] = {r.info.asset_id: r for r in remotes}
        return remotes

    def seen(self, release_id: int, assets: list[Mapping[str, Any]]) -> None:
        """GitHub has just answered about the release with these assets in it."""
        with self._lock:
            self._embedded[release_id] = list(assets)

    def _taken_up(self, release_id: int) -> list[Remote] | None:
        """The assets of GitHub's last answer about the release, if not taken up yet."""
        with self._lock:
            embedded = self._embedded.pop(release_id, None)
        return None if embedded is None else self._keep(release_id, embedded)

    def current(self, release_id: int) -> list[Remote]:
        """The assets as GitHub has just said: in its last answer about the release when
        that was not taken up yet, else listed now."""
        taken = self._taken_up(release_id)
        return taken if taken is not None else self.remotes(release_id)

    def known(self, release_id: int) -> list[Remote]:
        """The last listing, kept up to date with this store's own uploads and deletions."""
        taken = self._taken_up(release_id)
        if taken is not None:
            return taken
        with self._lock:
            listed = self._listing.get(release_id)
            if listed is not None:
                return list(listed.values())
        return self.remotes(release_id)

    def _noted(self, release_id: int, *, added: Remote | None = None,
               removed: int | None = None) -> None:
        self._taken_up(release_id)  # GitHub's last answer, then this change
        with self._lock:
            listed = self._listing.get(release_id)
            if listed is None:
                return
            if added is not None:
                listed[added.info.asset_id] = added
            if removed is not None:
                listed.pop(removed, None)

    def _find(self, release_id: int, name: str) -> Remote | None:
        return next((r for r in self.remotes(release_id) if r.info.name == name), None)

    def upload(self, release_id: int, path: Path, *, name: str) -> AssetInfo:
        """Attach a file (streamed). The same bytes already there: nothing is uploaded; the
        same name with other bytes: DigestMismatchError (LogConflictError for a snapshot)."""
        upload = Upload.of_file(path, name)
        return self.put(release_id, upload, self._find(release_id, name))

    def upload_all(self, release_id: int, paths: Sequence[Path]) -> list[AssetInfo]:
        """Attach files under their own names, `concurrency` at a time, after one listing."""
        results = self.attach(release_id, paths)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [r for r in results if not isinstance(r, Exception)]

    def attach(self, release_id: int, paths: Sequence[Path]) -> list[AssetInfo | ReleaseError]:
        """As `upload_all`, but each file's own outcome: its asset, or why it failed."""
        if not paths:
            return []
        uploads = list(self._pool.map(lambda p: Upload.of_file(p, p.name), paths))
        _refuse_repeated_names(uploads)
        self.http.plan(len(uploads))
        existing = {r.info.name: r for r in self.known(release_id)}
        self.releases.upload_url(release_id)
        futures = [self._pool.submit(self._put_translated, release_id, u, existing.get(u.name))
                   for u in uploads]
        concurrent.futures.wait(futures)
        return [f.result() for f in futures]

    def _put_translated(self, release_id: int, upload: Upload,
                        found: Remote | None) -> AssetInfo | ReleaseError:
        try:
            return self.put(release_id, upload, found)
        except ReleaseError as problem:
            return problem
        except (GithubException, failures.HttpError) as exc:
            return failures.as_release_error(f"upload {upload.name}", exc)

    def put(self, release_id: int, upload: Upload, found: Remote | None) -> AssetInfo:
        """Upload unless the bytes are there; never repeat a lost upload blindly."""
        for _ in range(COLLISIONS):
            if found is not None:
                present = self._judge(release_id, upload, found, ours=False)
                if present is not None:
                    return present
            try:
                return self.http.retrying.run(
                    f"upload {upload.name}",
                    lambda: self._post(release_id, upload),
                    settle=lambda: self._settle_upload(release_id, upload),
                )
            except GithubException as exc:
                if failures.immutable(exc):
                    raise failures.immutable_error(release_id, upload.name) from exc
                if not failures.already_exists(exc):
                    raise
                found = self._find(release_id, upload.name)
        raise GitHubError(f"{upload.name}: every upload collided with another of that name",
                          hint="Another run is uploading the same files. Let it finish, "
                          "then re-run this job.")

    def _post(self, release_id: int, upload: Upload) -> AssetInfo:
        url = self.releases.upload_url(release_id)
        with upload.open() as body:
            data = self.http.upload(url, upload.name, upload.size, body)
        log.info("github.asset_uploaded", name=upload.name, size=upload.size)
        uploaded = remote(data, release_id)
        self._noted(release_id, added=uploaded)
        return uploaded.info

    def _settle_upload(self, release_id: int, upload: Upload) -> AssetInfo | None:
        """After our upload failed mid-way: did it land? A starter under its name is ours."""
        found = self._find(release_id, upload.name)
        return None if found is None else self._judge(release_id, upload, found, ours=True)

    def _judge(self, release_id: int, upload: Upload, found: Remote, *,
               ours: bool) -> AssetInfo | None:
        """An asset holds the name: the same bytes (return it), other bytes (raise), or a
        cut-off upload (remove it when the rule allows, return None: upload)."""
        if found.info.complete:
            actual = self._remote_sha256(found.info)
            if actual == upload.sha256 and found.info.size == upload.size:
                log.info("github.asset_present", name=upload.name, sha256=actual)
                return found.info
            raise _taken(upload, found, actual)
        age = (self._clock() - found.updated_at).total_seconds()
        grace = self.http.tuning.starter_grace
        if ours or not upload.snapshot or age >= grace:
            self.delete(release_id, found.info)
            log.warning("github.starter_removed", name=upload.name, age_seconds=round(age),
                        why="our own cut-off upload" if ours else "a cut-off upload")
            return None
        raise LogConflictError(
            f"{upload.name} is held by an upload that has not finished (started {age:.0f} s "
            "ago): another run may be appending to the log right now",
            hint=f"Reload, re-plan, retry. A cut-off upload is removed once it is older than "
            f"{grace:.0f} s; if this persists, re-run the job later.",
        )

    def _remote_sha256(self, info: AssetInfo) -> str:
        """GitHub's digest; when it is null, download and hash (streamed)."""
        if info.sha256 is not None:
            return info.sha256
        digest = hashlib.sha256()
        self.http.retrying.run(f"hash {info.name}",
                               lambda: self.stream(info, digest.update, digest_check=False))
        log.info("github.digest_fallback", name=info.name, sha256=digest.hexdigest())
        return digest.hexdigest()

    def delete(self, release_id: int, asset: AssetInfo) -> None:
        url = f"{self.releases.repo}/releases/assets/{asset.asset_id}"
        try:
            self.http.retrying.run(f"DELETE {asset.name}", lambda: self.http.call("DELETE", url))
        except GithubException as exc:
            if failures.immutable(exc):
                raise failures.immutable_error(release_id, asset.name) from exc
            if exc.status != failures.HTTP_NOT_FOUND:  # gone already: what we wanted
                raise
        self._noted(release_id, removed=asset.asset_id)

    def download(self, asset: AssetInfo, dest: Path) -> Path:
        """Stream the bytes to `dest` (via `dest.part`), checking the size (see `_download`)."""
        return self.http.retrying.run(f"download {asset.name}",
                                      lambda: self._download(asset, dest))

    def download_all(self, release_id: int, assets: Sequence[AssetInfo],
                     dest_dir: Path) -> list[Path]:
        """Several downloads at a time, each to `dest_dir / asset.name`."""
        futures = [self._pool.submit(self.download, a,
                                     dest_dir / checked_asset_name(a.name, release=str(release_id)))
                   for a in assets]
        concurrent.futures.wait(futures)
        return [f.result() for f in futures]

    def _download(self, asset: AssetInfo, dest: Path) -> Path:
        """A file to disk, checked by size only: every caller checks its digest against the
        ledger, and hashes it once (with twine's own pass, for a dist: `action.dists`)."""
        partial = dest.with_name(dest.name + ".part")
        with partial.open("wb") as sink:
            self.stream(asset, sink.write, hashing=False)
        partial.replace(dest)
        return dest

    def stream(self, asset: AssetInfo, sink: Callable[[bytes], object], *,
               digest_check: bool = True, hashing: bool = True) -> None:
        """The asset's bytes into `sink`; a cut stream (size) or, `hashing`, other bytes than
        GitHub's digest raise TruncatedError."""
        digest, size = hashlib.sha256(), 0

        def take(block: bytes) -> None:
            nonlocal size
            if hashing:
                digest.update(block)
            size += len(block)
            sink(block)

        self.http.download(f"{self.releases.repo}/releases/assets/{asset.asset_id}", take)
        wrong = hashing and digest_check and asset.sha256 not in (None, digest.hexdigest())
        if size != asset.size or wrong:
            raise failures.TruncatedError(
                f"{asset.name}: got {size} bytes, expected {asset.size}"
                + (f" (sha256 {digest.hexdigest()})" if hashing else ""))


def remote(data: Mapping[str, Any], release_id: int) -> Remote:
    digest = data.get("digest")
    sha = digest.removeprefix("sha256:") if isinstance(digest, str) else None
    info = AssetInfo(
        asset_id=int(data["id"]),
        name=checked_asset_name(str(data["name"]), release=str(release_id)),
        size=int(data["size"]),
        sha256=sha if digest and digest.startswith("sha256:") else None,
        complete=data.get("state") == "uploaded",
    )
    return Remote(info=info, updated_at=datetime.fromisoformat(str(data["updated_at"])),
                  url=str(data.get("browser_download_url", "")))


def _taken(upload: Upload, found: Remote, actual: str) -> ReleaseError:
    if upload.snapshot:
        return LogConflictError(
            f"another run appended {upload.name} first (sha256 {actual})",
            hint="Reload the log, re-plan and retry.",
        )
    return DigestMismatchError(
        upload.name, upload.sha256, actual,
        where=f"the asset already on the release ({found.url or found.info.asset_id})",
        hint="Nothing was uploaded. The release holds other bytes under this name: if "
        "they are wrong, delete that asset and re-run; if the local file was rebuilt, "
        "use the recorded bytes (never rebuild what was already built).",
    )


def _refuse_repeated_names(uploads: Sequence[Upload]) -> None:
    names = [u.name for u in uploads]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"several files share the asset name(s) {', '.join(repeated)}",
                          hint="Release asset names are unique per release.")
