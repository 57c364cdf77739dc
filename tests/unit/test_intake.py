"""Take-in checks of a dist from the dist directory (action/intake.py), on hand-made files."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from typing import TYPE_CHECKING

import pytest

from action.config import from_env, parse_size
from action.errors import ConfigError, FileTooLargeError, ForeignDistError, UnsafeInputError
from action.intake import check_dist, check_entry

if TYPE_CHECKING:
    from pathlib import Path

PROJECT, VERSION = "tiny-release", "1.0.0"
WHEEL = "tiny_release-1.0.0-py3-none-any.whl"
SDIST = "tiny_release-1.0.0.tar.gz"
LIMIT = 10 * 2**20


def metadata(name: str = PROJECT, version: str = VERSION) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA tiny project\n".encode()


def make_wheel(folder: Path, filename: str = WHEEL, *, name: str = PROJECT,
               version: str = VERSION, tags: tuple[str, ...] = ("py3-none-any",),
               extra: dict[str, bytes] | None = None, symlink: str | None = None) -> Path:
    """A wheel as a backend writes one; `extra` members, `symlink` a member that is a link."""
    path = folder / filename
    info = "-".join(filename.split("-")[:2]) + ".dist-info"
    wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n" + "".join(
        f"Tag: {t}\n" for t in tags)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tiny_release/__init__.py", b"X = 1\n")
        archive.writestr(f"{info}/METADATA", metadata(name, version))
        archive.writestr(f"{info}/WHEEL", wheel)
        for member, data in (extra or {}).items():
            archive.writestr(member, data)
        if symlink:
            link = zipfile.ZipInfo(symlink)
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(link, b"/etc/passwd")
    return path


def make_sdist(folder: Path, filename: str = SDIST, *, name: str = PROJECT,
               version: str = VERSION, member: tarfile.TarInfo | None = None) -> Path:
    path = folder / filename
    top = filename.removesuffix(".tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        for member_name, data in ((f"{top}/PKG-INFO", metadata(name, version)),
                                  (f"{top}/tiny_release/__init__.py", b"X = 1\n")):
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if member is not None:
            archive.addfile(member, io.BytesIO(b"x" * member.size) if member.size else None)
    return path


def check(path: Path, project: str | None = PROJECT) -> None:
    check_dist(path, project=project, version=VERSION, max_size=LIMIT)


def test_the_releases_own_files_pass(tmp_path):
    """A wheel and an sdist of the project at the version: taken in, their project named."""
    for path in (make_wheel(tmp_path), make_sdist(tmp_path)):
        facts = check_dist(path, project="Tiny_Release", version="v1.0.0".lstrip("v"),
                           max_size=LIMIT)
        assert (facts.project, str(facts.version)) == (PROJECT, VERSION)
    # A project not known yet: the file's own name is taken, and returned for the next file.
    assert check_dist(make_wheel(tmp_path), project=None, version=VERSION,
                      max_size=LIMIT).project == PROJECT


def test_a_wheel_of_another_project_is_refused(tmp_path):
    path = make_wheel(tmp_path, "requests-1.0.0-py3-none-any.whl", name="requests")
    with pytest.raises(ForeignDistError) as caught:
        check(path)
    assert caught.value.message == ("requests-1.0.0-py3-none-any.whl is a file of the project "
                                    "'requests', not of 'tiny-release' (this release's)")
    assert "Remove the file from the dist directory" in caught.value.hint
    assert caught.value.exit_code == 19


def test_a_wheel_of_another_version_is_refused(tmp_path):
    path = make_wheel(tmp_path, "tiny_release-0.9-py3-none-any.whl", version="0.9")
    with pytest.raises(ForeignDistError, match=r"has version 0\.9, but this release is 1\.0\.0"):
        check(path)


@pytest.mark.parametrize(("name", "version", "said"), [
    ("requests", VERSION, "its metadata names the project 'requests'"),
    (PROJECT, "2.0.0", "its metadata says version '2.0.0'"),
])
def test_metadata_that_disagrees_with_the_file_name_is_refused(tmp_path, name, version, said):
    """The file was renamed after it was built (a wheel and an sdist alike)."""
    for path in (make_wheel(tmp_path, name=name, version=version),
                 make_sdist(tmp_path, name=name, version=version)):
        with pytest.raises(ForeignDistError) as caught:
            check(path)
        assert caught.value.message.startswith(f"{path.name}: {said}")
        assert "renamed after it was built" in caught.value.hint


def test_wheel_tags_that_disagree_with_the_name_are_refused(tmp_path):
    """A linux wheel renamed to look pure: the WHEEL file still says what it was built for."""
    path = make_wheel(tmp_path, tags=("cp312-cp312-manylinux_2_17_x86_64",))
    with pytest.raises(ForeignDistError) as caught:
        check(path)
    assert caught.value.message == (
        f"{WHEEL}: its WHEEL file lists the tags cp312-cp312-manylinux_2_17_x86_64, but its "
        "name says py3-none-any")
    # Tags in another order, compressed in the name: the same set passes.
    both = make_wheel(tmp_path, "tiny_release-1.0.0-py2.py3-none-any.whl",
                      tags=("py3-none-any", "py2-none-any"))
    check(both)


def test_a_wheel_without_its_dist_info_is_refused(tmp_path):
    path = tmp_path / WHEEL
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other-1.0.dist-info/METADATA", metadata())
    with pytest.raises(ForeignDistError, match=r"has no tiny_release-1.0.0.dist-info/METADATA"):
        check(path)


@pytest.mark.parametrize(("member", "problem"), [
    ("/etc/cron.d/x", "an absolute path"),
    ("tiny_release/../../../x.py", "a path with `..`"),
    ("C:/Windows/x.dll", "an absolute path"),
    ("tiny_release/x\n.py", "a name with control characters"),
])
def test_wheel_members_that_escape_are_refused(tmp_path, member, problem):
    path = make_wheel(tmp_path, extra={member: b"x"})
    with pytest.raises(UnsafeInputError) as caught:
        check(path)
    assert caught.value.message.startswith(f"{WHEEL} has an archive member {member!r} that "
                                           f"is {problem}")


def test_a_symlink_member_of_a_wheel_is_refused(tmp_path):
    path = make_wheel(tmp_path, symlink="tiny_release/passwd")
    with pytest.raises(UnsafeInputError, match="'tiny_release/passwd' that is a symlink"):
        check(path)


def _member(name: str, kind: bytes, *, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, size
    return info


@pytest.mark.parametrize(("member", "problem"), [
    (_member("tiny_release-1.0.0/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"), "a symlink"),
    (_member("tiny_release-1.0.0/hard", tarfile.LNKTYPE, linkname="/etc/passwd"), "a hardlink"),
    (_member("tiny_release-1.0.0/dev", tarfile.CHRTYPE), "a device or fifo"),
    (_member("tiny_release-1.0.0/pipe", tarfile.FIFOTYPE), "a device or fifo"),
    (_member("/usr/lib/x", tarfile.REGTYPE, size=1), "an absolute path"),
    (_member("tiny_release-1.0.0/../../x", tarfile.REGTYPE, size=1), "a path with `..`"),
])
def test_sdist_members_that_escape_or_link_are_refused(tmp_path, member, problem):
    path = make_sdist(tmp_path, member=member)
    with pytest.raises(UnsafeInputError) as caught:
        check(path)
    assert f"archive member {member.name!r} that is {problem}" in caught.value.message


def test_damaged_files_are_refused_with_their_name(tmp_path):
    for name in (WHEEL, SDIST):
        path = tmp_path / name
        path.write_bytes(b"not an archive")
        with pytest.raises(ForeignDistError, match=f"{name} cannot be read as a dist"):
            check(path)


@pytest.mark.parametrize("name", [
    "tiny_release-1.0.0-py3-none-any%0A::warning::X.whl",
    "tiny_release-1.0.0-py3-none-any\n::warning::X.whl",
    "tiny_release-1.0.0\r.tar.gz",
])
def test_names_with_percent_or_line_breaks_are_refused_before_reading(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(UnsafeInputError) as caught:
        check_entry(path, max_size=LIMIT)
    assert "never has `%`, a line break or another control character" in caught.value.message


def test_a_symlink_fifo_directory_or_hardlink_is_refused(tmp_path):
    (tmp_path / "outside").mkdir()
    outside = make_wheel(tmp_path / "outside")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / WHEEL).symlink_to(outside)
    with pytest.raises(UnsafeInputError) as caught:
        check_entry(dist / WHEEL, max_size=LIMIT)
    assert caught.value.message == (f"{WHEEL} in the dist directory is a symlink pointing to "
                                    f"{str(outside)!r}, not a regular file: a release takes in "
                                    "only files that were copied there")
    (dist / WHEEL).unlink()
    os.mkfifo(dist / SDIST)
    with pytest.raises(UnsafeInputError, match="is a fifo, not a regular file"):
        check_entry(dist / SDIST, max_size=LIMIT)  # refused without opening (it would block)
    (dist / SDIST).unlink()
    (dist / SDIST).mkdir()
    with pytest.raises(UnsafeInputError, match="is a directory, not a regular file"):
        check_entry(dist / SDIST, max_size=LIMIT)
    (dist / SDIST).rmdir()
    (dist / WHEEL).hardlink_to(outside)
    with pytest.raises(UnsafeInputError, match=r"is a hardlink \(2 names share its bytes"):
        check_entry(dist / WHEEL, max_size=LIMIT)


def test_a_file_over_the_size_limit_is_refused_with_the_input_to_raise(tmp_path):
    path = make_wheel(tmp_path, extra={"tiny_release/data.bin": os.urandom(3 * 2**20)})
    check_dist(path, project=PROJECT, version=VERSION, max_size=4 * 2**20)
    with pytest.raises(FileTooLargeError) as caught:
        check_dist(path, project=PROJECT, version=VERSION, max_size=2 * 2**20)
    assert caught.value.message.startswith(f"{WHEEL} is 3.0 MiB, over the `max-dist-size` "
                                           "limit of 2.0 MiB")
    assert "raise the action's `max-dist-size` input" in caught.value.hint
    assert caught.value.exit_code == 20


@pytest.mark.parametrize(("text", "size"), [
    ("100MiB", 100 * 2**20), ("2GB", 2 * 10**9), ("1.5 GiB", int(1.5 * 2**30)),
    ("500k", 500_000), ("1234", 1234), ("7b", 7),
])
def test_sizes_are_read_with_their_units(text, size):
    assert parse_size("max-dist-size", text) == size


@pytest.mark.parametrize("text", ["", "big", "-1MB", "0", "10 parsecs", "1e9"])
def test_a_size_that_is_not_one_is_a_config_error(text):
    with pytest.raises(ConfigError, match="input `max-dist-size` must be a size"):
        parse_size("max-dist-size", text)


def test_the_input_reaches_the_config():
    env = {"GITHUB_REPOSITORY": "octo/tiny", "GITHUB_REF": "refs/tags/v1.0.0"}
    assert from_env(env).max_dist_size == 100 * 2**20
    assert from_env({**env, "INPUT_MAX-DIST-SIZE": "2GiB"}).max_dist_size == 2 * 2**30


def test_files_of_several_projects_are_refused_when_the_project_is_not_known():
    from action.intake import one_project

    assert one_project([WHEEL, SDIST]) == PROJECT
    assert one_project([]) is None
    with pytest.raises(ForeignDistError) as caught:
        one_project([WHEEL, "requests-1.0.0-py3-none-any.whl"])
    assert caught.value.message.startswith(
        "the dist directory holds files of several projects (requests, tiny-release)")
