"""Asset names from GitHub are checked before they become paths (issue 11)."""

from __future__ import annotations

import tempfile

import pytest

from action.cli import main
from action.errors import UnsafeInputError
from action.github.store import open_github_store
from action.stores.base import checked_asset_name
from tests.doubles.fixtures import TOKEN
from tests.doubles.github_model import Asset

TAG = "v1.0.0"


def attach(github_api, repo, release_id: int, name: str, data: bytes = b"x") -> None:
    """An asset put on the release by someone with write access (not through our code)."""
    now = github_api.clock()
    with github_api._lock:
        release = repo.release(release_id)
        asset_id = github_api._ids()
        release.assets[asset_id] = Asset(
            id=asset_id, name=name, label=None, content_type="application/octet-stream",
            data=data, state="uploaded", created_at=now, updated_at=now,
            uploader=github_api._user)


@pytest.mark.parametrize("name", [
    "../../x.whl", "a/b.whl", "..", ".", "", "x\\..\\y.whl", "x\n.whl", "x\r.whl", "x\x00.whl",
    "a" * 256,
])
def test_unsafe_asset_names_are_refused(name):
    """Path separators, control characters, `.`/`..`, over-long names: refused, named."""
    with pytest.raises(UnsafeInputError, match="not a plain file name") as caught:
        checked_asset_name(name, release="7")
    assert "Delete that asset" in caught.value.hint


@pytest.mark.parametrize("name", [
    "sample-1.0.0.tar.gz", "multiple.intoto.jsonl", ".hidden", "release-state.000001.jsonl",
    "a" * 255,
])
def test_plain_asset_names_pass(name):
    """The check passes what a release holds (it can pass as well as fail)."""
    assert checked_asset_name(name, release="7") == name


def test_verify_release_refuses_an_asset_named_outside_its_folder(
        github_api, github_repo, tmp_path, monkeypatch, capsys):
    """`verify --release` with an asset `../../x.whl`: refused, nothing written outside."""
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    release_id = github_repo.add_release(TAG)
    attach(github_api, github_repo, release_id, "multiple.intoto.jsonl", b"{}\n")
    attach(github_api, github_repo, release_id, "../../x.whl", b"PK hostile")
    monkeypatch.setenv("GITHUB_API_URL", github_api.api_url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", github_repo.full_name)
    code = main(["verify", "--release", TAG, "--repository", github_repo.full_name,
                 "--commit", "a" * 40])
    err = capsys.readouterr().err
    assert code == UnsafeInputError.exit_code, err
    assert "'../../x.whl', which is not a plain file name" in err
    assert not list(tmp_path.rglob("*.whl")), "nothing was written for the asset"
    assert TOKEN not in err


def test_the_store_lists_no_asset_with_an_unsafe_name(github_api, github_repo):
    """Every asset listing goes through the check, not only `verify`'s downloads."""
    release_id = github_repo.add_release(TAG)
    attach(github_api, github_repo, release_id, "ok.whl")
    def listing() -> list[str]:  # a new store: a store keeps the listing it made
        store = open_github_store(api_url=github_api.api_url, token=TOKEN,
                                  repository=github_repo.full_name)
        with store:
            return [a.name for a in store.list_assets(release_id)]

    assert listing() == ["ok.whl"]
    attach(github_api, github_repo, release_id, "x/../../y.whl")
    with pytest.raises(UnsafeInputError, match=r"x/\.\./\.\./y\.whl"):
        listing()
