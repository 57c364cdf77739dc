"""Reading the runner's contract: INPUT_* (hyphens kept), GITHUB_*, the event payload."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import action
from action.builders.tools import check_project as _check_project
from action.config import INPUTS, from_env, read_input
from action.errors import ConfigError
from statemachine.plan import StepInput

BASE = {"GITHUB_REPOSITORY": "octo/x", "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_WORKSPACE": "/github/workspace", "GITHUB_RUN_ID": "77",
        "GITHUB_WORKFLOW_REF": "octo/x/.github/workflows/release.yml@refs/tags/v1.2.3"}


def test_hyphenated_inputs_are_read_as_the_runner_sets_them():
    """INPUT_GITHUB-TOKEN (hyphen kept) is the github-token input."""
    config = from_env({**BASE, "INPUT_GITHUB-TOKEN": "ghs_secret_value", "INPUT_STEP": "build"})
    assert config.github_token == "ghs_secret_value"
    assert config.step is StepInput.BUILD
    assert read_input({"INPUT_DIST-DIR": "out"}, "dist-dir") == "out"


def test_defaults_and_runner_facts():
    """Without inputs: auto, the pushed tag, the main lane, the workflow's path."""
    config = from_env(BASE)
    assert (config.step, config.tag, config.lane) == (StepInput.AUTO, "v1.2.3", "main")
    assert config.run.workflow == ".github/workflows/release.yml"
    assert config.run.cause().run_id == "77"
    assert str(config.dist_dir) == "/github/workspace/dist"


def test_python_names_a_backfill_lane():
    """`python: cp314 cp314t` opens the lane cp314-cp314t."""
    assert from_env({**BASE, "INPUT_PYTHON": "cp314 cp314t"}).lane == "cp314-cp314t"


@pytest.mark.parametrize(("name", "value", "says"), [
    ("INPUT_STEP", "deploy", "input `step` must be one of"),
    ("INPUT_PYTHON", "python3.14", "not a Python build identifier"),
    ("INPUT_SKIP-TEST-PYPI", "maybe", "must be true or false"),
])
def test_bad_inputs_say_what_is_wrong(name, value, says):
    """Each bad input is a ConfigError naming the input."""
    with pytest.raises(ConfigError, match=says):
        from_env({**BASE, name: value})


def test_no_tag_says_how_to_give_one():
    """A branch push without a `tag` input is refused with what to do."""
    with pytest.raises(ConfigError, match="no tag to release") as caught:
        from_env({**BASE, "GITHUB_REF": "refs/heads/main"})
    assert "dispatch" in caught.value.hint


def test_secrets_are_masked_at_once(capsys):
    """Every secret input is announced to the runner with ::add-mask:: when read."""
    from_env({**BASE, "INPUT_PASSWORD": "pypi-AgEIcHlwaS5vcmc-secret"})
    assert "::add-mask::pypi-AgEIcHlwaS5vcmc-secret" in capsys.readouterr().out


@pytest.mark.parametrize(("fork", "says"), [(True, "from a fork"), (False, "a pull request")])
def test_pull_requests_are_refused(tmp_path, fork, says):
    """The action never runs for pull requests, and says why."""
    event = tmp_path / "event.json"
    repo = "mallory/x" if fork else "octo/x"
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {
        "full_name": repo, "fork": fork}}}}))
    env = {**BASE, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    with pytest.raises(ConfigError, match=says):
        from_env(env)


def test_outside_a_runner_the_repository_is_required():
    """Without GITHUB_REPOSITORY the error says to run inside GitHub Actions."""
    with pytest.raises(ConfigError, match="owner/name"):
        from_env({"GITHUB_REF": "refs/tags/v1"})


@pytest.mark.parametrize(("tag", "says"), [
    ("v1.0.0\n::set-output name=state::published", "not a valid git tag name"),
    ("v1.0.0\r::warning::x", "not a valid git tag name"),
    ("v1.0 .0", "not a valid git tag name"),
    ("v1..0", "not a valid git tag name"),
    ("v1.0.0.lock", "not a valid git tag name"),
    ("release-1", "is not a version"),
    ("v1.0.0/", "not a valid git tag name"),
    ("", "no tag to release"),
])
def test_a_tag_must_be_a_ref_name_and_a_version(tag, says):
    """The dispatched `tag` is a git ref name and a PEP 440 version, checked when read."""
    with pytest.raises(ConfigError, match=says) as caught:
        from_env({**BASE, "INPUT_TAG": tag, "GITHUB_REF": "refs/heads/main"})
    assert "\n" not in caught.value.message and "\r" not in caught.value.message


def test_a_pushed_tag_is_checked_too():
    """GITHUB_REF's tag goes through the same check."""
    with pytest.raises(ConfigError, match="not a version"):
        from_env({**BASE, "GITHUB_REF": "refs/tags/nightly"})
    assert from_env({**BASE, "GITHUB_REF": "refs/tags/1.2.3rc1"}).tag == "1.2.3rc1"


@pytest.mark.parametrize("url", [
    "ftp://example/", "http://upload.example.org/legacy/", "file:///etc/passwd",
    "https://user:pw@upload.example.org/legacy/", "https:///legacy/", "https://x\n/legacy/",
    "http://127.0.0.1.example.org/", "https://x:notaport/",
])
def test_index_urls_are_https_or_loopback_http(url):
    """Upload URLs: https, http only to this machine, no credentials in them."""
    with pytest.raises(ConfigError, match="repository-url") as caught:
        from_env({**BASE, "INPUT_REPOSITORY-URL": url})
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "https://upload.example.org/legacy/", "http://127.0.0.1:8080/", "http://[::1]:9/",
    "http://localhost:1/",
])
def test_good_index_urls_pass(url):
    """The check lets the real and the loopback indexes through (it can pass as well as fail)."""
    assert from_env({**BASE, "INPUT_TEST-REPOSITORY-URL": url}).test_repository_url == url


@pytest.mark.parametrize(("name", "value"), [
    ("dist-dir", "/srv/out"), ("dist-dir", "../x"), ("project-dir", "a/../../b"),
    ("dist-dir", "link/dist"),
])
def test_paths_stay_inside_the_workspace(tmp_path, name, value):
    """dist-dir and project-dir: relative, no `..` out, no symlink out."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match=f"`{name}`.*outside the workspace"):
        from_env({**BASE, "GITHUB_WORKSPACE": str(workspace), f"INPUT_{name.upper()}": value})


def test_paths_inside_the_workspace_pass(tmp_path):
    """A nested relative path, even through `..` that stays inside, is accepted."""
    config = from_env({**BASE, "GITHUB_WORKSPACE": str(tmp_path), "INPUT_DIST-DIR": "a/../out",
                       "INPUT_PROJECT-DIR": "src/pkg"})
    assert config.dist_dir == tmp_path / "a/../out"
    assert config.project_dir == tmp_path / "src/pkg"


def test_every_input_a_message_names_exists():
    """A hint naming "the `x` input" or "input `x`" names an input of action.yml (not `project`)."""
    named = set()
    for path in Path(action.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        named |= {(path.name, m) for m in re.findall(r"`([a-z][a-z-]*)` input", text)}
        named |= {(path.name, m) for m in re.findall(r"input `([a-z][a-z-]*)`", text)}
    assert named, "the pattern finds the inputs messages name"
    assert {(f, n) for f, n in named if n not in INPUTS} == set()


def test_the_not_a_project_hint_names_project_dir(tmp_path):
    """The hint for a directory without pyproject.toml names the real input, `project-dir`."""
    with pytest.raises(ConfigError) as caught:
        _check_project(tmp_path)
    assert "`project-dir` input" in caught.value.hint


def test_wheel_source_is_the_sdist_by_default_or_the_checkout():
    """`wheel-source` defaults to sdist; `checkout` is the one alternative."""
    assert from_env(BASE).wheel_source == "sdist"
    assert from_env({**BASE, "INPUT_WHEEL-SOURCE": "Checkout"}).wheel_source == "checkout"
    with pytest.raises(ConfigError, match="`wheel-source` must be sdist or checkout"):
        from_env({**BASE, "INPUT_WHEEL-SOURCE": "git"})


def test_wheels_from_the_sdist_need_the_sdist_built_first():
    """`parts: linux sdist` with wheels from the sdist is refused, saying to list it first."""
    with pytest.raises(ConfigError, match="must be built first") as caught:
        from_env({**BASE, "INPUT_PARTS": "linux sdist"})
    assert "sdist linux" in caught.value.hint
    assert from_env({**BASE, "INPUT_PARTS": "linux sdist",
                     "INPUT_WHEEL-SOURCE": "checkout"}).parts == ("linux", "sdist")
    assert from_env({**BASE, "INPUT_PARTS": "linux"}).parts == ("linux",)
