"""`release-action rehearse PROJECT_DIR`: a whole release of a project, on this machine only.

The same machine, steps and log format as on GitHub, with embedded stand-ins: a release store
in a directory, two package indexes (pypiserver) on 127.0.0.1 for Test PyPI and PyPI, a
signing key made for the rehearsal, and an approval asked at the terminal (or `--approve`).
With `--keyless` it signs as on GitHub instead: through a local Sigstore instance (the
repository's tests/sigstore/server.mjs: Fulcio, Rekor and an OIDC issuer on 127.0.0.1, from a
checkout with `npm ci` done there), provenance and PEP 740 attestations alike; the trust
configuration it used is kept in the work directory, to verify with.
It ends by installing the package from the local "PyPI" into a fresh venv and importing it.
Interrupted, it resumes from its log when run again with the same work directory.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import shlex
import shutil
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.text import Text

from action import pipeline, report
from action.attestation.keyless import (
    TRUST_CONFIG_VARIABLE,
    SigstoreSigner,
    named_trust_config,
    read_trust_config,
)
from action.attestation.keys import KeySigner
from action.attestation.pep740 import ensure_publish_attestations, sigstore_attester
from action.attestation.statement import bundle_file_name
from action.config import Config, RunFacts
from action.errors import ConfigError, ReleaseError
from action.index import ApiToken, IndexConfig, open_index
from action.job import Job, Services
from action.lane_files import digest_of
from action.logs import get_logger, no_runner
from action.proc import run
from action.progress import BuildingPart, FileUploaded, Notice, StepStarted
from action.rehearsal_world import (
    REHEARSAL_WORKFLOW,
    LocalApprovals,
    LocalTags,
    check_pypiserver,
    choose_tag,
    git_repository,
    local_indexes,
    local_sigstore,
    rehearsal_claims,
    signing_key,
    token_source,
)
from action.stores.local import LocalStore
from action.tags import tag_version
from statemachine.diagram import mermaid
from statemachine.plan import StepInput, StepKind, StopKind

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from sigstore.oidc import IdentityToken

    from action.index import PackageIndex
    from action.progress import ProgressEvent

log = get_logger(__name__)
NATIVE_SOURCES = ("*.c", "*.cc", "*.cpp", "*.cxx", "*.pyx", "*.rs", "*.f90")


@dataclass(frozen=True, slots=True)
class Rehearsal:
    project: Path  # the directory holding pyproject.toml
    workdir: Path
    tag: str | None  # None: the version tag on HEAD
    approve: bool
    interactive: bool = True  # ask for the approval on standard input (a terminal or a pipe)
    docker: bool = True  # False: build only what needs no Docker engine (--no-docker)
    color: bool = False  # bars in colour (the terminal is a terminal)
    repository: Path | None = None  # the git work tree; None: the project's own
    keyless: bool = False  # sign through the local Sigstore instance (--keyless)


def project_name(project: Path) -> str:
    """The project's name from pyproject.toml ([project] name is never dynamic, PEP 621)."""
    path = project / "pyproject.toml"
    if not path.is_file():
        raise ConfigError(
            f"{project} has no pyproject.toml",
            hint="Rehearse the directory that holds the project's pyproject.toml; for a "
            "project in a subfolder of its repository, give that folder with --project-dir.",
        )
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}",
                          hint="Fix pyproject.toml (it must be valid TOML).") from None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path} has no [project] name",
                          hint="Declare the name in [project] (PEP 621).")
    return name


def is_pure(project: Path) -> bool:
    path = project / "pyproject.toml"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if "[tool.cibuildwheel]" in text:
        return False
    return not any(any(project.rglob(pattern)) for pattern in NATIVE_SOURCES)


def docker_available(env: Mapping[str, str]) -> bool:
    from action.builders.docker_engine import check_docker  # noqa: PLC0415 - only when rehearsing

    try:
        check_docker(env)
    except ReleaseError:
        return False
    return True


def make_config(r: Rehearsal, *, docker: bool) -> tuple[Config, list[str]]:
    skipped = []
    parts: tuple[str, ...]
    platforms: tuple[str, ...]
    if is_pure(r.project):
        parts, platforms = ("sdist", "wheel"), ()
    elif docker:
        parts, platforms = ("sdist", "linux"), ("linux",)
    else:
        parts, platforms = ("sdist",), ()
        why = ("--no-docker was given" if not r.docker
               else "no Docker engine is reachable (cibuildwheel needs one)")
        skipped.append(f"Linux wheels: {why}; only the sdist is built")
    if r.tag is None:  # pragma: no cover - _rehearse chose it
        raise ConfigError("no tag to rehearse")
    name = project_name(r.project)
    config = Config(
        step=StepInput.AUTO, tag=r.tag, python=(), dist_dir=r.workdir / "dist",
        project_dir=r.project, parts=parts, platforms=platforms, wheels=(),
        repository_url="", test_repository_url="", skip_test_pypi=False,
        approval_environment="publish", require_approval=True, debug=False,
        # Keyless, the identity is a GitHub workflow's, as the local Fulcio certifies it.
        run=RunFacts(repository=f"rehearsal/{name}",
                     server_url="https://github.com" if r.keyless else "https://rehearsal.invalid",
                     run_id="0", job="rehearse", actor=getpass.getuser(),
                     workflow=REHEARSAL_WORKFLOW if r.keyless else "rehearse",
                     event="rehearsal"),
    )
    return config, skipped


def make_services(r: Rehearsal, urls: dict[str, str], out: Callable[[str], None],
                  env: Mapping[str, str], *,
                  identity: Callable[[], IdentityToken] | None = None) -> Services:
    """The rehearsal's services; with `identity` (keyless), signed through the Sigstore
    instance that `env` names, with tokens from `identity`."""
    key = None if identity else KeySigner.from_pem(signing_key(r.workdir))
    clients: dict[str, PackageIndex] = {}

    def index(name: str) -> PackageIndex:
        if name not in clients:
            clients[name] = open_index(IndexConfig.create(  # pypiserver: no JSON API
                name, credentials=ApiToken("rehearsal"), upload_url=urls[name], json_api=False))  # type: ignore[arg-type]  # "testpypi" | "pypi"
        return clients[name]

    return Services(
        store=LocalStore(r.workdir / "store"),
        tags=LocalTags(r.repository or r.project),
        approvals=LocalApprovals(approve=r.approve, interactive=r.interactive, out=out),
        indexes=index,
        signer=lambda: key or SigstoreSigner(identity=identity,
                                             trust=named_trust_config(env)),
        build_env=env,
        public_key=key.public_pem if key else None,
        attester=(lambda dists: ensure_publish_attestations(
            dists, attest=sigstore_attester(env, identity=identity))) if identity else None,
        in_environment=lambda _env: True,
        progress=ProgressLines(out, color=r.color),
    )


BAR = 20


def bar(done: int, total: int, *, color: bool = False) -> str:
    """A progress bar drawn by rich, `done` of `total` filled, then the count."""
    console = Console(file=io.StringIO(), width=BAR, color_system="standard" if color else None,
                      force_terminal=color, legacy_windows=False)
    console.print(ProgressBar(total=max(total, 1), completed=done, width=BAR), end="")
    drawn = console.file.getvalue()  # type: ignore[attr-defined]  # the StringIO above
    visible = len(Text.from_ansi(drawn).plain)
    return f"[{drawn}{' ' * (BAR - visible)}] {done}/{total}"


class ProgressLines:
    """The rehearsal's view of progress: a line per step; builds and uploads as bars."""

    def __init__(self, out: Callable[[str], None], *, color: bool = False) -> None:
        self.out, self.color = out, color

    def __call__(self, event: ProgressEvent) -> None:
        match event:
            case StepStarted(kind=StepKind.BUILD):
                pass  # drawn as a bar when the step says which part it builds
            case StepStarted():
                self.out(f"  - {event.title}\n")
            case BuildingPart(part=part, number=number, total=total):
                self.out(f"  - build    {self._bar(number - 1, total)} part {number} "
                         f"({part})\n")
            case FileUploaded(index=index, name=name, outcome=outcome, number=number,
                              total=total):
                self.out(f"    {index:<8} {self._bar(number, total)} {name} {outcome}\n")
            case Notice(text=text):
                self.out(f"  - {text}\n")

    def _bar(self, done: int, total: int) -> str:
        return bar(done, total, color=self.color)


def install_and_import(job: Job, urls: dict[str, str], out: Callable[[str], None]) -> list[str]:
    """pip install the release from the local PyPI into a fresh venv, then import it."""
    lane = job.lane
    venv = job.workdir / "venv-check"
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], what="make a fresh venv")
    python = venv / "bin" / "python"
    name = project_name(job.config.project_dir)
    # Fetched from the local PyPI only; installed in a second step, so that an sdist-only
    # release finds its build backend where pip normally looks.
    fetched = job.workdir / "from-local-pypi"
    shutil.rmtree(fetched, ignore_errors=True)
    # --isolated: no find-links or extra index from pip's configuration may serve it instead.
    run([str(python), "-m", "pip", "--isolated", "download", "-q", "--no-deps",
         "--no-cache-dir", "--index-url", urls["pypi"] + "simple/", "--dest", str(fetched),
         f"{name}=={lane.opened.version}"], what="download the release from the local PyPI")
    (got,) = sorted(fetched.iterdir())
    if got.name not in lane.files or digest_of(got) != lane.files[got.name].file.sha256:
        raise ReleaseError(f"the local PyPI served {got.name}, which is not a released file")
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-cache-dir", str(got)],
        what=f"install {got.name}")
    modules = _top_level_modules(python, name)
    if not modules:
        raise ReleaseError(f"{name} installed, but it brought no importable module")
    for module in modules:
        run([str(python), "-c", f"import {module}"], what=f"import {module}")
    out(f"installed {name}=={lane.opened.version} from the local PyPI into {venv} and imported "
        f"{', '.join(modules)}\n")
    return modules


TOP_LEVEL = (
    "import importlib.metadata as m, sys\n"
    "names = set()\n"
    "for f in m.distribution(sys.argv[1]).files or []:\n"
    "    top = f.parts[0]\n"
    "    if top.endswith(('.dist-info', '.data')) or top in ('..', '__pycache__'):\n"
    "        continue\n"
    "    names.add(top.split('.')[0])\n"
    "print(' '.join(sorted(n for n in names if n.isidentifier())))\n"
)


def _top_level_modules(python: Path, name: str) -> list[str]:
    """The importable top-level names the installed distribution brought (wheel or sdist)."""
    return run([str(python), "-c", TOP_LEVEL, name], what="list the installed modules"
               ).stdout.split()


def rehearse(r: Rehearsal, out: Callable[[str], None], env: Mapping[str, str]) -> int:
    """Rehearse the release in environment `env` (`config.read_environment()`); workflow
    commands are off while it runs (there is no runner)."""
    with no_runner():
        return _rehearse(r, out, env)


def _rehearse(r: Rehearsal, out: Callable[[str], None], env: Mapping[str, str]) -> int:
    check_pypiserver()
    project_name(r.project)  # a project directory, before anything else
    repository = r.repository or git_repository(r.project)
    r = replace(r, repository=repository, tag=choose_tag(LocalTags(repository), r.tag))
    r.workdir.mkdir(parents=True, exist_ok=True)
    config, skipped = make_config(r, docker=r.docker and docker_available(env))
    tag_version(config.tag)
    for line in skipped:
        out(f"skipped: {line}\n")
    out(f"rehearsing {config.tag} of {r.project} in {r.workdir}\n")
    job_env = dict(env)  # a keyless rehearsal adds its trust configuration
    with local_indexes(r.workdir) as urls, _keyless(r, config, job_env) as identity:
        out(f"local Test PyPI {urls['testpypi']}, local PyPI {urls['pypi']}\n")
        job = Job(config, make_services(r, urls, out, job_env, identity=identity),
                  r.workdir / "job")
        try:
            final = pipeline.run(job)
        except KeyboardInterrupt:
            out("\ninterrupted: run the same command again to resume from the log\n")
            return 130
        out(summary(job))
        if final.stop.kind is not StopKind.DONE:
            out(f"stopped: {final.stop.message}\n")
            return 1
        install_and_import(job, urls, out)
    return 0


def invocation(argv0: str | None = None) -> str:
    """This program as a command that works where it is printed: `release-action` when that
    is the one on PATH, else the absolute path of the script that is running (the venv's, under
    ./dev), else this interpreter with `-m action.cli`."""
    script = Path(argv0 if argv0 is not None else sys.argv[0]).absolute()
    if script.name != "release-action" or not script.is_file():
        return f"{shlex.quote(sys.executable)} -m action.cli"
    on_path = shutil.which("release-action")
    if on_path is not None and Path(on_path).absolute() == script:
        return "release-action"
    return shlex.quote(str(script))


@contextlib.contextmanager
def _keyless(r: Rehearsal, config: Config, env: dict[str, str]
             ) -> Iterator[Callable[[], IdentityToken] | None]:
    """Keyless: the local instance running, and the rehearsal's environment naming its trust
    configuration (so the action signs and verifies with it)."""
    if not r.keyless:
        yield None
        return
    with local_sigstore(r.workdir) as sigstore:
        read_trust_config(sigstore.trust_config)  # a clear error now, not at the first signature
        env[TRUST_CONFIG_VARIABLE] = str(sigstore.trust_config)
        yield token_source(sigstore, rehearsal_claims(
            config, LocalTags(r.repository or r.project).checked_out()))


def summary(job: Job) -> str:
    state = job.log.state
    lanes = {name: lane.state for name, lane in state.lanes.items()}
    lane = state.lane(job.config.lane)
    store = job.services.store
    where = ""
    if job.release is not None and isinstance(store, LocalStore):
        assets = store.root / "releases" / str(job.release.release_id) / "assets"
        snapshot = next(iter(sorted(assets.glob("release-state.*.jsonl"))), None)
        me = invocation()
        commit = lane.opened.commit if lane else ""
        trust = job.services.build_env.get(TRUST_CONFIG_VARIABLE, "")
        how = (["--trust-config", trust, "--workflow", job.config.run.workflow] if trust
               else ["--public-key", str(job.workdir.parent / "signing-key.pub.pem")])
        verify = [str(assets), *how, "--repository", job.config.run.repository,
                  "--commit", commit]
        where = (f"\nrelease files: {assets}\nstate log: {snapshot}\n"
                 f"  read it:   {me} status {shlex.quote(str(snapshot))}\n"
                 f"  verify it: {me} verify {shlex.join(verify)}\n")
        if trust and lane is not None:
            identity = (f"{job.config.run.server_url}/{job.config.run.repository}/"
                        f"{job.config.run.workflow}@refs/tags/{job.config.tag}")
            cli = ["--trust-config", trust, "verify", "identity", "--offline", "--bundle",
                   str(assets / bundle_file_name(lane.name)), "--cert-identity", identity,
                   "--cert-oidc-issuer", "https://token.actions.githubusercontent.com"]
            where += f"  or with the sigstore CLI, for each file: sigstore {shlex.join(cli)} FILE\n"
    table = report.file_table(lane) if lane else ""
    return f"\n{mermaid(lanes)}\n{table}\n{where}"
