"""A PyPI-like index for the keyless tests: pypiserver behind tests/doubles/warehouse.py.

- `warehouse_servers` (session): two server processes (pypiserver + the Warehouse layer),
  "testpypi" (audience `testpypi`) and "pypi" (audience `pypi`).
- `warehouse` / `test_warehouse`: one of them emptied for this test and configured to trust the
  local Sigstore instance: its OIDC issuer for trusted publishing, its trusted root for PEP 740
  attestations, and one trusted publisher for project `widget`, `github_job`'s repository and
  workflow file (on "pypi" in `github_job`'s environment, on "testpypi" in any).
  `.publishers(...)` registers others.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from action.index import IndexConfig, TrustedPublishing
from tests.fixtures_index import start_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.doubles.sigstore_local import GitHubJob, SigstoreInstance
    from tests.doubles.warehouse import TrustedPublisher

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Warehouse:
    name: str
    url: str
    packages: Path

    def configure(self, **config: Any) -> None:
        requests.post(f"{self.url}/_test/config", json=config, timeout=30).raise_for_status()

    def publishers(self, *publishers: TrustedPublisher) -> None:
        self.configure(publishers=[dataclasses.asdict(p) for p in publishers])

    def reset(self) -> None:
        for entry in self.packages.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        requests.post(f"{self.url}/_test/reset", timeout=10).raise_for_status()

    def config(self, *, environment: str = "pypi") -> IndexConfig:
        """Trusted publishing to this index, as the action configures it."""
        return IndexConfig.create(
            self.name,  # type: ignore[arg-type]
            upload_url=self.url + "/",
            root_url=self.url + "/",
            credentials=TrustedPublishing(environment=environment),
        )

    def provenance(self, project: str, version: str, filename: str) -> requests.Response:
        return requests.get(f"{self.url}/integrity/{project}/{version}/{filename}/provenance",
                            timeout=10)


def _start(name: str, packages: Path) -> tuple[subprocess.Popen[str], Warehouse]:
    process, url = start_server(
        [sys.executable, "-m", "tests.doubles.warehouse", str(packages)],
        f"the Warehouse-like index ({name})", cwd=REPO_ROOT)
    return process, Warehouse(name, url, packages)


@pytest.fixture(scope="session")
def warehouse_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Warehouse]]:
    """Two Warehouse-like indexes for the session: {"testpypi": ..., "pypi": ...}."""
    processes: list[subprocess.Popen[str]] = []
    servers: dict[str, Warehouse] = {}
    try:
        for name in ("testpypi", "pypi"):
            process, server = _start(name, tmp_path_factory.mktemp(f"warehouse-{name}"))
            processes.append(process)
            servers[name] = server
        yield servers
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(server: Warehouse, instance: SigstoreInstance, job: GitHubJob,
           environment: str | None) -> Warehouse:
    server.reset()
    server.configure(
        issuer=instance.issuer, audience=server.name, jwks_url=instance.jwks_url,
        trust_config=json.loads(instance.trust_config.read_text()),
        publishers=[{"project": "widget", "repository": job.repository,
                     "workflow": job.workflow.rsplit("/", 1)[-1],
                     "environment": environment or ""}],
    )
    return server


@pytest.fixture
def warehouse(warehouse_servers: dict[str, Warehouse], sigstore_instance: SigstoreInstance,
              github_job: GitHubJob) -> Warehouse:
    """The "pypi" index, empty, trusting `github_job`'s workflow in its environment."""
    return _ready(warehouse_servers["pypi"], sigstore_instance, github_job,
                  github_job.environment)


@pytest.fixture
def test_warehouse(warehouse_servers: dict[str, Warehouse], sigstore_instance: SigstoreInstance,
                   github_job: GitHubJob) -> Warehouse:
    """The "testpypi" index, empty, trusting `github_job`'s workflow from any environment."""
    return _ready(warehouse_servers["testpypi"], sigstore_instance, github_job, None)
