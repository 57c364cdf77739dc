"""The shipped action.yml, the example workflow, the image workflow, the Dockerfile and the locks.

Pure structure checks on the files as they are in the tree (read with PyYAML as GitHub reads
them: tests/lint/workflow_yaml.py); actionlint and zizmor run on the same files in
tests/integration/test_lint.py, the image is built and run in tests/docker/test_image.py.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from action.config import INPUTS
from tests.lint.workflow_yaml import WorkflowYamlError, load

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / "action.yml"
EXAMPLE = REPO / "examples" / "workflows" / "release.yml"
WORKFLOWS = sorted([*(REPO / "examples" / "workflows").glob("*.yml"),
                    *(REPO / ".github" / "workflows").glob("*.yml")])
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements" / "lock.txt"
BUILD_LOCK = REPO / "requirements" / "build-lock.txt"
README = REPO / "README.md"

# The outputs of action.yml; its inputs are action/config.py's INPUTS (what the code reads).
OUTPUTS = {"state", "lane", "release-id", "release-url", "files", "provenance"}
KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`: pinned to a commit, the version said beside it.
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*")
# The example's reference to this action: users replace the all-zero SHA with a release's.
PLACEHOLDER = "OWNER/release-action@" + "0" * 40
VENV = "/opt/release-action/venv"
# README.md shows the example between these markers (generated from the file; see the test).
README_BEGIN = "<!-- begin examples/workflows/release.yml -->"
README_END = "<!-- end examples/workflows/release.yml -->"


def read_yaml(path: Path) -> Any:
    return load(path.read_text(encoding="utf-8"))


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return read_yaml(path)["jobs"]


def steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in jobs(path).items() for step in job.get("steps", [])]


def uses_lines(path: Path) -> list[str]:
    """Every `uses:` value in the raw text, comment included (no parser involved)."""
    text = path.read_text(encoding="utf-8")
    return [m.group(1).strip()
            for m in re.finditer(r"^\s*(?:-\s+)?uses:\s*(.+)$", text, re.MULTILINE)]


def requirement_pins(lines: list[str]) -> dict[str, str]:
    """name==version pins (names normalised as in PEP 503) from requirement strings."""
    pins: dict[str, str] = {}
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def lock_pins(path: Path) -> dict[str, str]:
    return requirement_pins(path.read_text(encoding="utf-8").splitlines())


# -- the locks -------------------------------------------------------------------------------

def test_every_runtime_pin_is_locked_identically():
    """Each name==version of [project.dependencies] is in requirements/lock.txt, same version."""
    wanted = requirement_pins(pyproject()["project"]["dependencies"])
    locked = lock_pins(LOCK)
    assert wanted, "pyproject.toml pins no dependency?"
    assert {n: locked.get(n) for n in wanted} == wanted, "run requirements/lock"


def test_runtime_dependencies_are_all_pinned():
    """Every runtime dependency in pyproject is an exact pin (the lock is generated from them)."""
    deps = pyproject()["project"]["dependencies"]
    assert len(requirement_pins(deps)) == len(deps)


def test_lock_holds_no_test_only_extra():
    """The test extras stay out of the image's lock unless the runtime needs them too."""
    project = pyproject()["project"]
    runtime = requirement_pins(project["dependencies"])
    test_only = set(requirement_pins(project["optional-dependencies"]["test"])) - set(runtime)
    assert {"pytest", "ruff", "mypy"} <= test_only
    locked = set(lock_pins(LOCK))
    # securesystemslib is a runtime dependency of sigstore's tuf chain, not only of the tests.
    assert test_only & locked <= {"securesystemslib"}


def test_build_lock_pins_the_build_backend():
    """requirements/build-lock.txt pins [build-system] requires exactly."""
    wanted = requirement_pins(pyproject()["build-system"]["requires"])
    locked = lock_pins(BUILD_LOCK)
    assert {n: locked.get(n) for n in wanted} == wanted, "run requirements/lock"


@pytest.mark.parametrize("path", [LOCK, BUILD_LOCK], ids=lambda p: p.name)
def test_every_locked_requirement_has_hashes(path):
    """--require-hashes needs a hash for every requirement; each entry has at least one."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text(encoding="utf-8"))
    requirements = [e for e in entries if "==" in e]
    assert requirements
    for entry in requirements:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


# -- action.yml ------------------------------------------------------------------------------

def test_action_inputs_are_what_the_code_reads_with_the_same_defaults():
    """action.yml's inputs and defaults are exactly action/config.py's INPUTS."""
    inputs = read_yaml(ACTION)["inputs"]
    declared = {name: spec.get("default") for name, spec in inputs.items()}
    assert declared.pop("github-token") == "${{ github.token }}"  # the runner fills it in
    assert declared == {k: v for k, v in INPUTS.items() if k != "github-token"}


def test_action_inputs_are_kebab_case_and_described():
    """Input names are kebab-case, each has a description and is optional."""
    for name, spec in read_yaml(ACTION)["inputs"].items():
        assert KEBAB.fullmatch(name), name
        assert spec.get("description"), name
        assert spec.get("required") is False, name


def test_action_outputs_are_the_known_list():
    """Outputs: state, lane, release-id, release-url, files, provenance; all described."""
    outputs = read_yaml(ACTION)["outputs"]
    assert set(outputs) == OUTPUTS
    assert all(spec.get("description") for spec in outputs.values())


def test_action_runs_the_image_without_arguments():
    """A docker action: the Dockerfile (or a digest-pinned prebuilt image), ENTRYPOINT's args."""
    runs = read_yaml(ACTION)["runs"]
    assert runs["using"] == "docker"
    image = runs["image"]
    assert image == "Dockerfile" or re.fullmatch(
        r"docker://ghcr\.io/[\w.-]+/[\w.-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}", image)
    assert "args" not in runs
    assert "entrypoint" not in runs


def test_action_has_marketplace_branding():
    """Branding: an icon and a colour, as the Marketplace requires."""
    branding = read_yaml(ACTION)["branding"]
    assert branding["icon"]
    assert branding["color"] in {"white", "black", "yellow", "blue", "green", "orange", "red",
                                 "purple", "gray-dark"}


# -- workflows -------------------------------------------------------------------------------

def test_there_are_workflows_to_check():
    """The example and the image workflow are both found (the checks below are not vacuous)."""
    names = {p.relative_to(REPO).as_posix() for p in WORKFLOWS}
    assert {"examples/workflows/release.yml", ".github/workflows/image.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_grants_nothing_by_default(path):
    """Top-level `permissions: {}`; each job asks for what it needs."""
    workflow = read_yaml(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} has no permissions"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout(path):
    """timeout-minutes on every job."""
    for name, job in jobs(path).items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    """Every `uses:` names a 40-hex commit SHA with its version in a comment."""
    found = uses_lines(path)
    assert found
    for uses in found:
        assert PINNED.fullmatch(uses), uses


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(path):
    """actions/checkout always with persist-credentials: false."""
    checkouts = [s for _, s in steps(path) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_in_run(path):
    """Inputs reach scripts through env:, never interpolated into run:."""
    for job, step in steps(path):
        assert "${{" not in step.get("run", ""), f"job {job}: {step.get('name')}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_concurrency_never_cancels(path):
    """A concurrency group, never cancel-in-progress (it could cancel a run awaiting approval)."""
    concurrency = read_yaml(path)["concurrency"]
    assert concurrency["group"]
    assert concurrency.get("cancel-in-progress") is False


def test_example_triggers_on_tags_and_dispatch_with_tag_and_python():
    """Tag pushes (v*) and workflow_dispatch with `tag` (required) and `python` inputs."""
    on = read_yaml(EXAMPLE)["on"]
    assert on["push"] == {"tags": ["v*"]}
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["tag"]["required"] is True
    assert set(inputs) == {"tag", "python"}


def test_example_concurrency_is_per_tag():
    """The group names the tag, dispatched or pushed."""
    group = read_yaml(EXAMPLE)["concurrency"]["group"]
    assert "inputs.tag" in group and "github.ref_name" in group


def test_example_checks_out_the_tag_itself():
    """Every checkout in the example takes the tag's commit, also when dispatched."""
    for _, step in steps(EXAMPLE):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert "refs/tags/" in step["with"]["ref"]


def action_steps(path: Path) -> dict[str, dict[str, Any]]:
    return {job: step for job, step in steps(path) if step.get("uses") == PLACEHOLDER}


def test_example_runs_the_action_once_per_step():
    """build (sdist + Linux), release, publish: one action step each, in that job."""
    found = {job: step["with"]["step"] for job, step in action_steps(EXAMPLE).items()}
    assert found == {"build": "build", "release": "release", "publish": "publish"}
    assert action_steps(EXAMPLE)["build"]["with"]["parts"] == "sdist linux"


def test_example_passes_only_inputs_the_action_has():
    """Every `with:` key given to the action is an input of action.yml."""
    inputs = set(read_yaml(ACTION)["inputs"])
    for job, step in action_steps(EXAMPLE).items():
        assert set(step["with"]) <= inputs, job


def test_example_job_graph_and_permissions():
    """release needs the builds; publish needs release, runs in `publish`, may mint OIDC."""
    all_jobs = jobs(EXAMPLE)
    assert set(all_jobs["release"]["needs"]) == {"build", "wheels"}
    publish = all_jobs["publish"]
    assert publish["needs"] == "release"
    assert publish["environment"] == "publish"
    assert publish["permissions"] == {"actions": "read", "contents": "write",
                                      "id-token": "write"}
    # release signs keylessly and stores the bundle in GitHub's attestations API
    assert all_jobs["release"]["permissions"] == {
        "contents": "write", "id-token": "write", "attestations": "write"}
    assert all_jobs["wheels"]["permissions"] == {"contents": "read"}
    assert "id-token" not in all_jobs["build"]["permissions"]


def test_example_builds_every_wheel_from_the_sdist_it_hands_over():
    """The build job builds the Linux wheels from the sdist and uploads that sdist; the wheels
    job needs it, downloads it and gives it to cibuildwheel as the package to build."""
    build = action_steps(EXAMPLE)["build"]
    assert build["with"]["wheel-source"] == "sdist"
    build_steps = jobs(EXAMPLE)["build"]["steps"]
    upload = next(s for s in build_steps
                  if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert build_steps.index(upload) > build_steps.index(build)
    assert upload["with"] == {"name": "sdist", "path": "dist/*.tar.gz",
                              "if-no-files-found": "error"}
    wheels = jobs(EXAMPLE)["wheels"]
    assert wheels["needs"] == "build"
    download = next(s for s in wheels["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"name": "sdist", "path": "sdist"}
    find = next(s for s in wheels["steps"] if s.get("id") == "sdist")
    assert "sdist/*.tar.gz" in find["run"]
    cibuildwheel = next(s for s in wheels["steps"]
                        if s.get("uses", "").startswith("pypa/cibuildwheel@"))
    assert cibuildwheel["with"]["package-dir"] == "${{ steps.sdist.outputs.path }}"


def test_example_builds_macos_and_windows_with_cibuildwheel_and_collects_them():
    """The wheels job runs cibuildwheel and uploads; release downloads them all into dist/."""
    wheels = [s.get("uses", "") for s in jobs(EXAMPLE)["wheels"]["steps"]]
    assert any(u.startswith("pypa/cibuildwheel@") for u in wheels)
    assert any(u.startswith("actions/upload-artifact@") for u in wheels)
    download = next(s for s in jobs(EXAMPLE)["release"]["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["path"] == "dist"
    assert download["with"]["merge-multiple"] is True


def test_only_the_image_workflow_may_write_packages():
    """packages: write appears in .github/workflows/image.yml and nowhere else."""
    for path in WORKFLOWS:
        for name, job in jobs(path).items():
            if job["permissions"].get("packages") == "write":
                assert path.name == "image.yml", f"{path.name}: {name}"
    assert jobs(REPO / ".github" / "workflows" / "image.yml")["image"]["permissions"] == {
        "contents": "read", "packages": "write"}


def test_readme_snippet_matches_the_example():
    """Between README's markers stands examples/workflows/release.yml verbatim."""
    readme = README.read_text(encoding="utf-8")
    assert README_BEGIN in readme
    block = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    fenced = re.fullmatch(r"\s*```ya?ml\n(.*?)```\s*", block, re.DOTALL)
    assert fenced, "the markers enclose one ```yaml fenced block"
    assert fenced.group(1) == EXAMPLE.read_text(encoding="utf-8")


# -- Dockerfile ------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
            for ln in lines]


def test_dockerfile_base_is_pinned_by_digest():
    """ARG BASE_IMAGE=python:3.12-slim@sha256:<64 hex>, used by FROM."""
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "ARG"
    assert re.fullmatch(r"BASE_IMAGE=python:3\.12-slim@sha256:[0-9a-f]{64}", instructions[0][1])
    assert all(arg.startswith("${BASE_IMAGE}") for op, arg in instructions if op == "FROM")


def test_dockerfile_entrypoint_starts_the_venv_command_directly():
    """Exec-form ENTRYPOINT of the venv's release-action with `run`; no shell, no CMD."""
    entrypoints = [arg for op, arg in dockerfile_instructions() if op == "ENTRYPOINT"]
    assert entrypoints == [f'["{VENV}/bin/release-action", "run"]']
    assert not [op for op, _ in dockerfile_instructions() if op in {"CMD", "SHELL"}]


def test_dockerfile_sets_no_user_and_no_workdir():
    """The runner decides both: no USER, no WORKDIR."""
    assert not [op for op, _ in dockerfile_instructions() if op in {"USER", "WORKDIR"}]


def test_dockerfile_installs_only_hashed_wheels_without_dependency_resolution():
    """pip installs the locks with --require-hashes --no-deps, the project with --no-deps."""
    runs = " ".join(arg for op, arg in dockerfile_instructions() if op == "RUN")
    for lock in ("lock.txt", "build-lock.txt"):
        assert re.search(rf"--require-hashes --no-deps --only-binary :all: -r \S*/{lock}", runs)
    assert "pip install -q --no-deps --no-index /tmp/wheel/" in runs


def test_docker_context_leaves_out_action_yml():
    """.dockerignore keeps action.yml and docs out: a release that only repoints action.yml
    at a prebuilt image has the same build context as the one that built it."""
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignore  # everything is left out unless named below
    allowed = [ln[1:] for ln in ignore if ln.startswith("!")]
    assert not [a for a in allowed if a.startswith(("action.yml", "docs", "examples", "tests"))]


# -- the YAML reader the checks rely on ------------------------------------------------------

def test_reader_reads_sequences_of_mappings_and_block_scalars():
    """`- key: value` items, nested keys and `|` scalars come out as YAML says."""
    text = ("a:\n  - uses: x@y # c\n    with:\n      k: 'v'\n"
            "  - run: |\n      echo 1\n      echo 2\n")
    assert load(text) == {"a": [{"uses": "x@y", "with": {"k": "v"}},
                                {"run": "echo 1\necho 2\n"}]}


def test_reader_reads_yaml_1_2_booleans():
    """`on`, `yes` and `off` stay strings as GitHub reads them; true/false are booleans."""
    assert load('on: [push, "x y"]\np: {}\nt: 5\nb: false\nc: yes\nd: True\n') == {
        "on": ["push", "x y"], "p": {}, "t": 5, "b": False, "c": "yes", "d": True}


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a:\n  b: 1\n  b: 2\n", "a: [1\n",
                                  "a: !!python/object:os.system x\n"])
def test_reader_refuses_duplicate_keys_bad_yaml_and_python_tags(text):
    """A repeated key (GitHub refuses it), broken syntax, unsafe tags: an error."""
    with pytest.raises(WorkflowYamlError):
        load(text)
