"""A client of one package index: a batch of files made to hold exactly the approved bytes.

`PackageIndex.publish` takes a batch: what the index held just before decides what is left
alone (the same bytes) or stops (other bytes under the name); the rest is uploaded several at a
time (`uploading.py`), and the index is read once more (`reading.py`) to confirm the batch.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from action.digests import sha256_file
from action.errors import (
    DigestMismatchError,
    FileExistsOnIndexError,
    PackageIndexError,
    ReleaseError,
)
from action.index.config import project_of
from action.index.reading import Reader
from action.index.transport import TransientError, retrying
from action.index.trusted import Login, MintedToken, mint_token
from action.index.uploading import Uploader
from action.logs import get_logger
from action.retry import Backoff
from action.workers import run_bounded

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

    from action.index.config import IndexConfig

log = get_logger("action.index")

UPLOAD_WORKERS = 4  # uploads in flight per index


class Outcome(enum.StrEnum):
    """What `ensure` did."""

    ALREADY_PRESENT = "already-present"
    UPLOADED = "uploaded"


@dataclass(frozen=True, slots=True)
class Dist:
    """One file of a batch: where it is, the bytes it must be, its PEP 740 attestations."""

    path: Path
    sha256: str
    attestations: tuple[Path, ...] = ()


class PackageIndex:
    """A client of one package index. Build it with `open_index` (tests replace that)."""

    def __init__(
        self,
        config: IndexConfig,
        *,
        session: requests.Session | None = None,
        backoff: Backoff | None = None,
        minter: Callable[[IndexConfig], MintedToken] = mint_token,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        workers: int = UPLOAD_WORKERS,
    ) -> None:
        self.config = config
        self.workers = workers
        self._backoff = backoff or Backoff()
        self.reader = Reader(config, session=session or requests.Session(),
                             backoff=self._backoff, timeout=timeout)
        self.uploader = Uploader(config, login=Login(config, minter=minter, clock=clock),
                                 backoff=self._backoff)

    # reading

    def files(self, project: str) -> dict[str, str]:
        """{filename: sha256} of every file the index holds for `project`; {} when unknown."""
        return self.reader.files(project)

    def release_opened(self, project: str, version: str) -> datetime | None:
        """When the index got the release's first file (the JSON API's upload times); None
        when it has no such release (or no JSON API, as a bare pypiserver)."""
        return self.reader.release_opened(project, version)

    def confirm_release(self, project: str, version: str, expected: Mapping[str, str]) -> bool:
        """The release on the index (its JSON API) holds exactly `expected` ({file: sha256});
        False: the index has no JSON API to ask (`reading.Reader.confirm_release`)."""
        return self.reader.confirm_release(project, version, expected)

    # uploading

    def upload(self, path: Path, *, attestations: Sequence[Path] = ()) -> None:
        """Upload one file through twine's API; retry transient failures; explain a refusal."""
        self.uploader.upload(path, attestations=attestations)

    # provenance (PEP 740's Integrity API)

    def provenance(self, path: Path) -> dict[str, Any] | None:
        """What the index holds as the file's provenance, or None when it has none."""
        return self.reader.provenance(path)

    def confirm_provenance(self, path: Path) -> None:
        """After a trusted-publishing upload with an attestation: the index must hold
        provenance for the file from this workflow's trusted publisher."""
        self.reader.confirm_provenance(path)

    # idempotency

    def ensure(
        self, path: Path, sha256: str, *, attestations: Sequence[Path] = ()
    ) -> Outcome:
        """Make the index hold exactly these bytes under this name, uploading at most once."""
        held = self.files(project_of(path.name))
        (outcome,) = self.publish([Dist(path, sha256, tuple(attestations))], held=held)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def publish(self, batch: Sequence[Dist], *,
                held: Mapping[str, str]) -> list[Outcome | ReleaseError]:
        """Make the index hold exactly these bytes under these names: per file, what was done
        or why not. `held`: what the index held just before (`files`). The files it does not
        hold are uploaded `workers` at a time, then the index is read once to confirm them."""
        where = f"{self.config.name} ({self.config.simple_url})"
        outcomes: list[Outcome | ReleaseError] = []
        for dist in batch:
            present = held.get(dist.path.name)
            try:
                if present is not None:
                    _require_same(dist.path.name, dist.sha256, present, where)
                    log.info("index.already-present", index=self.config.name,
                             file=dist.path.name)
                outcomes.append(Outcome.ALREADY_PRESENT)
            except ReleaseError as refused:
                outcomes.append(refused)
        todo = [n for n, d in enumerate(batch) if d.path.name not in held]
        sent = run_bounded(lambda n: self._upload_checked(batch[n]), todo,
                           workers=self.workers)
        landed = []
        for number, result in zip(todo, sent, strict=True):
            outcomes[number] = result if isinstance(result, ReleaseError) else Outcome.UPLOADED
            if not isinstance(result, ReleaseError):
                landed.append(batch[number])
        for dist, problem in self._confirm(landed, where).items():
            outcomes[batch.index(dist)] = problem
        return outcomes

    def _upload_checked(self, dist: Dist) -> None:
        local = sha256_file(dist.path)
        if local != dist.sha256:
            raise DigestMismatchError(dist.path.name, dist.sha256, local,
                                      where="the local file")
        try:
            self.upload(dist.path, attestations=dist.attestations)
        except FileExistsOnIndexError:
            log.info("index.exists-after-upload", index=self.config.name, file=dist.path.name)

    def _confirm(self, landed: Sequence[Dist],
                 where: str) -> dict[Dist, ReleaseError]:
        """Read the index once (again while some are not listed yet): each upload is there
        with its bytes. The uploads it contradicts, with why."""
        if not landed:
            return {}
        projects = sorted({project_of(d.path.name) for d in landed})
        problems: dict[Dist, ReleaseError] = {}

        def check() -> None:
            held: dict[str, str] = {}
            for project in projects:
                held.update(self.files(project))
            missing = [d.path.name for d in landed if d.path.name not in held]
            if missing:
                raise TransientError(f"not listed on {where} yet: {', '.join(missing)}")
            for dist in landed:
                try:
                    _require_same(dist.path.name, dist.sha256, held[dist.path.name], where,
                                  after_upload=True)
                    log.info("index.uploaded", index=self.config.name, file=dist.path.name,
                             sha256=dist.sha256)
                except ReleaseError as problem:
                    problems[dist] = problem

        retrying(f"confirming {len(landed)} upload(s) on {self.config.name}", check,
                 self._backoff)
        return problems


def _require_same(name: str, sha256: str, held: str, where: str, *,
                  after_upload: bool = False) -> None:
    if not held:
        raise PackageIndexError(
            f"{where} lists {name} without a sha256, so its bytes cannot be compared",
            hint="Use an index whose simple API publishes sha256 digests.",
        )
    if held != sha256:
        hint = ("Someone else uploaded different bytes under this name while we uploaded. "
                "Only a new version can fix it.") if after_upload else ""
        raise DigestMismatchError(name, sha256, held, where=where, hint=hint)


def open_index(config: IndexConfig, **options: Any) -> PackageIndex:
    """The factory the action uses; tests may replace it with one returning a double."""
    return PackageIndex(config, **options)
