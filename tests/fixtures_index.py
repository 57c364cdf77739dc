"""Package-index fixtures: two indexes that behave like Test PyPI and PyPI.

Each is a real pypiserver process for the whole session (start-up is about 0.2 s) with its own
package directory, behind the PyPI double (`tests/doubles/pypi.py`: PyPI's upload rules and
messages, the 14-day window, the JSON API, PEP 691/700 pages). `testpypi` and `pypi` reset
both before each test, so every test sees two empty indexes that behave like PyPI.

Uploads need credentials (`__token__` + a test token). pypiserver's own `-P htpasswd` needs
`passlib`, which is not installed, so the server is started through pypiserver's documented
Python API (`pypiserver.app(auther=...)`) served by a threaded wsgiref server: the same app
as `pypi-server run`, with upload authentication and without the fallback redirect to the
real PyPI (`disable_fallback=True`, so a missing project is a 404, never a trip to pypi.org).

`build_dists` builds a tiny real sdist and wheel with `python -m build --no-isolation`. The
generated project carries a 60-line in-tree PEP 517 backend (stdlib only), because no build
backend that makes wheels is installed and tests must not download one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from action.index import ApiToken, IndexConfig
from tests.doubles.pypi import PyPIDouble
from tests.tiny_project import write_project

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TEST_TOKEN = "pypi-test-token-for-the-local-pypiserver-0123456789"

_LAUNCHER = textwrap.dedent(
    """
    import os, socketserver, sys
    from pathlib import Path
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import pypiserver

    password = os.environ["PYPISERVER_PASSWORD"]
    app = pypiserver.app(
        roots=[Path(sys.argv[1])],
        authenticate=["update"],
        auther=lambda user, pw: user == "__token__" and pw == password,
        disable_fallback=True,
        backend_arg="simple-dir",
        health_endpoint="/health",
    )

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Quiet)
    print(server.server_port, flush=True)
    server.serve_forever()
    """
)


@dataclass(frozen=True)
class PypiServer:
    """One running index: the PyPI double at `url`, the pypiserver behind it at `upstream`."""

    name: str
    url: str
    packages: Path
    startup_seconds: float
    upstream: str
    double: PyPIDouble

    def config(self) -> IndexConfig:
        return IndexConfig.create(
            self.name,  # type: ignore[arg-type]
            upload_url=self.url + "/legacy/",
            credentials=ApiToken(TEST_TOKEN),
        )

    def clean(self) -> None:
        self.double.reset()

    def age(self, project: str, version: str, *, days: float) -> None:
        """Make a release `days` older (see `PyPIDouble.age`)."""
        self.double.age(project, version, days=days)


def start_server(argv: list[str], what: str,
                 cwd: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start a test server that prints its port on its first line; its URL once /health
    answers. `what` names it when it does not start."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYPISERVER_PASSWORD": TEST_TOKEN}, cwd=cwd,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"{what} did not start: {line}{err}")
    url = f"http://127.0.0.1:{line}"
    requests.get(url + "/health", timeout=10).raise_for_status()
    return process, url


def _start(name: str, packages: Path) -> tuple[subprocess.Popen[str], str, float]:
    started = time.monotonic()
    process, url = start_server([sys.executable, "-c", _LAUNCHER, str(packages)],
                                f"pypiserver ({name})")
    return process, url, time.monotonic() - started


def start_pypiserver(name: str, packages: Path) -> tuple[subprocess.Popen[str], PypiServer]:
    """A pypiserver and the PyPI double in front of it (stop the process with
    `stop_pypiserver`; the double's thread ends with the process that started it)."""
    process, upstream, seconds = _start(name, packages)
    double = PyPIDouble(upstream, packages, token=TEST_TOKEN, name=name).start()
    return process, PypiServer(name, double.url, packages, seconds, upstream, double)


def stop_pypiserver(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def pypiservers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PypiServer]]:
    """Two indexes for the session: {"testpypi": ..., "pypi": ...}."""
    processes: list[subprocess.Popen[str]] = []
    doubles: list[PyPIDouble] = []
    servers: dict[str, PypiServer] = {}
    try:
        for name in ("testpypi", "pypi"):
            process, server = start_pypiserver(name, tmp_path_factory.mktemp(f"{name}-packages"))
            processes.append(process)
            doubles.append(server.double)
            servers[name] = server
        yield servers
    finally:
        for double in doubles:
            double.stop()
        for process in processes:
            stop_pypiserver(process)


@pytest.fixture
def testpypi_server(pypiservers: dict[str, PypiServer]) -> PypiServer:
    """The "testpypi" pypiserver, emptied for this test."""
    pypiservers["testpypi"].clean()
    return pypiservers["testpypi"]


@pytest.fixture
def pypi_server(pypiservers: dict[str, PypiServer]) -> PypiServer:
    """The "pypi" pypiserver, emptied for this test."""
    pypiservers["pypi"].clean()
    return pypiservers["pypi"]


@pytest.fixture
def testpypi(testpypi_server: PypiServer) -> IndexConfig:
    """An IndexConfig for an empty local "testpypi" (token credentials)."""
    return testpypi_server.config()


@pytest.fixture
def pypi(pypi_server: PypiServer) -> IndexConfig:
    """An IndexConfig for an empty local "pypi" (token credentials)."""
    return pypi_server.config()


@dataclass(frozen=True)
class Dists:
    """What `build_dists` made: the sdist and the wheel of one tiny project."""

    sdist: Path
    wheel: Path

    @property
    def all(self) -> tuple[Path, Path]:
        return (self.sdist, self.wheel)


def build_tiny_dists(
    where: Path, *, name: str = "tiny-pkg", version: str = "0.1.0", content: str = "X = 1\n"
) -> Dists:
    """Build a real sdist and wheel with `python -m build`; same arguments, same bytes."""
    project = Path(tempfile.mkdtemp(prefix=f"{name}-{version}-", dir=where)) / "src"
    write_project(project, name=name, version=version, content=content)
    out = project / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
        check=True, capture_output=True, text=True,
    )
    return Dists(next(out.glob("*.tar.gz")), next(out.glob("*.whl")))


@pytest.fixture
def build_dists(tmp_path: Path) -> Callable[..., Dists]:
    """A builder: `build_dists(name=..., version=..., content=...)` -> Dists in tmp_path."""
    return lambda **kwargs: build_tiny_dists(tmp_path, **kwargs)
