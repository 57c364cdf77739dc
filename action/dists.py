"""Dist files as twine reads them: one `PackageFile` per file and job, checked in-process.

twine's `PackageFile` parses and validates a dist's metadata and hashes the file (sha256 and
blake2b) when it is made. It is made here once per file (keyed like the digest cache, by the
file's identity and state), and its sha256 enters the digest cache, so a file that is checked
and then uploaded to two indexes is read for hashing once.

`check_strict` is `twine check --strict` without a process per file: the same metadata
validation (`PackageFile.from_filename`) and the same description checks (a missing
description or content type is a warning, which strict makes an error; reStructuredText must
render). It uses twine's own renderers table and content-type parser, pinned with twine.
"""

from __future__ import annotations

import tarfile
import threading
import zipfile
from typing import TYPE_CHECKING

from action import digests
from action.errors import BuildError

if TYPE_CHECKING:
    from pathlib import Path

    from twine import package as twine_package

CHECK_HINT = ("Fix the package metadata (often the README's markup or a missing "
              "long_description_content_type) and build again.")
_Key = tuple[int, int, int, int, int]
_packages: dict[_Key, twine_package.PackageFile] = {}
_lock = threading.Lock()


def _key(path: Path) -> _Key:
    stat = path.stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def package(path: Path) -> twine_package.PackageFile:
    """twine's package object for the file, made (and the file hashed) once."""
    key = _key(path)
    with _lock:
        made = _packages.get(key)
    if made is None:
        from twine import exceptions as twine_errors  # noqa: PLC0415 - twine loads on first use
        from twine import package as twine_package  # noqa: PLC0415

        try:
            made = twine_package.PackageFile.from_filename(str(path), comment=None)
        except (twine_errors.InvalidDistribution, zipfile.BadZipFile, tarfile.TarError,
                EOFError) as exc:
            raise BuildError(f"twine cannot read {path.name}: {exc}", hint=CHECK_HINT) from exc
        if made.sha2_digest:
            digests.remember(path, made.sha2_digest)
        with _lock:
            _packages[key] = made
    return made


def sha256(path: Path) -> str:
    """The dist's sha256 from the pass that reads it for twine (one read for both); a file
    twine cannot read is hashed alone (and refused by `check_strict` where it is checked)."""
    try:
        made = package(path).sha2_digest
    except BuildError:
        made = None
    return made or digests.sha256_file(path)


def check_strict(path: Path) -> list[str]:
    """What `twine check --strict` would refuse in the file; [] when it passes."""
    from twine.commands import check as twine_check  # noqa: PLC0415 - docutils: build jobs only

    meta = package(path).metadata_dictionary()
    problems = []
    content_type = meta.get("description_content_type")
    if content_type is None:
        problems.append("`long_description_content_type` missing. defaulting to `text/x-rst`.")
        content_type = "text/x-rst"
    media, params = twine_check._parse_content_type(content_type)  # noqa: SLF001 - pinned twine
    renderers = twine_check._RENDERERS  # noqa: SLF001 - the same table twine check uses
    renderer = renderers.get(media, renderers[None])
    description = meta.get("description")
    if not description or description.rstrip() == "UNKNOWN":
        problems.append("`long_description` missing.")
    elif renderer is not None:
        warnings = twine_check._WarningStream()  # noqa: SLF001 - formats docutils' report
        if renderer.render(description, stream=warnings, **params) is None:
            problems.append("`long_description` has syntax errors in markup and would not be "
                            f"rendered on PyPI: {str(warnings).strip()}")
    return problems
