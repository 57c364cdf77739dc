"""cibuildwheel's build identifiers and wheel names: which platform an identifier builds on,
which wheels it makes, and whether a set of wheels is exactly the set expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from action.errors import BuildError, ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Completeness", "compare_identifiers", "identifier_platform", "wheel_matches_identifier"]


def identifier_platform(identifier: str) -> str:
    """The cibuildwheel platform of a build identifier: cp311-manylinux_x86_64 -> linux."""
    plat = identifier.partition("-")[2]
    for prefix, name in (
        ("manylinux", "linux"), ("musllinux", "linux"), ("macosx", "macos"), ("win", "windows"),
        ("pyodide", "pyodide"), ("android", "android"), ("ios", "ios"),
    ):
        if plat.startswith(prefix):
            return name
    raise ConfigError(
        f"{identifier!r} is not a cibuildwheel build identifier",
        hint="Identifiers look like cp314-manylinux_x86_64 (see cibuildwheel's docs).",
    )



@dataclass(frozen=True)
class Completeness:
    """Which expected build identifiers have no wheel, and which wheels match no identifier."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected

    def check(self) -> None:
        """Raise BuildError listing both sides unless the wheel set is exactly the expected one."""
        if self.ok:
            return
        lines = [f"missing wheel for {i}" for i in self.missing]
        lines += [f"unexpected wheel {w}" for w in self.unexpected]
        raise BuildError(
            "the wheels built are not the wheels expected:\n  " + "\n  ".join(lines),
            hint="Compare `cibuildwheel --print-build-identifiers` for this configuration with "
            "the wheels built; fix the [tool.cibuildwheel] selection or the build.",
        )



def _platform_key(tag: str) -> tuple[str, str]:
    """manylinux_2_17_x86_64 / manylinux2014_x86_64 / manylinux_x86_64 -> (manylinux, x86_64)."""
    if tag == "win32":
        return ("win32", "")
    family, *rest = tag.split("_")
    family = family.rstrip("0123456789")  # manylinux1, manylinux2010, manylinux2014
    while rest and rest[0].isdigit():  # version parts: manylinux_2_17, macosx_11_0, ...
        rest.pop(0)
    return (family, "_".join(rest))


def _python_matches(py_id: str, interpreter: str, abi: str) -> bool:
    if abi == "none" and interpreter.startswith("py"):
        return True  # py3-none-<platform>: any Python on that platform
    free_threaded = py_id.endswith("t")
    version = py_id.rstrip("t")
    if version.startswith("cp"):
        if abi == "abi3" and not free_threaded and interpreter.startswith("cp"):
            return _cp_number(interpreter) <= _cp_number(version)
        return interpreter == version and abi == (version + ("t" if free_threaded else ""))
    if version.startswith("gp"):  # GraalPy: gp311_242 -> graalpy311, abi graalpy242_311_native
        return interpreter == "graalpy" + version[2:].split("_")[0]
    return interpreter == version  # pp310 -> pp310, abi pypy310_pp73


def _cp_number(tag: str) -> int:
    digits = tag[2:]
    return int(digits[0]) * 100 + int(digits[1:] or 0)


def wheel_matches_identifier(filename: str, identifier: str) -> bool:
    """Whether cibuildwheel's build `identifier` would produce (or accept) this wheel."""
    py_id, sep, plat_id = identifier.partition("-")
    if not sep:
        return False
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    want = _platform_key(plat_id)
    return any(
        _platform_key(t.platform) == want and _python_matches(py_id, t.interpreter, t.abi)
        for t in tags
    )


def compare_identifiers(expected: Iterable[str], wheel_names: Iterable[str]) -> Completeness:
    """Missing: identifiers no wheel covers. Unexpected: wheels that match no identifier."""
    expected = list(expected)
    names = list(wheel_names)
    missing = [i for i in expected if not any(wheel_matches_identifier(n, i) for n in names)]
    unexpected = [n for n in names if not any(wheel_matches_identifier(n, i) for i in expected)]
    return Completeness(missing=tuple(missing), unexpected=tuple(sorted(unexpected)))
