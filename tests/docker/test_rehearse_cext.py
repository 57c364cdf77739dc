"""The README's main command on the C-extension sample: cibuildwheel through Docker, end to end."""

from __future__ import annotations

import hashlib

from action.cli import main
from statemachine.log import load
from tests.real_projects import tagged_example


def test_rehearsal_of_the_c_extension_sample(tmp_path, cibw_env, monkeypatch, capsys):
    """sdist and a manylinux wheel are built, attested, published locally, installed, imported."""
    for key, value in cibw_env.items():
        monkeypatch.setenv(key, value)
    workdir = tmp_path / "r"
    cext = tagged_example("sample-cext", tmp_path / "src")
    assert main(["rehearse", str(cext), "--approve", "--workdir", str(workdir)]) == 0
    out = capsys.readouterr().out
    assert "imported sample_cext" in out
    log = next((workdir / "store" / "releases" / "1" / "assets").glob("release-state.*.jsonl"))
    lane = load(log.read_bytes()).state.main
    assert lane.state.value == "published"
    wheels = [f for f in lane.dists() if f.name.endswith(".whl")]
    assert len(wheels) == 1
    assert "manylinux" in wheels[0].name
    assert any(image for part in lane.parts.values() for image in part.images)
    held = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (workdir / "indexes" / "pypi").iterdir()}
    assert held == {f.name: f.sha256 for f in lane.dists()}
