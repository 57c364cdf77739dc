"""The local Sigstore instance (tests/doubles/sigstore_local.py) as fixtures.

- `sigstore_instance` (session): one running instance; its trust configuration is written in a
  session temporary directory. Needs node and `npm ci` in tests/sigstore (done by ./dev test).
- `github_job`: the default job identity (`acme/widget`, release.yml, environment `pypi`).
- `keyless_job`: that job's OIDC variables set in the environment, as the runner sets them for
  a job with `id-token: write`; yields the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import require
from tests.doubles import sigstore_local

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.doubles.sigstore_local import GitHubJob, SigstoreInstance


@pytest.fixture(scope="session")
def sigstore_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreInstance]:
    missing = sigstore_local.available()
    require(missing is None, f"the local Sigstore instance cannot start: {missing}")
    with sigstore_local.start_sigstore(tmp_path_factory.mktemp("sigstore")) as instance:
        yield instance


@pytest.fixture
def github_job() -> GitHubJob:
    return sigstore_local.GitHubJob()


@pytest.fixture
def keyless_job(
    sigstore_instance: SigstoreInstance, github_job: GitHubJob, monkeypatch: pytest.MonkeyPatch
) -> GitHubJob:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    for name, value in sigstore_instance.runner_environ(github_job).items():
        monkeypatch.setenv(name, value)
    return github_job
