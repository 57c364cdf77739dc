"""Building what a release uploads: the sdist (`python -m build`), wheels (cibuildwheel through
the Docker engine), and the checks every file passes before it is recorded.

Every build gets SOURCE_DATE_EPOCH (the tag commit's date). `build_sdist` then rewrites the
sdist's archive metadata deterministically (names sorted, mtimes clamped to the epoch, owners
and modes normalised, gzip header time fixed; file contents untouched), because setuptools
stamps the current time into sdists. cibuildwheel 4 passes SOURCE_DATE_EPOCH into its build
containers itself (`docker create --env=SOURCE_DATE_EPOCH`), so the user's own
`environment`/`environment-pass` settings are left alone.

Wheels are checked for completeness by build identifier: `expected_identifiers` asks
cibuildwheel what a configuration builds, `compare_identifiers` lists the identifiers no wheel
covers and the wheels no identifier explains.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import platform as _platform
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from action import dists
from action.config import on_github
from action.docker_engine import DockerInfo, ImageRecord, check_docker, image_record
from action.errors import BuildError, CommandError, ConfigError
from action.logs import get_logger
from action.proc import run
from action.tags import tag_version

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from packaging.version import Version

__all__ = [
    "BuildOutput",
    "Completeness",
    "DockerInfo",
    "ImageRecord",
    "build_pure_wheel",
    "build_sdist",
    "build_wheels",
    "check_dist",
    "check_docker",
    "check_version",
    "compare_identifiers",
    "expected_identifiers",
    "identifier_platform",
    "normalise_sdist",
    "tool_versions",
    "wheel_matches_identifier",
]

log = get_logger(__name__)

PLATFORMS: tuple[str, ...] = ("linux", "macos", "windows", "pyodide", "android", "ios")
ZIP_EPOCH_MIN = 315532800  # 1980-01-01: a zip file (a wheel) cannot store an earlier date
_PART = re.compile(r"^[a-z][a-z0-9_.-]*$")
_IMAGE_LINE = re.compile(r"Starting container image (\S+?)\.\.\.")


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BuildOutput:
    """One build step's result: which part, which files, built by which tools in which images.

    `part` is "sdist", "wheel" (a pure-Python wheel) or a cibuildwheel platform ("linux", ...).
    `identifiers` are the build identifiers the step was expected to cover (wheel parts only).
    """

    part: str
    files: tuple[Path, ...]
    tools: Mapping[str, str]
    source_date_epoch: int
    images: tuple[ImageRecord, ...] = ()
    identifiers: tuple[str, ...] = ()

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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BuildError(f"malformed build record: {exc!r}") from exc


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


# -- tools and environment -----------------------------------------------------------------


def tool_versions() -> dict[str, str]:
    """Versions of the tools the builds run (from this environment)."""
    versions = {"python": _platform.python_version()}
    for dist in ("build", "cibuildwheel", "twine", "packaging"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


def _build_env(env: Mapping[str, str], source_date_epoch: int) -> dict[str, str]:
    if source_date_epoch < ZIP_EPOCH_MIN:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={source_date_epoch} is before 1980-01-01",
            hint="Wheels are zip files, which cannot hold earlier dates; use the tag commit's "
            "date (`git log -1 --format=%ct TAG`).",
        )
    merged = dict(env)
    merged["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    return merged


def _check_project(project: Path) -> Path:
    project = project.resolve()
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise ConfigError(
            f"{project} is not a Python project: it has no pyproject.toml or setup.py",
            hint="Point the action's `project` input at the directory holding pyproject.toml.",
        )
    return project


def _show(title: str, text: str, env: Mapping[str, str]) -> None:
    """A tool's full output, folded in the runner's log (debug output elsewhere)."""
    if not on_github(env):
        log.debug("output", title=title, text=text.rstrip())
        return
    sys.stderr.write(f"::group::{title}\n{text.rstrip()}\n::endgroup::\n")
    sys.stderr.flush()


def _collect(staging: Path, out_dir: Path, suffix: str) -> tuple[Path, ...]:
    """Move the files a tool wrote into `staging` to `out_dir`, never replacing a file."""
    moved = []
    for path in sorted(staging.iterdir()):
        if not path.name.endswith(suffix):
            continue
        target = out_dir / path.name
        if target.exists():
            raise BuildError(
                f"{target} exists already; a build never replaces a file",
                hint="Build into an empty directory; recorded files are uploaded, not rebuilt.",
            )
        shutil.move(path, target)
        moved.append(target)
    return tuple(moved)


# -- sdist and pure wheels -----------------------------------------------------------------


def build_sdist(
    project: Path,
    out_dir: Path,
    *,
    source_date_epoch: int,
    env: Mapping[str, str],
) -> BuildOutput:
    """`python -m build --sdist`, then normalise the archive (see the module docstring)."""
    files = _python_build(
        project, out_dir, "--sdist", suffix=".tar.gz", source_date_epoch=source_date_epoch, env=env
    )
    if len(files) != 1:
        raise BuildError(f"python -m build --sdist made {len(files)} sdists: {files}")
    normalise_sdist(files[0], source_date_epoch)
    return BuildOutput(
        part="sdist", files=files, tools=tool_versions(), source_date_epoch=source_date_epoch
    )


def build_pure_wheel(
    project: Path,
    out_dir: Path,
    *,
    source_date_epoch: int,
    env: Mapping[str, str],
) -> BuildOutput:
    """`python -m build --wheel` for a pure-Python project; refuses a platform wheel."""
    files = _python_build(
        project, out_dir, "--wheel", suffix=".whl", source_date_epoch=source_date_epoch, env=env
    )
    for path in files:
        tags = parse_wheel_filename(path.name)[3]
        if any(t.platform != "any" for t in tags):
            raise BuildError(
                f"{path.name} is a platform wheel, but the project was built as pure Python",
                hint="Build projects with compiled code through cibuildwheel (`build_wheels`).",
            )
    return BuildOutput(
        part="wheel", files=files, tools=tool_versions(), source_date_epoch=source_date_epoch
    )


def _python_build(
    project: Path,
    out_dir: Path,
    kind: str,
    *,
    suffix: str,
    source_date_epoch: int,
    env: Mapping[str, str],
) -> tuple[Path, ...]:
    project = _check_project(project)
    build_env = _build_env(env, source_date_epoch)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out_dir) as staging:
        try:
            result = run(
                [sys.executable, "-m", "build", kind, "--outdir", staging, project],
                env=build_env, what=f"build the {kind.lstrip('-')} of {project.name}",
            )
        except CommandError as exc:
            raise BuildError(exc.message, hint="The build backend's output is above.") from exc
        log.info("built", kind=kind.lstrip("-"), project=str(project))
        log.debug("build output", output=result.stdout[-4000:])
        return _collect(Path(staging), out_dir.resolve(), suffix)


def normalise_sdist(path: Path, source_date_epoch: int) -> None:
    """Rewrite a .tar.gz so its bytes depend only on its contents and the epoch."""
    with tarfile.open(path, "r:gz") as src:
        members = [(m, _read_member(src, m)) for m in src]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=source_date_epoch
    ) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member, data in sorted(members, key=lambda item: item[0].name):
            dst.addfile(_normal_info(member, source_date_epoch), _bytes_io(data))
    tmp.replace(path)


def _normal_info(member: tarfile.TarInfo, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(member.name)
    info.type = member.type
    info.size = member.size if member.isfile() else 0
    info.linkname = member.linkname
    info.mtime = min(int(member.mtime), epoch)
    executable = member.isdir() or bool(member.mode & 0o111)
    info.mode = 0o755 if executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes | None:
    handle = archive.extractfile(member) if member.isfile() else None
    return handle.read() if handle is not None else None


def _bytes_io(data: bytes | None) -> io.BytesIO | None:
    return io.BytesIO(data) if data is not None else None


# -- wheels through cibuildwheel -----------------------------------------------------------


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


def _selections(platform: str, only: Sequence[str]) -> list[list[str]]:
    """cibuildwheel argument sets: one run per `only` identifier, or one for the platform."""
    if platform not in PLATFORMS:
        raise ConfigError(f"unknown platform {platform!r}; expected one of {PLATFORMS}")
    if not only:
        return [["--platform", platform]]
    for identifier in only:
        if identifier_platform(identifier) != platform:
            raise ConfigError(f"build identifier {identifier} does not build on {platform}")
    # `--only` takes one identifier and cannot be combined with `--platform`.
    return [["--only", identifier] for identifier in dict.fromkeys(only)]


def _cibuildwheel(project: Path, args: Sequence[str], env: Mapping[str, str], what: str) -> str:
    try:
        result = run(
            [sys.executable, "-m", "cibuildwheel", *args, "."],
            cwd=project, env=env, what=what,
        )
    except CommandError as exc:
        raise BuildError(exc.message, hint="cibuildwheel's output is above.") from exc
    return result.stdout + result.stderr


def expected_identifiers(
    project: Path,
    platform: str = "linux",
    *,
    only: Sequence[str] = (),
    env: Mapping[str, str],
) -> list[str]:
    """The build identifiers cibuildwheel would build (`--print-build-identifiers`, offline)."""
    project = _check_project(project)
    run_env = dict(env)
    identifiers: list[str] = []
    for selection in _selections(platform, only):
        output = _cibuildwheel(
            project, ["--print-build-identifiers", *selection], run_env,
            "list the build identifiers",
        )
        identifiers += [line.strip() for line in output.splitlines() if _is_identifier(line)]
    return list(dict.fromkeys(identifiers))


def _is_identifier(line: str) -> bool:
    return re.fullmatch(r"[a-z]+\d+t?(_\d+)?-[a-z0-9_]+", line.strip()) is not None


def build_wheels(
    project: Path,
    out_dir: Path,
    *,
    platform: str = "linux",
    only: Sequence[str] = (),
    source_date_epoch: int,
    env: Mapping[str, str],
    docker_client: Callable[[], Any] | None = None,
) -> BuildOutput:
    """Build wheels with cibuildwheel through the Docker engine.

    `env` is the environment cibuildwheel sees (the user's CIBW_* settings included; their
    [tool.cibuildwheel] table is read from the project). `only` builds just these identifiers
    (a backfill lane), one cibuildwheel run each.
    """
    project = _check_project(project)
    build_env = _build_env(env, source_date_epoch)
    engine = check_docker(build_env, client_factory=docker_client)
    expected = expected_identifiers(project, platform, only=only, env=build_env)
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, None] = {}
    files: list[Path] = []
    with tempfile.TemporaryDirectory(prefix=".cibuildwheel-", dir=out_dir) as staging:
        for selection in _selections(platform, only):
            output = _cibuildwheel(
                project, ["--output-dir", staging, *selection], build_env,
                f"build wheels ({' '.join(selection)})",
            )
            _show(f"cibuildwheel {' '.join(selection)}", output, build_env)
            images.update(dict.fromkeys(_IMAGE_LINE.findall(output)))
        files += _collect(Path(staging), out_dir.resolve(), ".whl")
    if files and not images:
        raise BuildError(
            "cibuildwheel built wheels but its output names no container image",
            hint="The build cannot be recorded without its images; is cibuildwheel still 4.x?",
        )
    tools = {**tool_versions(), "docker-engine": engine.server_version}
    built = BuildOutput(
        part=platform, files=tuple(files), tools=tools, source_date_epoch=source_date_epoch,
        images=tuple(image_record(n, build_env, client_factory=docker_client) for n in images),
        identifiers=tuple(expected),
    )
    log.info("wheels built", part=platform, wheels=[p.name for p in files], images=list(images))
    return built


# -- identifiers and wheel names -----------------------------------------------------------


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


# -- checks on a built file ----------------------------------------------------------------


def _file_version(name: str) -> Version:
    try:
        if name.endswith(".whl"):
            return parse_wheel_filename(name)[1]
        return parse_sdist_filename(name)[1]
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise BuildError(
            f"{name} is not a wheel or sdist file name: {exc}",
            hint="Only files made by a build backend (name-version.tar.gz, *.whl) are released.",
        ) from exc


def check_version(filename: str, tag: str) -> None:
    """The version in the file name must be the tag's version (both PEP 440 normalised)."""
    version = tag_version(tag)
    file_version = _file_version(filename)
    if str(file_version) != str(version):
        raise BuildError(
            f"{filename} has version {file_version}, but the tag {tag} says {version}",
            hint="Set the version in pyproject.toml to the tag's version, commit, and tag that "
            "commit with a new tag (a pushed tag is never moved).",
        )


def check_dist(path: Path, tag: str) -> None:
    """The file's version is the tag's, and `twine check --strict` passes (in-process)."""
    check_version(path.name, tag)
    problems = dists.check_strict(path)
    if problems:
        raise BuildError(f"twine check --strict refused {path.name}: {'; '.join(problems)}",
                         hint=dists.CHECK_HINT)
