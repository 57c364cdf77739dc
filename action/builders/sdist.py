"""`python -m build`: the sdist, normalised so its bytes depend only on its contents and the
epoch, and pure-Python wheels.
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import parse_wheel_filename

from action.builders.failures import SDIST_HINT, missing_named
from action.builders.outputs import BuildOutput
from action.builders.tools import build_env, check_project, collect, tool_versions
from action.errors import BuildError, CommandError
from action.logs import get_logger
from action.proc import run

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["build_pure_wheel", "build_sdist", "normalise_sdist"]

log = get_logger(__name__)


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
    sdist: Path | None = None,
) -> BuildOutput:
    """`python -m build --wheel` for a pure-Python project; refuses a platform wheel.

    `sdist`: build the wheel from that sdist, unpacked (as `python -m build` does by default),
    instead of from the checkout; a file the sdist lacks then fails the build, naming it.
    """
    if sdist is None:
        files = _python_build(project, out_dir, "--wheel", suffix=".whl",
                              source_date_epoch=source_date_epoch, env=env)
    else:
        files = _wheel_from_sdist(project, sdist, out_dir, source_date_epoch=source_date_epoch,
                                  env=env)
    for path in files:
        tags = parse_wheel_filename(path.name)[3]
        if any(t.platform != "any" for t in tags):
            raise BuildError(
                f"{path.name} is a platform wheel, but the project was built as pure Python",
                hint="Build projects with compiled code through cibuildwheel (`build_wheels`).",
            )
    return BuildOutput(
        part="wheel", files=files, tools=tool_versions(), source_date_epoch=source_date_epoch,
        source=sdist,
    )


def _wheel_from_sdist(project: Path, sdist: Path, out_dir: Path, *, source_date_epoch: int,
                      env: Mapping[str, str]) -> tuple[Path, ...]:
    with tempfile.TemporaryDirectory(prefix=".sdist-") as unpacked:
        top = unpack_sdist(sdist, Path(unpacked))
        try:
            return _python_build(top, out_dir, "--wheel", suffix=".whl",
                                 source_date_epoch=source_date_epoch, env=env)
        except BuildError as exc:
            named = missing_named(project, sdist, exc.message.splitlines())
            if not named:
                raise
            shown = ", ".join(named[:5])
            raise BuildError(
                f"building the wheel from the sdist {sdist.name} failed: {shown} "
                f"{'is' if len(named) == 1 else 'are'} in the checkout but missing from the "
                f"sdist\n{exc.message}",
                hint=SDIST_HINT.format(files=shown, where="above")) from exc


def unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack an sdist's directories and regular files (no links, devices or paths that leave
    `into`; tar's `data` filter is not in every Python 3.11); its one top directory."""
    root = into.resolve()
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for member in archive:
                _unpack_member(archive, member, root, sdist.name)
    except (OSError, tarfile.TarError) as exc:
        raise BuildError(f"cannot unpack the sdist {sdist.name}: {exc}") from exc
    tops = [p for p in root.iterdir() if p.is_dir()]
    if len(tops) != 1 or any(p.is_file() for p in root.iterdir()):
        raise BuildError(f"the sdist {sdist.name} does not hold exactly one top directory")
    return tops[0]


def _unpack_member(archive: tarfile.TarFile, member: tarfile.TarInfo, root: Path,
                   name: str) -> None:
    target = (root / member.name).resolve()
    if not target.is_relative_to(root) or target == root:
        raise BuildError(f"the sdist {name} holds {member.name!r}, a path outside its folder")
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    if not member.isfile():
        raise BuildError(f"the sdist {name} holds {member.name!r}, which is not a regular file",
                         hint="An sdist made by a build backend holds files and folders only.")
    data = _read_member(archive, member) or b""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    target.chmod(0o755 if member.mode & 0o111 else 0o644)


def _python_build(
    project: Path,
    out_dir: Path,
    kind: str,
    *,
    suffix: str,
    source_date_epoch: int,
    env: Mapping[str, str],
) -> tuple[Path, ...]:
    project = check_project(project)
    run_env = build_env(env, source_date_epoch)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out_dir) as staging:
        try:
            result = run(
                [sys.executable, "-m", "build", kind, "--outdir", staging, project],
                env=run_env, what=f"build the {kind.lstrip('-')} of {project.name}",
            )
        except CommandError as exc:
            raise BuildError(exc.message, hint="The build backend's output is above.") from exc
        log.info("built", kind=kind.lstrip("-"), project=str(project))
        log.debug("build output", output=result.stdout[-4000:])
        return collect(Path(staging), out_dir.resolve(), suffix)


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
    info.mtime = epoch  # not min(mtime, epoch): a checkout's file dates are not the commit's
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
