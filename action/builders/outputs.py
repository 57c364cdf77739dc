"""The record of one build step: which part, which files, built by which tools in which images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from action.builders.docker_engine import ImageRecord
from action.builders.identifiers import Completeness, compare_identifiers
from action.errors import BuildError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ZIP_EPOCH_MIN", "BuildOutput"]

ZIP_EPOCH_MIN = 315532800  # 1980-01-01: a zip file (a wheel) cannot store an earlier date
_PART = re.compile(r"^[a-z][a-z0-9_.-]*$")


@dataclass(frozen=True, kw_only=True)
class BuildOutput:
    """One build step's result: which part, which files, built by which tools in which images.

    `part` is "sdist", "wheel" (a pure-Python wheel) or a cibuildwheel platform ("linux", ...).
    `identifiers` are the build identifiers the step was expected to cover (wheel parts only).
    `source` is the sdist file the wheels were built from (None: built from the checkout).
    """

    part: str
    files: tuple[Path, ...]
    tools: Mapping[str, str]
    source_date_epoch: int
    images: tuple[ImageRecord, ...] = ()
    identifiers: tuple[str, ...] = ()
    source: Path | None = None

    def __post_init__(self) -> None:
        if not _PART.match(self.part):
            raise BuildError(f"build part {self.part!r} is not a lower-case name")
        if not self.files:
            raise BuildError(f"build part {self.part}: no files were built")
        suffix = ".tar.gz" if self.part == "sdist" else ".whl"
        wrong = [p.name for p in self.files if not p.name.endswith(suffix)]
        if wrong:
            raise BuildError(f"build part {self.part}: expected only {suffix} files, got {wrong}")
        if self.source_date_epoch < ZIP_EPOCH_MIN:
            raise BuildError(f"SOURCE_DATE_EPOCH {self.source_date_epoch} is before 1980")
        if self.source is not None and (suffix != ".whl" or not self.source.name.endswith(
                ".tar.gz")):
            raise BuildError(f"build part {self.part}: only wheels are built from an sdist, "
                             f"not from {self.source.name}")

    def completeness(self) -> Completeness:
        """Expected identifiers vs the wheels built (a wheel part only)."""
        return compare_identifiers(self.identifiers, [p.name for p in self.files])

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "files": [str(p) for p in self.files],
            "tools": dict(sorted(self.tools.items())),
            "source_date_epoch": self.source_date_epoch,
            "images": [i.to_json() for i in self.images],
            "identifiers": list(self.identifiers),
            "source": str(self.source) if self.source is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildOutput:
        try:
            return cls(
                part=str(data["part"]),
                files=tuple(Path(str(p)) for p in data["files"]),
                tools={str(k): str(v) for k, v in dict(data["tools"]).items()},
                source_date_epoch=int(data["source_date_epoch"]),
                images=tuple(
                    ImageRecord(
                        name=str(i["name"]),
                        image_id=str(i["image_id"]),
                        repo_digests=tuple(str(d) for d in i.get("repo_digests", ())),
                    )
                    for i in data.get("images", ())
                ),
                identifiers=tuple(str(i) for i in data.get("identifiers", ())),
                source=Path(str(data["source"])) if data.get("source") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BuildError(f"malformed build record: {exc!r}") from exc
