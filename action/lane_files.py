"""The lane's bytes, as every step needs them: where the job keeps its files, their digests,
the local copies checked against the ledger, and the draft's copies downloaded and checked.

Part of the floor under the steps (with `action.job`): a step asks here for a file with the
recorded bytes; whatever other bytes it meets under a recorded name stop the release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from action import dists
from action.digests import sha256_file
from action.errors import DigestMismatchError, ReleaseError, VerificationError
from action.intake import check_entry
from statemachine.ledger import is_sdist, is_wheel
from statemachine.records import FileRef

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from action.job import Job
    from action.stores.base import AssetInfo


# --- local files ------------------------------------------------------------------------------


def digest_of(path: Path) -> str:
    """sha256 of a file, hashed once while it stays as it is (`action.digests`); a dist in
    the same pass that reads it for twine (`action.dists`)."""
    if is_wheel(path.name) or is_sdist(path.name):
        return dists.sha256(path)
    return sha256_file(path)


def file_ref(path: Path) -> FileRef:
    return FileRef(name=path.name, size=path.stat().st_size, sha256=digest_of(path))


def files_dir(job: Job) -> Path:
    """Where this job keeps the bytes it built, signed or downloaded."""
    path = job.workdir / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def present_files(job: Job) -> list[FileRef]:
    """Dists in the dist directory that no other lane owns (files handed over by other jobs).

    Each is checked before it is read (`action.intake.check_entry`: a safe name, a regular
    file of its own, not too large): whatever else sits there under a dist's name stops the
    job before anything is recorded."""
    folder = job.config.dist_dir
    if not folder.is_dir():
        return []
    state = job.log.state
    found = []
    for path in sorted(folder.iterdir()):
        if not (is_wheel(path.name) or is_sdist(path.name)):
            continue
        check_entry(path, max_size=job.config.max_dist_size)
        owner = state.owner_of(path.name)
        if owner in {None, job.config.lane}:
            found.append(file_ref(path))
    return found


def local_copy(job: Job, file: FileRef) -> Path | None:
    """A local file with exactly the recorded bytes, or None; other bytes stop everything."""
    for folder in (files_dir(job), job.config.dist_dir, job.workdir / "reviewed"):
        path = folder / file.name
        if path.is_file():
            actual = digest_of(path)
            if actual != file.sha256:
                raise DigestMismatchError(file.name, file.sha256, actual, where=str(path))
            return path
    return None


def verify_local(job: Job) -> None:
    """Every local copy of a ledger file still has the recorded bytes."""
    for artifact in job.lane.files.values():
        local_copy(job, artifact.file)


# --- the draft's files ------------------------------------------------------------------------


def asset_digest(job: Job, release_id: int, asset: AssetInfo) -> str:
    """The sha256 of an attached file: GitHub's `digest`, or download and hash."""
    if asset.sha256:
        return asset.sha256
    dest = job.workdir / "check" / asset.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    job.services.store.download_asset(release_id, asset, dest)
    return sha256_file(dest)


def verify_draft(job: Job, listing: Sequence[AssetInfo] | None = None) -> None:
    """The draft holds exactly the lane's release files (what the reviewer will approve);
    `listing`: the draft's assets as just listed (else they are listed here)."""
    lane = job.lane
    release_id = job.release_ref().release_id
    if listing is None:
        listing = job.services.store.list_assets(release_id)
    attached = {a.name: a for a in listing}
    for file in lane.release_files():
        asset = attached.get(file.name)
        if asset is None or not asset.complete:
            raise ReleaseError(f"{file.name} is missing from the draft release",
                               hint="Re-dispatch the release step to attach it again.")
        actual = asset_digest(job, release_id, asset)
        if actual != file.sha256:
            raise DigestMismatchError(file.name, file.sha256, actual,
                                      where="the draft release")


def fetch_reviewed(job: Job, files: Sequence[FileRef],
                   listing: Sequence[AssetInfo] | None = None) -> dict[str, Path]:
    """Each file from the draft release (those not already here, several at a time), checked
    against the ledger; `listing` as for `verify_draft`."""
    release_id = job.release_ref().release_id
    store = job.services.store
    folder = job.workdir / "reviewed"
    folder.mkdir(parents=True, exist_ok=True)
    if not files:
        return {}
    if listing is None:
        listing = store.list_assets(release_id)
    assets = {a.name: a for a in listing}
    missing = [f for f in files
               if not (folder / f.name).is_file() or digest_of(folder / f.name) != f.sha256]
    for file in missing:
        if file.name not in assets:
            raise VerificationError(f"{file.name} is no longer attached to the draft",
                                    hint="Nothing was uploaded. Restore the file or start "
                                    "over with a new tag.")
    store.download_assets(release_id, [assets[f.name] for f in missing], folder)
    paths: dict[str, Path] = {}
    for file in files:
        dest = folder / file.name
        actual = digest_of(dest)
        if actual != file.sha256:
            raise DigestMismatchError(file.name, file.sha256, actual, where="the draft release")
        paths[file.name] = dest
    return paths
