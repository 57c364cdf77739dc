"""Many valid dists at once, without building anything: N wheels of a chosen size and an sdist.

A release of a C-extension project has dozens of platform wheels. Compiling them is not what the
scale tests and the release benchmark measure, so the files are written directly: each wheel
is a real zip with METADATA, WHEEL and a RECORD that agree with its name (`twine check
--strict` passes; pypiserver and the simple API accept it), its bulk one stored member of
random bytes (incompressible, so sizes are what they say). The sdist is a real tar.gz with
PKG-INFO. Names are distinct platform tags (`cp312-cp312-musllinux_1_2_aarch64`, ...).
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
import tarfile
import zipfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313", "cp313t", "cp314", "cp314t")
PLATFORMS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "manylinux_2_17_i686.manylinux2014_i686", "manylinux_2_17_ppc64le.manylinux2014_ppc64le",
    "manylinux_2_17_s390x.manylinux2014_s390x", "manylinux_2_31_armv7l",
    "musllinux_1_2_x86_64", "musllinux_1_2_aarch64", "musllinux_1_2_i686",
    "musllinux_1_2_ppc64le", "musllinux_1_2_s390x", "musllinux_1_2_armv7l",
    "macosx_10_13_x86_64", "macosx_11_0_arm64", "win_amd64", "win32", "win_arm64",
)
MAX_WHEELS = len(PYTHONS) * len(PLATFORMS)
EPOCH = (2026, 1, 1, 0, 0, 0)


def metadata(name: str, version: str) -> bytes:
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            "Summary: A project with many wheels\nDescription-Content-Type: text/markdown\n\n"
            f"# {name}\n\nMany platform wheels, one release.\n").encode()


def wheel_tags(count: int) -> list[str]:
    """`count` distinct `python-abi-platform` tags."""
    if count > MAX_WHEELS:
        raise ValueError(f"at most {MAX_WHEELS} distinct wheels")
    pairs = itertools.islice(itertools.product(PYTHONS, PLATFORMS), count)
    return [f"{py}-{py}-{platform}" for py, platform in pairs]


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(folder: Path, name: str, version: str, tag: str, size: int, *,
                meta: bytes | None = None) -> Path:
    """A wheel whose METADATA is `meta` (default: valid, with a Markdown description)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": f"TAG = {tag!r}\n".encode(),
        f"{dist}/_payload.bin": os.urandom(size),
        f"{info}/METADATA": metadata(name, version) if meta is None else meta,
        f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: many_dists\nRoot-Is-Purelib: false\n"
                          f"Tag: {tag}\n").encode(),
    }
    record = "\n".join([*(_record_line(p, d) for p, d in members.items()),
                        f"{info}/RECORD,,", ""])
    path = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, data in [*members.items(), (f"{info}/RECORD", record.encode())]:
            archive.writestr(zipfile.ZipInfo(member, EPOCH), data)
    return path


def write_sdist(folder: Path, name: str, version: str) -> Path:
    dist = name.replace("-", "_")
    base = f"{dist}-{version}"
    files = {
        "PKG-INFO": metadata(name, version),
        "pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode(),
        f"{dist}/__init__.py": b"",
    }
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, data in files.items():
            entry = tarfile.TarInfo(f"{base}/{member}")
            entry.size, entry.mtime = len(data), 1767225600
            tar.addfile(entry, io.BytesIO(data))
    return path


def write_dists(folder: Path, *, name: str, version: str, wheels: int,
                size: int) -> list[Path]:
    """`wheels` wheels of `size` bytes of payload each and one sdist, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = [write_wheel(folder, name, version, tag, size) for tag in wheel_tags(wheels)]
    return [*made, write_sdist(folder, name, version)]
