"""The local world a rehearsal runs in: stand-ins for what GitHub and PyPI provide.

The project's git tags (the tag rehearsed must exist; the ones near a wrong name are named),
the approval asked at the terminal or read from standard input, two pypiservers on 127.0.0.1
for Test PyPI and PyPI, with `--keyless` a local Sigstore instance (tests/sigstore/server.mjs)
and its GitHub-shaped identity tokens, else the rehearsal's own signing key. `rehearse.py`
puts them together and runs the release through them.
"""

from __future__ import annotations

import contextlib
import difflib
import getpass
import importlib.util
import json
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from action.attestation.keyless import identity_token
from action.attestation.keys import generate_key
from action.errors import ConfigError, ReleaseError
from action.job import ApprovalRecord
from action.proc import run
from action.tags import TagInfo, tag_version

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sigstore.oidc import IdentityToken

    from action.config import Config


class LocalTags:
    """The project's git repository: its tags, and the commit the work tree is on."""

    def __init__(self, repository: Path) -> None:
        self.repository = repository

    def _git(self, *args: str) -> str:
        return run(["git", "-c", "safe.directory=*", "-C", str(self.repository), *args],
                   what="read the project's git history").stdout.strip()

    def checked_out(self) -> str:
        return self._git("rev-parse", "HEAD")

    def tags(self) -> list[str]:
        return self._git("tag", "--list").split()

    def at_head(self) -> list[str]:
        return self._git("tag", "--points-at", "HEAD").split()

    def resolve(self, tag: str) -> TagInfo:
        """The tag's own commit and that commit's time (SOURCE_DATE_EPOCH)."""
        commit = self._git("rev-parse", "--verify", f"refs/tags/{tag}^{{commit}}")
        return TagInfo(tag=tag, commit=commit,
                       epoch=int(self._git("log", "-1", "--format=%ct", commit)))


def git_repository(project: Path) -> Path:
    """The top of the git work tree that holds `project`; refused when there is none."""
    try:
        top = run(["git", "-c", "safe.directory=*", "-C", str(project), "rev-parse",
                   "--show-toplevel"], what="find the project's git repository").stdout.strip()
    except ReleaseError:
        raise ConfigError(
            f"{project} is not in a git repository",
            hint="A release is a tagged commit: rehearse a git work tree (git init, commit, "
            "git tag v1.2.3).",
        ) from None
    return Path(top)


def choose_tag(tags: LocalTags, wanted: str | None) -> str:
    """The tag to rehearse: `wanted` if git has it, else the one version tag on HEAD."""
    known = tags.tags()
    if wanted:
        if wanted in known:
            return wanted
        near = difflib.get_close_matches(wanted, known, n=4, cutoff=0.4)
        raise ConfigError(
            f"there is no tag {wanted!r} in {tags.repository}",
            hint=(f"Tags near it: {', '.join(near)}." if near else
                  f"Its tags: {', '.join(known[-8:])}." if known else "The repository has no "
                  "tags.") + " Rehearse an existing tag (--tag), or tag the commit to release "
            f"(git tag -a {wanted} -m {wanted}).",
        )
    here = [t for t in tags.at_head() if _is_version(t)]
    if len(here) == 1:
        return here[0]
    if here:
        raise ConfigError(f"HEAD has several version tags: {', '.join(here)}",
                          hint="Choose one with --tag.")
    recent = ", ".join(known[-5:]) or "none"
    raise ConfigError(
        f"HEAD ({tags.checked_out()[:12]}) of {tags.repository} has no version tag",
        hint=f"Check out the tag to rehearse (its tags: {recent}), give it with --tag, or tag "
        "this commit (git tag -a v1.2.3 -m v1.2.3).",
    )


def _is_version(tag: str) -> bool:
    try:
        tag_version(tag)
    except ConfigError:
        return False
    return True


class LocalApprovals:
    """An approval given with --approve, or answered on standard input (terminal or pipe)."""

    def __init__(self, *, approve: bool, interactive: bool, out: Callable[[str], None]) -> None:
        self.approve = approve
        self.interactive = interactive
        self.out = out
        self.answer = ""

    def of_run(self, _run_id: str, _environment: str) -> None:
        """A rehearsal's log stays on this machine: its approval is not checked again."""

    def approvals(self, environment: str) -> list[ApprovalRecord]:
        if not self.approve and self.interactive:
            self.out(f"Approve the `{environment}` environment: publish exactly these files? "
                     "[y/N] ")
            self.answer = sys.stdin.readline().strip()
            self.approve = self.answer.lower() in {"y", "yes"}
            if not sys.stdin.isatty():
                self.out(f"{self.answer}\n")
        if not self.approve:
            said = f"the answer was {self.answer!r}" if self.answer else "no answer was given"
            raise ReleaseError(
                f"no approval of the `{environment}` environment: {said}, so nothing is "
                "published",
                hint="Run the same command again and answer y (on a pipe: echo y | "
                "release-action rehearse ...), or pass --approve.",
            )
        how = "approved with --approve" if not self.answer else "approved at the prompt"
        return [ApprovalRecord(login=getpass.getuser(), at=datetime.now(UTC),
                               comment=how, environments=(environment,))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_indexes(workdir: Path) -> Iterator[dict[str, str]]:
    """Two pypiserver instances on 127.0.0.1, their packages kept in the work directory."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name in ("testpypi", "pypi"):
            folder = workdir / "indexes" / name
            folder.mkdir(parents=True, exist_ok=True)
            port = _free_port()
            logfile = (workdir / f"{name}.log").open("ab")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
                 "-a", ".", "-P", ".", "--disable-fallback", str(folder)],
                stdout=logfile, stderr=logfile,
            ))
            urls[name] = f"http://127.0.0.1:{port}/"
        for name, url in urls.items():
            _wait_for(url + "health", workdir / f"{name}.log")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_for(url: str, logfile: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a loopback http URL
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ReleaseError(f"the local index at {url} did not start within "
                                   f"{timeout:.0f} s", hint=f"Its output is in {logfile}."
                                   ) from None
            time.sleep(0.1)


# The rehearsal's local indexes; the same pin as in pyproject.toml's `test` extra.
PYPISERVER = "pypiserver==2.4.2"


def check_pypiserver() -> None:
    """The local indexes need pypiserver in this interpreter (./dev installs it)."""
    if importlib.util.find_spec("pypiserver") is None:
        raise ConfigError(
            f"the rehearsal needs pypiserver, and {sys.executable} has none",
            hint=f"Install it: {shlex.quote(sys.executable)} -m pip install '{PYPISERVER}' "
            "(./dev rehearse sets up a .venv that has it).")


SIGSTORE_SERVER = Path(__file__).resolve().parents[1] / "tests" / "sigstore" / "server.mjs"
REHEARSAL_WORKFLOW = ".github/workflows/rehearse.yml"


@dataclass(frozen=True, slots=True)
class LocalSigstore:
    url: str
    trust_config: Path


@contextlib.contextmanager
def local_sigstore(workdir: Path) -> Iterator[LocalSigstore]:
    """The repository's local Sigstore instance on 127.0.0.1 (new keys at every start)."""
    server = SIGSTORE_SERVER
    node = shutil.which("node")
    if node is None or not (server.parent / "node_modules" / "@sigstore" / "mock").is_dir():
        raise ConfigError(
            "a keyless rehearsal needs the local Sigstore instance, which is not installed",
            hint="Rehearse from a checkout of release-action with node installed, after "
            "`npm ci` in tests/sigstore (`./dev test` does it once).")
    trust = workdir / "sigstore-trust-config.json"
    logfile = (workdir / "sigstore.log").open("ab")
    proc = subprocess.Popen([node, str(server), "--trust-config", str(trust)],
                            cwd=server.parent, stdout=subprocess.PIPE, stderr=logfile)
    try:
        line = proc.stdout.readline() if proc.stdout else b""
        if not line:
            raise ReleaseError("the local Sigstore instance did not start",
                               hint=f"See {workdir / 'sigstore.log'}.")
        started = json.loads(line)
        yield LocalSigstore(str(started["url"]), Path(started["trust_config"]))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        logfile.close()


def rehearsal_claims(config: Config, commit: str) -> dict[str, Any]:
    """The claims GitHub would give this release's jobs, for the rehearsal's OIDC issuer."""
    repository, ref = config.run.repository, f"refs/tags/{config.tag}"
    workflow_ref = f"{repository}/{REHEARSAL_WORKFLOW}@{ref}"
    return {
        "sub": f"repo:{repository}:ref:{ref}", "repository": repository,
        "repository_owner": repository.split("/", 1)[0], "ref": ref, "ref_type": "tag",
        "sha": commit, "workflow": "rehearse", "workflow_ref": workflow_ref,
        "workflow_sha": commit, "job_workflow_ref": workflow_ref, "job_workflow_sha": commit,
        "event_name": "rehearsal", "run_id": config.run.run_id, "run_attempt": "1",
        "runner_environment": "self-hosted", "actor": config.run.actor,
    }


def token_source(sigstore: LocalSigstore, claims: dict[str, Any]) -> Callable[[], IdentityToken]:
    """Fetches a fresh token for these claims, as a runner's job fetches its own."""
    def fetch() -> IdentityToken:
        job = requests.post(f"{sigstore.url}/oidc/jobs", json={"claims": claims}, timeout=30)
        job.raise_for_status()
        answer = requests.get(job.json()["request_url"], params={"audience": "sigstore"},
                              headers={"Authorization": f"bearer {job.json()['request_token']}"},
                              timeout=30)
        answer.raise_for_status()
        return identity_token(str(answer.json()["value"]))
    return fetch


def signing_key(workdir: Path) -> str:
    """The rehearsal's own key, made once and kept (its public half beside it, for verify)."""
    path = workdir / "signing-key.pem"
    if not path.exists():
        private, public = generate_key()
        path.write_text(private, encoding="utf-8")
        path.chmod(0o600)
        (workdir / "signing-key.pub.pem").write_text(public, encoding="utf-8")
    return path.read_text(encoding="utf-8")
