"""Configuration, parsed once into frozen dataclasses: the action's inputs and the runner's facts.

This is the one module that reads the process environment (`read_environment`); everyone else
is handed the frozen copy or what was parsed from it. The runner hands inputs over as
`INPUT_<NAME>` with the name upper-cased and hyphens kept (`INPUT_GITHUB-TOKEN`); a shell would
drop those, Python reads them. Everything else comes from the runner's `GITHUB_*` variables and
the event payload at `GITHUB_EVENT_PATH`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from action.errors import ConfigError
from action.logs import mask
from action.tags import tag_version
from statemachine.errors import EventError
from statemachine.plan import StepInput
from statemachine.records import MAIN_LANE, Cause, check_lane

if TYPE_CHECKING:
    from collections.abc import Mapping

DEBUG_ENV = "RELEASE_ACTION_DEBUG"  # "1": tracebacks and debug logs, for every command
# Seconds between GitHub writes (default: as GitHub asks of integrations); 0 for servers
# without that limit, and for tests.
WRITE_INTERVAL_ENV = "RELEASE_ACTION_WRITE_INTERVAL"
PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
TESTPYPI_UPLOAD = "https://test.pypi.org/legacy/"
PR_EVENTS = frozenset({
    "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment",
})
_IDENTIFIER = re.compile(r"(cp|pp|gp)\d{2,3}t?(-[a-z0-9_]+)?|\*")
TRUE = frozenset({"true", "yes", "1", "on"})
FALSE = frozenset({"false", "no", "0", "off", ""})

# PyPI's own limit per file unless a project asked for more (100 MiB).
DEFAULT_MAX_DIST_SIZE = "100MiB"
_SIZE_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}

# Every input of action.yml, with its default when the runner gives none.
INPUTS: dict[str, str] = {
    "step": "auto",
    "tag": "",
    "python": "",
    "dist-dir": "dist",
    "project-dir": ".",
    "parts": "sdist linux",
    "platforms": "linux",
    "wheels": "",
    "wheel-source": "sdist",
    "github-token": "",
    "repository-url": PYPI_UPLOAD,
    "test-repository-url": TESTPYPI_UPLOAD,
    "password": "",
    "test-password": "",
    "skip-test-pypi": "false",
    "approval-environment": "publish",
    "require-approval": "true",
    "signing-key": "",
    "debug": "false",
    "max-dist-size": DEFAULT_MAX_DIST_SIZE,
}


def read_environment() -> Mapping[str, str]:
    """The process environment, read here and nowhere else: a frozen copy to pass down."""
    return MappingProxyType(dict(os.environ))


def debug_requested(env: Mapping[str, str], *, command: str) -> bool:
    """RELEASE_ACTION_DEBUG=1, or the action's own `debug` input when the runner starts it."""
    return env.get(DEBUG_ENV) == "1" or (
        command == "run" and env.get("INPUT_DEBUG", "").lower() == "true")


def writes_paced(env: Mapping[str, str]) -> bool:
    """Whether GitHub writes keep to its limits (80 a minute, 500 an hour): yes, unless
    RELEASE_ACTION_WRITE_INTERVAL is 0 (GitHub Enterprise servers without them; tests)."""
    value = env.get(WRITE_INTERVAL_ENV, "")
    try:
        return not value or float(value) != 0
    except ValueError:
        raise ConfigError(f"{WRITE_INTERVAL_ENV} must be 0 (no pacing) or unset, not {value!r}",
                          hint="Unset it to pace writes as GitHub asks.") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerFiles:
    """What the runner offers this process: whether it is one, and the files it reads back."""

    on_github: bool = False
    step_summary: Path | None = None  # GITHUB_STEP_SUMMARY
    outputs: Path | None = None  # GITHUB_OUTPUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunnerFiles:
        summary, outputs = env.get("GITHUB_STEP_SUMMARY"), env.get("GITHUB_OUTPUT")
        return cls(on_github=on_github(env), step_summary=Path(summary) if summary else None,
                   outputs=Path(outputs) if outputs else None)


def on_github(env: Mapping[str, str]) -> bool:
    """Whether `env` is a GitHub Actions runner's."""
    return env.get("GITHUB_ACTIONS") == "true"


def read_input(env: Mapping[str, str], name: str) -> str:
    """The value of the input called `name` as the runner sets it (hyphens kept) or its default."""
    value = env.get(f"INPUT_{name.upper()}")
    if value is None:
        value = env.get(f"INPUT_{name.upper().replace('-', '_')}")
    return (value if value is not None else INPUTS[name]).strip()


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ConfigError(f"input `{name}` must be true or false, not {value!r}")


def parse_size(name: str, value: str) -> int:
    """A size input: bytes, or a number with a unit (100MiB, 1.5GB, 500k)."""
    match = _SIZE_TEXT.fullmatch(value.strip())
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None or float(match.group(1)) <= 0:
        raise ConfigError(f"input `{name}` must be a size such as 100MiB or 2GB, not {value!r}",
                          hint=f"Give `{name}` in bytes or with a unit (KiB, MiB, GiB, kB, MB, "
                          f"GB); the default is {DEFAULT_MAX_DIST_SIZE}.")
    return int(float(match.group(1)) * unit)


def split_words(value: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[\s,]+", value) if w)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFacts:
    """What the runner says about this run."""

    repository: str
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    run_id: str = "local"
    run_attempt: int = 1
    job: str = "local"
    actor: str = "local"
    workflow: str = ""
    event: str = "workflow_dispatch"
    sha: str = ""
    ref: str = ""
    oidc: bool = False
    runner_name: str = ""  # RUNNER_NAME: finds this job among the run's jobs

    def cause(self) -> Cause:
        return Cause(run_id=self.run_id, run_attempt=self.run_attempt, job=self.job,
                     actor=self.actor, workflow=self.workflow)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything the job asked for, checked."""

    step: StepInput
    tag: str
    python: tuple[str, ...]
    dist_dir: Path
    project_dir: Path
    parts: tuple[str, ...]
    platforms: tuple[str, ...]
    wheels: tuple[str, ...]
    repository_url: str
    test_repository_url: str
    skip_test_pypi: bool
    approval_environment: str
    require_approval: bool
    debug: bool
    run: RunFacts
    wheel_source: str = "sdist"  # what cibuildwheel builds from: the lane's sdist, or "checkout"
    max_dist_size: int = 100 * 2**20  # DEFAULT_MAX_DIST_SIZE
    github_token: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    test_password: str = field(default="", repr=False)
    signing_key: str = field(default="", repr=False)

    @property
    def lane(self) -> str:
        return "-".join(self.python) if self.python else MAIN_LANE


def _tag(env: Mapping[str, str], given: str) -> str:
    if given:
        return check_tag(given.removeprefix("refs/tags/"))
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/tags/"):
        return check_tag(ref.removeprefix("refs/tags/"))
    raise ConfigError(
        "no tag to release: this run was not started by a tag push and no `tag` input was given",
        hint="Push a tag (e.g. v1.2.3), or dispatch the workflow with the `tag` input to resume "
        "or backfill a release.",
    )


# What `git check-ref-format` refuses in a ref name: control characters and space, ~ ^ : ? * [ \,
# `..`, `@{`, `//`, a component starting with `.` or ending with `.lock`, a trailing `.` or `/`.
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(?:^|/)\.|\.lock(?:/|$)|[./]$|^/|^@$")


def check_tag(tag: str) -> str:
    """A release tag: a git ref name that names a PEP 440 version (optionally after a `v`)."""
    hint = ("Give the tag as git shows it, a PEP 440 version with an optional leading v "
            "(v1.2.3, 1.2.3rc1), without spaces or line breaks.")
    if not tag or _BAD_REF.search(tag):
        raise ConfigError(f"tag {tag!r} is not a valid git tag name", hint=hint)
    tag_version(tag)
    return tag


_LOOPBACK_NAMES = frozenset({"localhost"})


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_index_url(name: str, url: str) -> str:
    """An upload URL: https (http only to this machine), a host, no credentials in it."""
    hint = (f"Set `{name}` to the index's https upload URL, e.g. {PYPI_UPLOAD}; the password "
            "goes in the `password` inputs (or trusted publishing), never in the URL.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - parsing the port raises ValueError for a bad one
    except ValueError:
        raise ConfigError(f"input `{name}` is not a URL: {url!r}", hint=hint) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"input `{name}` carries credentials in the URL (refused, not shown)",
                          hint=hint)
    if re.search(r"[\x00-\x20\x7f]", url):
        raise ConfigError(f"input `{name}` has spaces or control characters: {url!r}", hint=hint)
    if not host:
        raise ConfigError(f"input `{name}` has no host: {url!r}", hint=hint)
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(host)):
        return url
    raise ConfigError(
        f"input `{name}` is {url!r}: uploads go over https only (http only to 127.0.0.1, ::1 "
        "or localhost)", hint=hint)


def inside_workspace(name: str, value: str, workspace: Path) -> Path:
    """`workspace / value`, refused when it (symlinks followed) leaves the workspace."""
    root = workspace.resolve()
    path = (workspace / value).resolve()
    if value.startswith("/") or not path.is_relative_to(root):
        raise ConfigError(
            f"input `{name}` is {value!r}, which is outside the workspace {root}",
            hint=f"Give `{name}` as a path relative to the workspace, without `..` and without "
            "a symlink leading out of it.")
    return workspace / value


def _python(value: str) -> tuple[str, ...]:
    words = split_words(value)
    for word in words:
        if not _IDENTIFIER.fullmatch(word):
            raise ConfigError(
                f"input `python` has {word!r}, which is not a Python build identifier",
                hint="Use cibuildwheel identifiers or their prefix: cp314, cp314t, "
                "cp314-manylinux_x86_64.",
            )
    lane = "-".join(words)
    if words:
        try:
            check_lane(lane.replace("*", "all"))
        except EventError as exc:
            raise ConfigError(exc.message) from None
    return words


def refuse_pull_requests(env: Mapping[str, str], event: Mapping[str, Any]) -> None:
    """A release never runs for a pull request, least of all one from a fork."""
    name = env.get("GITHUB_EVENT_NAME", "")
    if name not in PR_EVENTS:
        return
    def member(data: object, key: str) -> object:
        return data.get(key) if isinstance(data, dict) else None

    head = member(member(member(event, "pull_request"), "head"), "repo")
    # A head of any other shape than GitHub's counts as a fork: refused either way.
    fork = not isinstance(head, dict) or bool(head.get("fork")) or head.get(
        "full_name") not in {None, env.get("GITHUB_REPOSITORY")}
    where = "a pull request from a fork" if fork else "a pull request"
    raise ConfigError(
        f"refusing to run for {where} (event `{name}`): a release runs only for a tag push or a "
        "workflow dispatch in the repository itself",
        hint="Trigger the release workflow with `on: push: tags` and `workflow_dispatch`.",
    )


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the event payload {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"cannot read the event payload {path}: JSON nested too deeply",
                          hint="The runner writes this file; run the action in a GitHub "
                          "Actions job.") from None
    return data if isinstance(data, dict) else {}


def run_facts(env: Mapping[str, str]) -> RunFacts:
    repository = env.get("GITHUB_REPOSITORY", "")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise ConfigError(
            f"GITHUB_REPOSITORY is {repository!r}, not owner/name",
            hint="Run the action in a GitHub Actions job (the runner sets GITHUB_REPOSITORY).",
        )
    attempt = env.get("GITHUB_RUN_ATTEMPT", "1")
    return RunFacts(
        repository=repository,
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        run_id=env.get("GITHUB_RUN_ID", "local"),
        run_attempt=int(attempt) if attempt.isdigit() else 1,
        job=env.get("GITHUB_JOB", "local"),
        actor=env.get("GITHUB_ACTOR", "local"),
        workflow=workflow_path(env.get("GITHUB_WORKFLOW_REF", "")),
        event=env.get("GITHUB_EVENT_NAME", "workflow_dispatch"),
        sha=env.get("GITHUB_SHA", ""),
        ref=env.get("GITHUB_REF", ""),
        oidc=bool(env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
                  and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")),
        runner_name=env.get("RUNNER_NAME", ""),
    )


def workflow_path(ref: str) -> str:
    """`owner/repo/.github/workflows/release.yml@refs/tags/v1` -> `.github/workflows/...`.

    The one reading of a workflow reference: GITHUB_WORKFLOW_REF, and the `job_workflow_ref`
    and `workflow_ref` claims of the job's OIDC token have the same form."""
    path = ref.split("@", 1)[0]
    parts = path.split("/", 2)
    return parts[2] if len(parts) == 3 else path  # noqa: PLR2004 - owner, repo, path


WHEEL_SOURCES = ("sdist", "checkout")


def check_wheel_source(value: str, parts: tuple[str, ...]) -> str:
    """`sdist` (wheels from the sdist this lane built) or `checkout`; with `sdist`, a job that
    builds both builds the sdist first."""
    value = value.lower()
    if value not in WHEEL_SOURCES:
        raise ConfigError(
            f"input `wheel-source` must be sdist or checkout, not {value!r}",
            hint="`sdist` (the default) builds the wheels from the sdist just built, so a file "
            "missing from it fails the build; `checkout` builds them from the checked-out tree.")
    wheel_parts = [p for p in parts if p != "sdist"]
    if value == "sdist" and "sdist" in parts and wheel_parts and (
            parts.index(wheel_parts[0]) < parts.index("sdist")):
        raise ConfigError(
            f"input `parts` is {' '.join(parts)!r}: with `wheel-source: sdist` the wheels are "
            "built from the sdist, so it must be built first",
            hint="List `sdist` first in `parts` (e.g. `sdist linux`).")
    return value


def _step_input(value: str) -> StepInput:
    try:
        return StepInput(value.lower())
    except ValueError:
        choices = ", ".join(r.value for r in StepInput)
        raise ConfigError(f"input `step` must be one of {choices}, not {value!r}") from None


def from_env(env: Mapping[str, str]) -> Config:
    """Read and check every input and runner variable. Secrets are masked at once."""
    event = _event(env)
    refuse_pull_requests(env, event)
    secrets = {name: read_input(env, name)
               for name in ("github-token", "password", "test-password", "signing-key")}
    for value in secrets.values():
        if value:
            mask(value)
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    return Config(
        step=_step_input(read_input(env, "step")),
        tag=_tag(env, read_input(env, "tag")),
        python=_python(read_input(env, "python")),
        dist_dir=inside_workspace("dist-dir", read_input(env, "dist-dir"), workspace),
        project_dir=inside_workspace("project-dir", read_input(env, "project-dir"), workspace),
        parts=(parts := split_words(read_input(env, "parts"))),
        platforms=split_words(read_input(env, "platforms")),
        wheels=split_words(read_input(env, "wheels")),
        repository_url=check_index_url("repository-url", read_input(env, "repository-url")),
        test_repository_url=check_index_url("test-repository-url",
                                            read_input(env, "test-repository-url")),
        skip_test_pypi=parse_bool("skip-test-pypi", read_input(env, "skip-test-pypi")),
        approval_environment=read_input(env, "approval-environment"),
        require_approval=parse_bool("require-approval", read_input(env, "require-approval")),
        debug=parse_bool("debug", read_input(env, "debug")),
        run=run_facts(env),
        wheel_source=check_wheel_source(read_input(env, "wheel-source"), parts),
        max_dist_size=parse_size("max-dist-size", read_input(env, "max-dist-size")),
        github_token=secrets["github-token"] or env.get("GITHUB_TOKEN", ""),
        password=secrets["password"],
        test_password=secrets["test-password"],
        signing_key=secrets["signing-key"],
    )
