"""PEP 740 publish attestations: made once at `attested`, attached, sent to both indexes.

Real attestations need Sigstore (GitHub's OIDC identity), which is not reachable here; the
attester is the one seam replaced. Everything around it is real: the pipeline, the store, the
draft, twine's `--attestations` and the two pypiservers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from action import pipeline
from action.attestation.keys import generate_key
from statemachine.plan import StopKind
from tests.integration.harness import SDIST, WHEEL, World, make_project, sha256

if TYPE_CHECKING:
    from pathlib import Path


class CountingAttester:
    """Writes one attestation per dist (a JSON stand-in for Sigstore's), counting calls."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, dists: list[Path]) -> tuple[Path, ...]:
        made = []
        for dist in dists:
            path = dist.with_name(dist.name + ".publish.attestation")
            path.write_text(json.dumps({"subject": dist.name, "sha256": sha256(dist)}))
            self.made.append(dist.name)
            made.append(path)
        return tuple(made)


def test_attestations_are_made_once_and_kept_for_both_indexes(tmp_path, testpypi, pypi):
    """One attestation per dist, attached to the draft, made once for Test PyPI and PyPI."""
    private, _public = generate_key()
    world = World(make_project(tmp_path / "p"), tmp_path / "store", private,
                  {"testpypi": testpypi, "pypi": pypi})
    job = world.job(tmp_path / "job")
    attester = CountingAttester()
    job.services.attester = attester
    final = pipeline.run(job)
    assert final.stop.kind is StopKind.DONE
    lane = job.lane
    names = sorted(a.name for a in lane.attestations)
    assert names == sorted(f"{n}.publish.attestation" for n in (SDIST, WHEEL))
    assert sorted(attester.made) == sorted([SDIST, WHEEL])
    attached = {a.name for a in job.services.store.list_assets(job.release_ref().release_id)}
    assert set(names) <= attached
    assert lane.state.value == "published"
