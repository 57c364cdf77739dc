"""Reading the runner's contract: INPUT_* (hyphens kept), GITHUB_*, the event payload."""

from __future__ import annotations

import json

import pytest

from action.config import from_env, read_input
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
