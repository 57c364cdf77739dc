"""Every subprocess goes through `run`: the command is logged, a missing program fails clearly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from action.errors import CommandError
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

log = get_logger(__name__)


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    timeout: float | None = None,
    what: str = "",
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a program with an argument list (never a shell); raise CommandError when it fails
    (unless `check` is false: then the caller reads the return code and the whole output)."""
    argv = [str(a) for a in args]
    if shutil.which(argv[0], path=(env or {}).get("PATH")) is None and not Path(argv[0]).is_file():
        raise CommandError(
            f"{argv[0]} is not installed or not on PATH",
            hint=f"Install {argv[0]} (it is needed to {what or 'run ' + argv[0]}).",
        )
    log.debug("run", command=argv, cwd=str(cwd) if cwd else None)
    result = subprocess.run(
        argv, cwd=cwd, env=dict(env) if env is not None else None, text=True,
        capture_output=capture, timeout=timeout, check=False,
    )
    if check and result.returncode != 0:
        output = ((result.stdout or "") + (result.stderr or "")).strip()
        tail = "\n".join(output.splitlines()[-30:])
        raise CommandError(
            f"{' '.join(argv[:3])} failed with exit code {result.returncode}"
            + (f" while trying to {what}" if what else "")
            + (f":\n{tail}" if tail else ""),
        )
    return result
