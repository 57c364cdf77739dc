"""The artifact ledger: which files a lane has, their digests, and what happened to them.

A lane's files are the dists it built or took in (sdist, wheels); its release files are those
plus the signed provenance and the per-file publish attestations. The manifest digest of a
list of files is what a reviewer approves; anything published must match it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from statemachine.canonical import canonical, sha256_hex
from statemachine.records import INDEXES, FileRef

SDIST_SUFFIX: Final = ".tar.gz"
WHEEL_SUFFIX: Final = ".whl"
TAKEN_IN: Final = "taken-in"  # the part of the files a lane takes in from other jobs


def is_sdist(name: str) -> bool:
    return name.endswith(SDIST_SUFFIX)


def is_wheel(name: str) -> bool:
    return name.endswith(WHEEL_SUFFIX)


def manifest_digest(files: list[FileRef] | tuple[FileRef, ...]) -> str:
    """sha256 of the canonical JSON list of files (name, size, sha256), sorted by name."""
    entries = [f.to_json() for f in sorted(files, key=lambda f: f.name)]
    return sha256_hex(canonical(entries))


def upload_order(files: list[FileRef] | tuple[FileRef, ...]) -> list[FileRef]:
    """Wheels first, then the sdist: pip falls back to the sdist for a shorter time."""
    return sorted(files, key=lambda f: (is_sdist(f.name), f.name))


@dataclass(frozen=True, slots=True)
class Artifact:
    """A dist file in the ledger and the build part that made (or took) it."""

    file: FileRef
    part: str
    origin: str

    @property
    def name(self) -> str:
        return self.file.name


@dataclass(slots=True)
class PartRecord:
    """A build part: started, finished, and the environment it ran in."""

    name: str
    finished: bool = False
    tools: dict[str, str] = field(default_factory=dict)
    images: tuple[tuple[str, str], ...] = ()
    source: FileRef | None = None  # the sdist the part's wheels were built from


@dataclass(slots=True)
class IndexRecord:
    """What a lane knows about one package index: uploads begun and files confirmed there."""

    index: str
    started: dict[str, FileRef] = field(default_factory=dict)
    confirmed: dict[str, FileRef] = field(default_factory=dict)

    def unknown(self) -> list[str]:
        """Uploads begun but never confirmed: a crash came between; check the index."""
        return sorted(set(self.started) - set(self.confirmed))


def new_index_records() -> dict[str, IndexRecord]:
    return {index: IndexRecord(index) for index in INDEXES}
