"""The action's image, built from the Dockerfile on the local Debian base, run as the runner does.

The image comes from the `image` fixture (tests/docker/conftest.py): built once per session
(`release-action:test-<hash>`) and reused while the build context hashes the same. Measured numbers
(image size, time from `docker run` to the first line of output) are printed at the end of the
session.
"""

from __future__ import annotations

import json
import subprocess
import time

from tests.docker.conftest import DOCKER, IMAGE, MEASURED, docker
from tests.fixtures_docker import BASE_IMAGE

VENV = "/opt/release-action/venv"
MAX_SIZE = 600 * 1000 * 1000  # the test image was 482 MB; a full docker.io install adds ~220 MB
PRINT_INPUTS = ("import json, os; "
                "print(json.dumps(sorted(k for k in os.environ if k.startswith('INPUT_'))))")


def run(*args: str, entrypoint: str | None = None, check: bool = True,
        ) -> subprocess.CompletedProcess[str]:
    """`docker run --rm --network host [--entrypoint E] ... IMAGE ...`, as the tests need it."""
    options = ["--entrypoint", entrypoint] if entrypoint else []
    image_at = args.index(IMAGE)
    return docker("run", "--rm", "--network", "host", *options, *args[:image_at], IMAGE,
                  *args[image_at + 1:], check=check)


def inspect() -> dict[str, object]:
    return json.loads(docker("image", "inspect", IMAGE).stdout)[0]


def test_image_has_no_user_no_workdir_and_an_exec_entrypoint(image):
    """The runner decides user and working directory; the entrypoint starts the venv's command."""
    config = inspect()["Config"]
    assert isinstance(config, dict)
    assert config["User"] == ""
    assert config["WorkingDir"] == ""
    assert config["Entrypoint"] == [f"{VENV}/bin/release-action", "run"]
    assert config["Cmd"] is None


def first_line_after_run(*args: str) -> tuple[str, float, str]:
    """(first line of output, seconds from `docker run` to it, the rest of the output)."""
    started = time.monotonic()
    with subprocess.Popen([DOCKER, "run", "--rm", "--network", "host", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        elapsed = time.monotonic() - started
        rest = proc.stdout.read()
        proc.wait(timeout=60)
    return first, elapsed, rest


def test_entrypoint_runs_release_action(image):
    """`docker run IMAGE --help` reaches release-action's own argument parser."""
    first, elapsed, rest = first_line_after_run(image, "--help")
    assert first.startswith("usage: release-action"), first + rest
    MEASURED["docker run to first line (--help)"] = f"{elapsed * 1000:.0f} ms"


def test_entrypoint_works_with_the_runners_home_path_and_workdir(image, tmp_path):
    """With HOME, PATH and the working directory as the runner sets them, the command starts."""
    first, _, rest = first_line_after_run(
        "-e", "HOME=/github/home", "-e", "PATH=/usr/bin:/bin", "-w", "/github/workspace",
        "-v", f"{tmp_path}:/github/workspace", image, "--help")
    assert first.startswith("usage: release-action"), first + rest


def test_hyphenated_input_variables_reach_python(image):
    """INPUT_GITHUB-TOKEN style variables arrive in os.environ when Python starts directly."""
    done = run("-e", "INPUT_GITHUB-TOKEN=x", "-e", "INPUT_DIST-DIR=dist", "-e", "INPUT_STEP=build",
               image, "-c", PRINT_INPUTS, entrypoint=f"{VENV}/bin/python")
    assert json.loads(done.stdout) == ["INPUT_DIST-DIR", "INPUT_GITHUB-TOKEN", "INPUT_STEP"]


def test_a_shell_in_between_would_lose_them(image):
    """Through /bin/sh (dash) the hyphenated variables vanish: why the entrypoint is exec-form."""
    done = run("-e", "INPUT_GITHUB-TOKEN=x", "-e", "INPUT_STEP=build", image, "-c",
               f'exec {VENV}/bin/python -c "{PRINT_INPUTS}"', entrypoint="/bin/sh")
    assert json.loads(done.stdout) == ["INPUT_STEP"]


def test_docker_cli_talks_to_the_engine_through_the_socket(image, docker_engine):
    """The Docker CLI is there and reaches the engine through the mounted socket."""
    done = run("-v", "/var/run/docker.sock:/var/run/docker.sock", image, "version", "--format",
               "{{.Server.Version}}", entrypoint="docker")
    assert done.stdout.strip() == docker_engine.server_version


def test_git_is_there_and_trusts_the_workspace(image):
    """git runs, and reads a checkout owned by another user (safe.directory)."""
    done = run(image, "config", "--system", "--get-all", "safe.directory", entrypoint="git")
    assert done.stdout.split() == ["*"]


def test_modules_are_precompiled(image):
    """Every module of the project has its bytecode in the image (no compile at start-up)."""
    script = (f"cd {VENV}/lib/python3*/site-packages && "
              "for f in action/*.py statemachine/*.py; do "
              'd=$(dirname "$f")/__pycache__; b=$(basename "$f" .py); '
              'ls "$d/$b".*.pyc >/dev/null 2>&1 || echo "missing: $f"; done; echo checked')
    done = run(image, "-c", script, entrypoint="/bin/sh")
    assert done.stdout.strip() == "checked", done.stdout


def test_no_certificate_or_build_tool_is_left_behind(image):
    """The CA secret was never stored; no pip in the venv, no compiler, no build venv."""
    script = ("for p in /run/secrets/cacert /tmp/build-venv /tmp/wheel /src "
              f"{VENV}/bin/pip /usr/bin/gcc; do [ -e $p ] && echo $p; done; echo checked")
    done = run(image, "-c", script, entrypoint="/bin/sh")
    assert done.stdout.strip() == "checked", done.stdout


def test_image_size(image):
    """The image stays small: printed, and bounded against a regression (e.g. a full docker.io)."""
    size = int(str(inspect()["Size"]))
    MEASURED["size"] = f"{size / 1e6:.0f} MB (on {BASE_IMAGE})"
    assert size < MAX_SIZE
