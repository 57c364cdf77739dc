"""A PyPI-like index for the keyless tests: pypiserver behind tests/doubles/warehouse.py.

- `warehouse_server` (session): one server process (pypiserver + the Warehouse layer).
- `warehouse`: that server emptied for this test and configured to trust the local Sigstore
  instance: its OIDC issuer for trusted publishing, its trusted root for PEP 740 attestations,
  and one trusted publisher, the default `github_job`'s (`widget` from acme/widget's
  release.yml in environment `pypi`). `warehouse.publishers(...)` registers others.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from action.index import IndexConfig, TrustedPublishing
from tests.fixtures_index import TEST_TOKEN

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


@pytest.fixture(scope="session")
def warehouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    packages = tmp_path_factory.mktemp("warehouse-packages")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.warehouse", str(packages)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYPISERVER_PASSWORD": TEST_TOKEN},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"the Warehouse-like index did not start: {line}{err}")
        url = f"http://127.0.0.1:{line}"
        requests.get(url + "/health", timeout=10).raise_for_status()
        yield Warehouse("pypi", url, packages)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def warehouse(warehouse_server: Warehouse, sigstore_instance: SigstoreInstance,
              github_job: GitHubJob) -> Warehouse:
    warehouse_server.reset()
    warehouse_server.configure(
        issuer=sigstore_instance.issuer, audience="pypi", jwks_url=sigstore_instance.jwks_url,
        trust_config=json.loads(sigstore_instance.trust_config.read_text()),
        publishers=[{"project": "widget", "repository": github_job.repository,
                     "workflow": github_job.workflow.rsplit("/", 1)[-1],
                     "environment": github_job.environment or ""}],
    )
    return warehouse_server
