"""action.builders without Docker or subprocesses: versions, identifiers, records, archives."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from action.builders.checks import check_dist, check_version
from action.builders.docker_engine import ImageRecord, check_docker
from action.builders.failures import _named_in, read_failure
from action.builders.identifiers import (
    compare_identifiers,
    identifier_platform,
    wheel_matches_identifier,
)
from action.builders.outputs import BuildOutput
from action.builders.sdist import normalise_sdist, unpack_sdist
from action.builders.wheels import _selections
from action.errors import BuildError, ConfigError, DockerUnavailableError
from tests.many_dists import write_wheel

EPOCH = 1700000000
WHEEL = "sample_cext-1.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


class TestCheckVersion:
    @pytest.mark.parametrize(
        ("filename", "tag"),
        [
            ("sample_cext-1.0.0.tar.gz", "v1.0.0"),
            ("sample_cext-1.0.0.tar.gz", "1.0.0"),
            (WHEEL, "v1.0.0"),
            ("sample_cext-1.0.0rc1.tar.gz", "v1.0.0-rc.1"),
            ("sample_cext-1.0.0rc1-py3-none-any.whl", "1.0.0.RC1"),
            ("sample_cext-2.0.0.post1.tar.gz", "v2.0.0-post1"),
        ],
    )
    def test_same_version_passes(self, filename: str, tag: str):
        """A file whose version is the tag's, after PEP 440 normalisation, passes."""
        check_version(filename, tag)

    def test_other_version_is_refused_naming_both(self):
        """1.0.1 under tag v1.0.0 is refused; the message names file, its version and the tag."""
        with pytest.raises(BuildError) as caught:
            check_version("sample_cext-1.0.1.tar.gz", "v1.0.0")
        assert caught.value.message == (
            "sample_cext-1.0.1.tar.gz has version 1.0.1, but the tag v1.0.0 says 1.0.0"
        )

    def test_prerelease_is_not_the_release(self):
        """1.0.0rc1 is not 1.0.0."""
        with pytest.raises(BuildError, match=r"has version 1\.0\.0rc1"):
            check_version(WHEEL.replace("1.0.0", "1.0.0rc1"), "v1.0.0")

    def test_shorter_release_segment_is_refused(self):
        """1.0 and 1.0.0 compare equal in PEP 440 but are different names: refused."""
        with pytest.raises(BuildError):
            check_version("sample_cext-1.0.tar.gz", "v1.0.0")

    def test_tag_that_is_no_version_is_a_config_error(self):
        """A tag like release-1 is not a version."""
        with pytest.raises(ConfigError, match="not a version"):
            check_version("sample_cext-1.0.0.tar.gz", "release-1")

    def test_file_that_is_no_dist_is_refused(self):
        """A name that is neither wheel nor sdist is refused."""
        with pytest.raises(BuildError, match="not a wheel or sdist"):
            check_version("notes.txt", "v1.0.0")


class TestCheckDist:
    def test_a_valid_wheel_passes(self, tmp_path):
        """A wheel with a Markdown description and its content type passes, in-process."""
        wheel = write_wheel(tmp_path, "p", "1.0", "cp311-cp311-linux_x86_64", 16)
        check_dist(wheel, "v1.0")

    def test_a_missing_content_type_fails_strict(self, tmp_path):
        """As `twine check --strict`: the missing content type is a warning, so a refusal."""
        meta = b"Metadata-Version: 2.1\nName: p\nVersion: 1.0\n\nSome text.\n"
        wheel = write_wheel(tmp_path, "p", "1.0", "cp311-cp311-linux_x86_64", 16, meta=meta)
        with pytest.raises(BuildError) as caught:
            check_dist(wheel, "v1.0")
        assert caught.value.message.startswith(f"twine check --strict refused {wheel.name}")
        assert "`long_description_content_type` missing" in caught.value.message

    def test_broken_restructuredtext_is_refused(self, tmp_path):
        """A reStructuredText description that would not render on PyPI is refused."""
        meta = (b"Metadata-Version: 2.1\nName: p\nVersion: 1.0\n"
                b"Description-Content-Type: text/x-rst\n\nTitle\n===\n\n:bad:`x\n")
        wheel = write_wheel(tmp_path, "p", "1.0", "cp311-cp311-linux_x86_64", 16, meta=meta)
        with pytest.raises(BuildError, match="syntax errors in markup"):
            check_dist(wheel, "v1.0")

    def test_a_file_twine_cannot_read_is_refused(self, tmp_path):
        """Not a zip at all: twine's own words, as a BuildError naming the file."""
        broken = tmp_path / "p-1.0-py3-none-any.whl"
        broken.write_bytes(b"not a zip")
        with pytest.raises(BuildError, match=f"twine cannot read {broken.name}"):
            check_dist(broken, "v1.0")

    def test_version_is_checked_before_twine(self):
        """A wrong version is reported without reading the file."""
        with pytest.raises(BuildError, match=r"has version 1\.0\.0,"):
            check_dist(Path(WHEEL), "v2.0.0")


class TestIdentifierMatching:
    @pytest.mark.parametrize(
        ("filename", "identifier"),
        [
            (WHEEL, "cp311-manylinux_x86_64"),
            ("p-1.0-cp311-cp311-manylinux1_x86_64.manylinux_2_5_x86_64.whl",
             "cp311-manylinux_x86_64"),
            ("p-1.0-cp314-cp314-manylinux_2_28_aarch64.whl", "cp314-manylinux_aarch64"),
            ("p-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl", "cp313t-manylinux_x86_64"),
            ("p-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "cp312-musllinux_x86_64"),
            ("p-1.0-cp312-cp312-macosx_11_0_arm64.whl", "cp312-macosx_arm64"),
            ("p-1.0-cp312-cp312-macosx_10_13_universal2.whl", "cp312-macosx_universal2"),
            ("p-1.0-cp312-cp312-win_amd64.whl", "cp312-win_amd64"),
            ("p-1.0-cp312-cp312-win32.whl", "cp312-win32"),
            ("p-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", "pp310-manylinux_x86_64"),
            ("p-1.0-cp39-abi3-manylinux_2_17_x86_64.whl", "cp312-manylinux_x86_64"),
            ("p-1.0-cp312-cp312-pyodide_2024_0_wasm32.whl", "cp312-pyodide_wasm32"),
            ("p-1.0-cp313-cp313-android_24_arm64_v8a.whl", "cp313-android_arm64_v8a"),
            ("p-1.0-cp313-cp313-ios_13_0_arm64_iphoneos.whl", "cp313-ios_arm64_iphoneos"),
            ("p-1.0-py3-none-manylinux_2_17_x86_64.whl", "cp311-manylinux_x86_64"),
        ],
    )
    def test_matches(self, filename: str, identifier: str):
        """The wheel is what cibuildwheel builds for the identifier."""
        assert wheel_matches_identifier(filename, identifier)

    @pytest.mark.parametrize(
        ("filename", "identifier"),
        [
            (WHEEL, "cp312-manylinux_x86_64"),
            (WHEEL, "cp311-manylinux_aarch64"),
            (WHEEL, "cp311-musllinux_x86_64"),
            (WHEEL, "cp311t-manylinux_x86_64"),
            ("p-1.0-cp313-cp313t-manylinux_2_17_x86_64.whl", "cp313-manylinux_x86_64"),
            ("p-1.0-cp311-cp311-linux_x86_64.whl", "cp311-manylinux_x86_64"),
            ("p-1.0-cp312-abi3-manylinux_2_17_x86_64.whl", "cp311-manylinux_x86_64"),
            ("p-1.0-cp312-cp312-win32.whl", "cp312-win_amd64"),
            ("p-1.0-cp312-cp312-macosx_11_0_arm64.whl", "cp312-macosx_universal2"),
            ("p-1.0-py3-none-any.whl", "cp311-manylinux_x86_64"),
            ("sample_cext-1.0.0.tar.gz", "cp311-manylinux_x86_64"),
            (WHEEL, "not-an-identifier"),
        ],
    )
    def test_does_not_match(self, filename: str, identifier: str):
        """Another Python, ABI, platform or architecture does not match."""
        assert not wheel_matches_identifier(filename, identifier)


class TestCompleteness:
    def test_exact_set_is_complete(self):
        """One wheel per expected identifier: nothing missing, nothing unexpected."""
        result = compare_identifiers(["cp311-manylinux_x86_64"], [WHEEL])
        assert result.ok
        result.check()

    def test_missing_and_unexpected_are_both_listed(self):
        """An identifier without a wheel and a wheel without an identifier are both named."""
        result = compare_identifiers(
            ["cp311-manylinux_x86_64", "cp312-manylinux_x86_64"],
            [WHEEL, "p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"],
        )
        assert result.missing == ("cp312-manylinux_x86_64",)
        assert result.unexpected == ("p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",)
        with pytest.raises(BuildError) as caught:
            result.check()
        assert "missing wheel for cp312-manylinux_x86_64" in caught.value.message
        assert "unexpected wheel p-1.0-cp311-cp311-musllinux_1_2_x86_64.whl" in caught.value.message

    def test_one_abi3_wheel_covers_later_pythons(self):
        """cibuildwheel reuses an abi3 wheel for later identifiers; that is complete."""
        result = compare_identifiers(
            ["cp311-manylinux_x86_64", "cp312-manylinux_x86_64"],
            ["p-1.0-cp311-abi3-manylinux_2_17_x86_64.whl"],
        )
        assert result.ok


class TestSelections:
    def test_platform_run_without_only(self):
        """No `only`: one run for the platform."""
        assert _selections("linux", ()) == [["--platform", "linux"]]

    def test_one_run_per_only_identifier(self):
        """`--only` takes one identifier and no --platform: one run each, duplicates dropped."""
        only = ["cp314-manylinux_x86_64", "cp314-manylinux_x86_64", "cp313-manylinux_x86_64"]
        runs = _selections("linux", only)
        assert runs == [["--only", "cp314-manylinux_x86_64"], ["--only", "cp313-manylinux_x86_64"]]

    def test_identifier_of_another_platform_is_refused(self):
        """A macOS identifier in a Linux lane is a configuration error."""
        with pytest.raises(ConfigError, match="does not build on linux"):
            _selections("linux", ["cp312-macosx_arm64"])

    @pytest.mark.parametrize(
        ("identifier", "platform"),
        [("cp311-manylinux_x86_64", "linux"), ("cp312-musllinux_aarch64", "linux"),
         ("cp312-macosx_arm64", "macos"), ("cp312-win32", "windows"),
         ("cp313-ios_arm64_iphoneos", "ios"), ("cp312-pyodide_wasm32", "pyodide")],
    )
    def test_identifier_platform(self, identifier: str, platform: str):
        """Each identifier family maps to its cibuildwheel platform."""
        assert identifier_platform(identifier) == platform


class TestBuildOutput:
    def _output(self, **overrides: Any) -> BuildOutput:
        fields: dict[str, Any] = {
            "part": "linux",
            "files": (Path("/dist") / WHEEL,),
            "tools": {"cibuildwheel": "4.3.5"},
            "source_date_epoch": EPOCH,
            "images": (ImageRecord(name="local/manylinux-like:1", image_id="sha256:" + "a" * 64),),
            "identifiers": ("cp311-manylinux_x86_64",),
        }
        return BuildOutput(**(fields | overrides))

    def test_json_round_trip(self):
        """to_json and from_json give back the same record."""
        output = self._output()
        assert BuildOutput.from_json(output.to_json()) == output

    def test_no_files_is_refused(self):
        """A build that made nothing is not a build output."""
        with pytest.raises(BuildError, match="no files"):
            self._output(files=())

    def test_sdist_part_holds_only_sdists(self):
        """A wheel in the sdist part is refused."""
        with pytest.raises(BuildError, match=r"expected only \.tar\.gz"):
            self._output(part="sdist")

    def test_epoch_before_1980_is_refused(self):
        """Zip files cannot hold dates before 1980."""
        with pytest.raises(BuildError, match="before 1980"):
            self._output(source_date_epoch=0)

    def test_malformed_json_is_a_build_error(self):
        """A record missing a field is refused with a BuildError."""
        with pytest.raises(BuildError, match="malformed build record"):
            BuildOutput.from_json({"part": "linux"})

    def test_completeness_of_the_recorded_wheels(self):
        """The record compares its own identifiers with its own files."""
        assert self._output().completeness().ok
        assert self._output(identifiers=("cp312-manylinux_x86_64",)).completeness().missing


class TestImageRecord:
    def test_local_image_digest_is_its_id(self):
        """Without a registry digest, the image id pins the image."""
        record = ImageRecord(name="local/manylinux-like:1", image_id="sha256:" + "b" * 64)
        assert record.digest == "sha256:" + "b" * 64

    def test_registry_digest_of_the_same_repository_wins(self):
        """A pulled image is pinned by its repository's digest."""
        record = ImageRecord(
            name="quay.io/pypa/manylinux_2_28_x86_64:2025.01.01-1",
            image_id="sha256:" + "c" * 64,
            repo_digests=("other/repo@sha256:" + "d" * 64,
                          "quay.io/pypa/manylinux_2_28_x86_64@sha256:" + "e" * 64),
        )
        assert record.digest == "quay.io/pypa/manylinux_2_28_x86_64@sha256:" + "e" * 64

    def test_id_must_be_a_digest(self):
        """An image id that is not sha256:... is refused."""
        with pytest.raises(BuildError):
            ImageRecord(name="x", image_id="latest")


class TestCheckDockerWithoutEngine:
    def test_unreachable_client_is_explained(self):
        """A client that cannot connect gives DockerUnavailableError with the fix."""

        class DeadClient:
            def ping(self) -> None:
                raise OSError("connection refused")

            def close(self) -> None:
                pass

        with pytest.raises(DockerUnavailableError) as caught:
            check_docker({"DOCKER_HOST": "unix:///nowhere.sock"}, client_factory=DeadClient)
        assert "unix:///nowhere.sock does not answer: connection refused" in caught.value.message
        assert "DOCKER_HOST" in caught.value.hint
        assert "/var/run/docker.sock" in caught.value.hint


def _tar_gz(path: Path, entries: list[tuple[str, bytes, int]], *, uname: str) -> None:
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as gz, tarfile.open(
        fileobj=gz, mode="w"
    ) as archive:
        for name, data, mtime in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname, info.mode = len(data), mtime, uname, 0o664
            archive.addfile(info, io.BytesIO(data))


class TestNormaliseSdist:
    def test_entries_sorted_and_metadata_normalised(self, tmp_path: Path):
        """Names sorted; every mtime the epoch; owners and modes normalised; data kept."""
        entries = [("p-1.0/a.py", b"x=1\n", EPOCH + 99), ("p-1.0/PKG-INFO", b"Name: p\n", EPOCH)]
        sdist = tmp_path / "p-1.0.tar.gz"
        _tar_gz(sdist, entries, uname="bob")
        normalise_sdist(sdist, EPOCH)
        with tarfile.open(sdist) as archive:
            infos = archive.getmembers()
            assert [i.name for i in infos] == ["p-1.0/PKG-INFO", "p-1.0/a.py"]
            assert {(i.mtime, i.uname, i.uid, i.mode) for i in infos} == {(EPOCH, "", 0, 0o644)}
            assert archive.extractfile("p-1.0/a.py").read() == b"x=1\n"  # type: ignore[union-attr]

    def test_older_file_dates_become_the_epoch_too(self, tmp_path: Path):
        """A file dated before the commit (an old checkout, a copy keeping dates) is the epoch,
        not its own date: the bytes depend on the commit only."""
        sdist = tmp_path / "p-1.0.tar.gz"
        _tar_gz(sdist, [("p-1.0/a.py", b"x=1\n", EPOCH - 86400 * 365)], uname="bob")
        normalise_sdist(sdist, EPOCH)
        with tarfile.open(sdist) as archive:
            assert [i.mtime for i in archive.getmembers()] == [EPOCH]

    def test_same_files_built_at_other_times_agree(self, tmp_path: Path):
        """Two archives of the same files, other times, owners and gzip headers: same bytes."""
        entries = [("p-1.0/a.py", b"x=1\n", EPOCH + 10)]
        first, second = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz"
        _tar_gz(first, entries, uname="alice")
        _tar_gz(second, [(n, d, EPOCH + 999) for n, d, _ in entries], uname="root")
        for path in (first, second):
            normalise_sdist(path, EPOCH)
        assert first.read_bytes() == second.read_bytes()


# What cibuildwheel 4.3.5 printed for a build from an sdist that lacks a header (trimmed from
# the docker tier's real run: tests/docker/test_builders.py builds the same project).
FAILED_STDOUT = """\
\x1b[1m\x1b[34mBuilding cp311-manylinux_x86_64 wheel\x1b[0m
CPython 3.11 manylinux x86_64

Building wheel...
    + python -m build /project --wheel --outdir=/tmp/cibuildwheel/built_wheel
running build_ext
x86_64-linux-gnu-gcc -Wall -Werror=format-security -fPIC -c src/sample_cext/_speedups.c -o x.o
                                                                       \u2715 3.75s
"""
FAILED_STDERR = """\
* Building wheel...
src/sample_cext/_speedups.c:5:10: fatal error: fnv_constants.h: No such file or directory
    5 | #include "fnv_constants.h"
      |          ^~~~~~~~~~~~~~~~~
compilation terminated.
error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1
TIP pass --env-dir and --sdist-extract-dir to keep the build environment and sources
ERROR Backend subprocess exited when trying to invoke build_wheel
cibuildwheel: error: Command ['python', '-m', 'build', PurePosixPath('/project'), '--wheel', \
'--outdir=/tmp/cibuildwheel/built_wheel'] failed with code 1.
"""


class TestReadFailure:
    def test_the_build_and_the_specific_error_line(self):
        """The failing build identifier and the compiler's line, not the wrappers after it."""
        failure = read_failure(FAILED_STDOUT, FAILED_STDERR)
        assert failure.identifier == "cp311-manylinux_x86_64"
        assert failure.error_line == ("src/sample_cext/_speedups.c:5:10: fatal error: "
                                      "fnv_constants.h: No such file or directory")

    def test_only_names_the_identifier(self):
        """A `--only` run names its identifier even if the output has no Building line."""
        failure = read_failure("", FAILED_STDERR, identifier="cp314-manylinux_x86_64")
        assert failure.identifier == "cp314-manylinux_x86_64"

    def test_without_a_specific_line_cibuildwheel_s_own_message(self):
        """Nothing but cibuildwheel's error: its message, without the `cibuildwheel:` prefix."""
        failure = read_failure("", "cibuildwheel: error: No build identifiers selected: x\n")
        assert failure.identifier == ""
        assert failure.error_line == "No build identifiers selected: x"

    def test_a_long_line_is_clipped(self):
        """The summary stays one readable line."""
        failure = read_failure("", "ValueError: " + "x" * 1000 + "\n")
        assert len(failure.error_line) == 300
        assert failure.error_line.endswith("...")

    def test_a_missing_file_is_named_by_path_or_file_name(self):
        """The sdist's missing files an error line names, by file name too; not others."""
        failure = read_failure(FAILED_STDOUT, FAILED_STDERR)
        missing = ["src/sample_cext/fnv_constants.h", "docs/index.md", "tests/test_x.py"]
        assert _named_in(missing, failure.error_lines) == ["src/sample_cext/fnv_constants.h"]
        assert _named_in(["fnv_constants.hpp"], failure.error_lines) == []


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


class TestUnpackSdist:
    def test_files_and_folders_under_one_top_directory(self, tmp_path: Path):
        """An sdist unpacks to its top folder, with its files' bytes and executable bits."""
        script = tarfile.TarInfo("p-1.0/bin/run")
        script.mode = 0o755
        sdist = _tar(tmp_path / "p-1.0.tar.gz", [(tarfile.TarInfo("p-1.0/PKG-INFO"), b"meta"),
                                                 (script, b"#!/bin/sh\n")])
        (tmp_path / "out").mkdir()
        top = unpack_sdist(sdist, tmp_path / "out")
        assert top.name == "p-1.0"
        assert (top / "PKG-INFO").read_bytes() == b"meta"
        assert (top / "bin" / "run").stat().st_mode & 0o777 == 0o755

    @pytest.mark.parametrize(("name", "kind", "says"), [
        ("p-1.0/../../escape", tarfile.REGTYPE, "a path outside its folder"),
        ("/etc/passwd-ish", tarfile.REGTYPE, "a path outside its folder"),
        ("p-1.0/link", tarfile.SYMTYPE, "not a regular file"),
    ])
    def test_paths_out_and_links_are_refused(self, tmp_path: Path, name, kind, says):
        """A member that would leave the folder, or a link, is a BuildError; nothing escapes."""
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
        sdist = _tar(tmp_path / "p-1.0.tar.gz", [(info, b"" if kind == tarfile.SYMTYPE else b"x")])
        (tmp_path / "out").mkdir()
        with pytest.raises(BuildError, match=says):
            unpack_sdist(sdist, tmp_path / "out")
        assert not (tmp_path / "escape").exists()
