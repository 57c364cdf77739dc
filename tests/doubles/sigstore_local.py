"""A local Sigstore instance on 127.0.0.1, and the identities of the GitHub jobs it signs for.

`start_sigstore(directory)` runs `tests/sigstore/server.mjs` (Sigstore's own Fulcio, CT log and
Rekor mocks from the npm package `@sigstore/mock`, behind thin adapters, plus an OIDC issuer in
the shape of GitHub's runner token service) and yields a `SigstoreInstance`: its URL, the trust
configuration it wrote for this start's fresh keys, and `runner_environ(job)`, the
`ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN` pair a runner gives a job
with `id-token: write`. sigstore-python is pointed at it only through that trust configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import requests

if TYPE_CHECKING:
    from collections.abc import Iterator

SERVER_DIR: Final = Path(__file__).resolve().parent.parent / "sigstore"
SERVER: Final = SERVER_DIR / "server.mjs"
GITHUB_ISSUER: Final = "https://token.actions.githubusercontent.com"


def available() -> str | None:
    """None when the instance can start; otherwise what is missing."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (SERVER_DIR / "node_modules" / "@sigstore" / "mock").is_dir():
        return "@sigstore/mock is not installed (npm ci in tests/sigstore, done by ./dev test)"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubJob:
    """One job of a workflow run on GitHub: the claims of its OIDC tokens."""

    repository: str = "acme/widget"
    workflow: str = ".github/workflows/release.yml"
    ref: str = "refs/tags/v1.0.0"
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    environment: str | None = "pypi"
    run_id: str = "4242"
    run_attempt: str = "1"
    event_name: str = "push"
    job_workflow: str | None = None
    """A reusable workflow's `owner/repo/path@ref` when the job runs one; else the workflow."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def workflow_ref(self) -> str:
        return f"{self.repository}/{self.workflow}@{self.ref}"

    @property
    def job_workflow_ref(self) -> str:
        return self.job_workflow or self.workflow_ref

    @property
    def identity(self) -> str:
        """The certificate's SAN, as Fulcio makes it for GitHub: the job's workflow URL."""
        return f"https://github.com/{self.job_workflow_ref}"

    def claims(self) -> dict[str, Any]:
        """The claims GitHub puts in the job's token (`iss`, `aud`, times added by the issuer)."""
        owner = self.repository.split("/", 1)[0]
        place = f"environment:{self.environment}" if self.environment else f"ref:{self.ref}"
        claims: dict[str, Any] = {
            "sub": f"repo:{self.repository}:{place}",
            "repository": self.repository,
            "repository_id": "100001",
            "repository_owner": owner,
            "repository_owner_id": "200002",
            "repository_visibility": "public",
            "actor": "octocat",
            "actor_id": "583231",
            "ref": self.ref,
            "ref_type": "tag" if self.ref.startswith("refs/tags/") else "branch",
            "sha": self.sha,
            "workflow": "release",
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref,
            "job_workflow_sha": self.sha,
            "event_name": self.event_name,
            "run_id": self.run_id,
            "run_number": "7",
            "run_attempt": self.run_attempt,
            "runner_environment": "github-hosted",
        }
        if self.environment:
            claims["environment"] = self.environment
        claims.update(self.extra)
        return claims


@dataclass(frozen=True, slots=True)
class SigstoreInstance:
    url: str
    trust_config: Path
    """The `ClientTrustConfig` JSON of this start (its keys are new at every start)."""
    issuer: str = GITHUB_ISSUER

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks"

    def runner_environ(self, job: GitHubJob) -> dict[str, str]:
        """What the runner gives a job with `id-token: write` to fetch its OIDC tokens."""
        answer = requests.post(f"{self.url}/oidc/jobs", json={"claims": job.claims()}, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": body["request_url"],
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": body["request_token"],
        }

    def token(self, job: GitHubJob, audience: str = "sigstore") -> str:
        """An OIDC token for the job, fetched as the runner's clients fetch it."""
        env = self.runner_environ(job)
        answer = requests.get(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"],
            params={"audience": audience},
            headers={"Authorization": f"bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"},
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["value"])


@contextmanager
def start_sigstore(directory: Path) -> Iterator[SigstoreInstance]:
    """Run the instance until the block ends; the trust configuration goes to `directory`."""
    missing = available()
    if missing:
        raise RuntimeError(f"the local Sigstore instance cannot start: {missing}")
    trust_config = directory / "trust_config.json"
    process = subprocess.Popen(
        ["node", str(SERVER), "--trust-config", str(trust_config)],
        cwd=SERVER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"the local Sigstore instance did not start:\n{err}")
        started = json.loads(line)
        yield SigstoreInstance(started["url"], Path(started["trust_config"]), started["issuer"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# The sigstore CLI of the test environment: verification as a user would run it, independent
# of the action's code.
SIGSTORE_CLI: Final = Path(sys.executable).with_name("sigstore")


def cli_verify(instance: SigstoreInstance, bundle: Path, artifact: Path,
               identity: str) -> subprocess.CompletedProcess[str]:
    """`sigstore verify identity` of `artifact` against the local instance, offline."""
    return subprocess.run(
        [str(SIGSTORE_CLI), "--trust-config", str(instance.trust_config), "verify", "identity",
         "--bundle", str(bundle), "--cert-identity", identity,
         "--cert-oidc-issuer", GITHUB_ISSUER, "--offline", str(artifact)],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "COLUMNS": "200"},  # rich wraps its messages at the width
    )
