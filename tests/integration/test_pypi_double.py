"""The PyPI double (tests/doubles/pypi.py): PyPI's upload rules, messages and read APIs in
front of a real pypiserver, as the other tests rely on them."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import requests

from tests.doubles.pypi import ONE_SDIST, SIMPLE_JSON, TOO_OLD, error_400
from tests.fixtures_index import TEST_TOKEN, build_tiny_dists

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures_index import Dists, PypiServer


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Dists]:
    """The tiny project built once per module: 0.1.0, 0.1.0 with other bytes, and 0.2.0."""
    where = tmp_path_factory.mktemp("dists")
    return {"0.1.0": build_tiny_dists(where), "other": build_tiny_dists(where, content="X = 2\n"),
            "0.2.0": build_tiny_dists(where, version="0.2.0")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def post(server: PypiServer, path: Path, *, filename: str | None = None, name: str = "tiny-pkg",
         version: str = "0.1.0", token: str = TEST_TOKEN) -> requests.Response:
    """One upload with the form fields twine sends."""
    sdist = path.name.endswith(".tar.gz")
    fields = {
        ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
        "name": name, "version": version, "filetype": "sdist" if sdist else "bdist_wheel",
        "pyversion": "source" if sdist else "py3", "sha256_digest": sha256(path),
    }
    return requests.post(
        server.url + "/legacy/", data=fields, auth=("__token__", token), timeout=30,
        files={"content": (filename or path.name, path.read_bytes(), "application/octet-stream")},
    )


def names(server: PypiServer) -> list[str]:
    return sorted(p.name for p in server.packages.rglob("*") if p.is_file())


class TestUploadRules:
    def test_identical_bytes_again_are_a_200_that_stores_nothing(self, pypi_server, built):
        """The same bytes under the same name inside the window: 200, one file, pypiserver
        (which would say 400) never sees the second request."""
        wheel = built["0.1.0"].wheel
        assert post(pypi_server, wheel).status_code == 200
        mtime = (pypi_server.packages / wheel.name).stat().st_mtime_ns
        assert post(pypi_server, wheel).status_code == 200
        assert names(pypi_server) == [wheel.name]
        assert (pypi_server.packages / wheel.name).stat().st_mtime_ns == mtime
        assert len(pypi_server.double.uploads_of(wheel.name)) == 2

    def test_other_bytes_under_a_held_name_are_refused(self, pypi_server, built):
        """PyPI's 400 "File already exists", in the status line."""
        first, other = built["0.1.0"].wheel, built["other"].wheel
        assert first.name == other.name
        post(pypi_server, first).raise_for_status()
        answer = post(pypi_server, other)
        assert answer.status_code == 400
        assert answer.reason.startswith("File already exists. See ")
        assert sha256(pypi_server.packages / first.name) == sha256(first)

    def test_a_deleted_name_can_never_be_used_again(self, pypi_server, built):
        """A file deleted by its owner leaves its name burnt, whatever the bytes."""
        wheel = built["0.1.0"].wheel
        post(pypi_server, wheel).raise_for_status()
        pypi_server.double.delete(wheel.name)
        answer = post(pypi_server, wheel)
        assert answer.status_code == 400
        assert answer.reason.startswith("This filename has already been used, use a different "
                                        "version.")
        assert names(pypi_server) == []

    def test_one_sdist_per_release(self, pypi_server, built, tmp_path):
        """A second sdist under another spelling of the name is refused."""
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        other = tmp_path / "tiny-pkg-0.1.0.tar.gz"
        assert other.name != sdist.name
        shutil.copy(sdist, other)
        answer = post(pypi_server, other)
        assert (answer.status_code, answer.reason) == (400, ONE_SDIST)

    def test_name_and_version_must_match_the_form(self, pypi_server, built):
        """The file name's project and version are the form's."""
        wheel = built["0.1.0"].wheel
        assert post(pypi_server, wheel, name="other-pkg").reason == (
            "Start filename for 'other-pkg' with 'other_pkg'.")
        assert post(pypi_server, wheel, version="0.2.0").reason == (
            "Version in filename should be '0.2.0' not '0.1.0'.")
        assert names(pypi_server) == []

    def test_a_wrong_token_is_403_and_stores_nothing(self, pypi_server, built):
        answer = post(pypi_server, built["0.1.0"].wheel, token="pypi-wrong")
        assert answer.status_code == 403
        assert answer.reason.startswith("Invalid or non-existent authentication information.")
        assert names(pypi_server) == []


class TestFourteenDays:
    def test_a_release_older_than_14_days_takes_no_new_file(self, pypi_server, built):
        """New files for an old release: PyPI's 400, nothing stored."""
        dists = built["0.1.0"]
        post(pypi_server, dists.sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=15)
        answer = post(pypi_server, dists.wheel)
        assert (answer.status_code, answer.reason) == (400, TOO_OLD)
        assert names(pypi_server) == [dists.sdist.name]

    def test_also_not_identical_bytes_again(self, pypi_server, built):
        """The no-op re-upload of a file it holds is a 400 too, once the release is old."""
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=14.01)
        answer = post(pypi_server, sdist)
        assert (answer.status_code, answer.reason) == (400, TOO_OLD)

    def test_inside_the_window_a_new_file_is_taken(self, pypi_server, built):
        dists = built["0.1.0"]
        post(pypi_server, dists.sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=13.9)
        assert post(pypi_server, dists.wheel).status_code == 200
        assert names(pypi_server) == sorted([dists.sdist.name, dists.wheel.name])

    def test_other_releases_are_not_aged(self, pypi_server, built):
        """The window is per release: a new version of an old project is a new release."""
        post(pypi_server, built["0.1.0"].sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=30)
        assert post(pypi_server, built["0.2.0"].sdist,
                    version="0.2.0").status_code == 200

    def test_twine_shows_the_message(self, pypi_server, built):
        """What twine prints carries PyPI's words (the action reads them from there)."""
        dists = built["0.1.0"]
        post(pypi_server, dists.sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=15)
        result = subprocess.run(
            [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
             "--repository-url", pypi_server.url + "/legacy/", dists.wheel],
            capture_output=True, text=True, check=False,
            env={"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": TEST_TOKEN,
                 "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 1
        assert "400 Bad Request" in result.stdout + result.stderr
        assert TOO_OLD in " ".join((result.stdout + result.stderr).split())


class TestReading:
    def test_json_api_lists_the_release_with_digests_and_upload_times(self, pypi_server, built):
        """`/pypi/<p>/<v>/json`: every file with its sha256, size and upload time."""
        dists = built["0.1.0"]
        before = datetime.now(UTC).replace(microsecond=0)
        for path in dists.all:
            post(pypi_server, path).raise_for_status()
        data = requests.get(pypi_server.url + "/pypi/tiny-pkg/0.1.0/json", timeout=10).json()
        assert data["info"]["name"] == "tiny-pkg"
        assert data["info"]["version"] == "0.1.0"
        urls = {u["filename"]: u for u in data["urls"]}
        assert {n: u["digests"]["sha256"] for n, u in urls.items()} == {
            p.name: sha256(p) for p in dists.all}
        assert urls[dists.sdist.name]["packagetype"] == "sdist"
        assert urls[dists.wheel.name]["packagetype"] == "bdist_wheel"
        assert urls[dists.wheel.name]["size"] == dists.wheel.stat().st_size
        uploaded = datetime.fromisoformat(urls[dists.sdist.name]["upload_time_iso_8601"])
        assert before <= uploaded <= datetime.now(UTC)

    def test_json_api_upload_times_follow_the_age(self, pypi_server, built):
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=20)
        data = requests.get(pypi_server.url + "/pypi/tiny-pkg/0.1.0/json", timeout=10).json()
        uploaded = datetime.fromisoformat(data["urls"][0]["upload_time_iso_8601"])
        assert timedelta(days=19.99) < datetime.now(UTC) - uploaded < timedelta(days=20.01)

    def test_json_api_404_for_an_unknown_release(self, pypi_server, built):
        post(pypi_server, built["0.1.0"].sdist).raise_for_status()
        for path in ("/pypi/tiny-pkg/9.9/json", "/pypi/no-such/0.1.0/json", "/pypi/no-such/json"):
            assert requests.get(pypi_server.url + path, timeout=10).status_code == 404

    def test_project_json_lists_every_release(self, pypi_server, built):
        post(pypi_server, built["0.1.0"].sdist).raise_for_status()
        post(pypi_server, built["0.2.0"].sdist, version="0.2.0").raise_for_status()
        data = requests.get(pypi_server.url + "/pypi/tiny-pkg/json", timeout=10).json()
        assert sorted(data["releases"]) == ["0.1.0", "0.2.0"]
        assert data["info"]["version"] == "0.2.0"

    def test_pep_691_page_has_pep_700_upload_times(self, pypi_server, built):
        """The JSON simple page (API 1.1): versions, sizes, sha256 and upload-time."""
        dists = built["0.1.0"]
        post(pypi_server, dists.sdist).raise_for_status()
        pypi_server.age("tiny-pkg", "0.1.0", days=3)
        answer = requests.get(pypi_server.url + "/simple/Tiny_Pkg/", timeout=10,
                              headers={"Accept": f"{SIMPLE_JSON}, text/html;q=0.1"})
        assert answer.headers["Content-Type"] == SIMPLE_JSON
        page = answer.json()
        assert page["meta"]["api-version"] == "1.1"
        assert page["versions"] == ["0.1.0"]
        (entry,) = page["files"]
        assert entry["hashes"] == {"sha256": sha256(dists.sdist)}
        assert entry["size"] == dists.sdist.stat().st_size
        assert entry["upload-time"].endswith("Z")
        uploaded = datetime.fromisoformat(entry["upload-time"])
        assert timedelta(days=2.99) < datetime.now(UTC) - uploaded < timedelta(days=3.01)

    def test_html_is_still_served_to_who_asks_for_it(self, pypi_server, built):
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        answer = requests.get(pypi_server.url + "/simple/tiny-pkg/", timeout=10,
                              headers={"Accept": "text/html"})
        assert answer.headers["Content-Type"].startswith("text/html")
        assert f"{sdist.name}#sha256={sha256(sdist)}" in answer.text
        by_query = requests.get(pypi_server.url + "/simple/tiny-pkg/", timeout=10,
                                params={"format": SIMPLE_JSON})
        assert by_query.json()["files"][0]["filename"] == sdist.name

    def test_files_are_downloaded_through_the_double(self, pypi_server, built):
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        page = requests.get(pypi_server.url + "/simple/tiny-pkg/", timeout=10,
                            headers={"Accept": SIMPLE_JSON}).json()
        url = page["files"][0]["url"]
        assert url.startswith(pypi_server.url)
        assert hashlib.sha256(requests.get(url, timeout=10).content).hexdigest() == sha256(sdist)


class TestExtending:
    def test_an_upload_check_refuses_after_pypis_own(self, pypi_server, built):
        """Checks added by other tests run after PyPI's and can refuse with their message."""
        seen = []

        def refuse(_double, upload):
            seen.append(upload.filename)
            return error_400("Invalid attestations supplied during upload: none.")

        pypi_server.double.upload_checks.append(refuse)
        wheel = built["0.1.0"].wheel
        answer = post(pypi_server, wheel, name="other-pkg")
        assert answer.reason.startswith("Start filename")  # PyPI's own check came first
        answer = post(pypi_server, wheel)
        assert answer.reason == "Invalid attestations supplied during upload: none."
        assert seen == [wheel.name]
        assert names(pypi_server) == []

    def test_after_upload_sees_the_form_and_the_stored_file(self, pypi_server, built):
        stored = []
        pypi_server.double.after_upload.append(
            lambda _double, upload, file: stored.append((upload.field("filetype"), file.sha256)))
        sdist = built["0.1.0"].sdist
        post(pypi_server, sdist).raise_for_status()
        assert stored == [("sdist", sha256(sdist))]

    def test_reset_forgets_extensions_and_used_names(self, pypi_server, built):
        """Each test starts with an index like new (the fixture resets it)."""
        wheel = built["0.1.0"].wheel
        post(pypi_server, wheel).raise_for_status()
        pypi_server.double.delete(wheel.name)
        pypi_server.double.upload_checks.append(lambda *_: pytest.fail("not reset"))
        pypi_server.clean()
        assert post(pypi_server, wheel).status_code == 200
