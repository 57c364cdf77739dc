"""A tiny real project with an in-tree PEP 517 backend (stdlib only, reproducible).

No wheel-building backend is installed in the test environment and tests download nothing,
so the project carries its own. The wheel tag comes from `TINY_WHEEL_TAG` (default
py3-none-any), so a backfill test can build a real cp314 wheel whose WHEEL metadata and
RECORD agree with its name; dates come from SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

BACKEND = textwrap.dedent(
    '''
    """A tiny in-tree PEP 517 backend: one module, stdlib only, reproducible."""
    import base64, gzip, hashlib, io, os, tarfile, zipfile
    from pathlib import Path

    NAME, VERSION = Path("NAME").read_text().split()
    DIST = NAME.replace("-", "_")
    README = Path("README.md").read_text()
    METADATA = (f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n"
                "Summary: A tiny project to release\\n"
                "Description-Content-Type: text/markdown\\n\\n" + README).encode()
    SOURCES = ("NAME", "README.md", "pyproject.toml", "tiny_backend.py", f"{DIST}/__init__.py")

    def _epoch():
        return int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))

    def build_sdist(directory, config_settings=None):
        base = f"{DIST}-{VERSION}"
        files = {"PKG-INFO": METADATA, **{name: Path(name).read_bytes() for name in SOURCES}}
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in sorted(files.items()):
                info = tarfile.TarInfo(f"{base}/{name}")
                info.size, info.mtime, info.mode = len(data), _epoch(), 0o644
                tar.addfile(info, io.BytesIO(data))
        Path(directory, base + ".tar.gz").write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
        return base + ".tar.gz"

    def _record_line(name, data):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{name},sha256={digest},{len(data)}\\n"

    def build_wheel(directory, config_settings=None, metadata_directory=None):
        tag = os.environ.get("TINY_WHEEL_TAG", "py3-none-any")
        pure = "true" if tag.endswith("-none-any") else "false"
        filename = f"{DIST}-{VERSION}-{tag}.whl"
        info = f"{DIST}-{VERSION}.dist-info"
        wheel = f"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: {pure}\\nTag: {tag}\\n"
        files = {f"{DIST}/__init__.py": Path(DIST, "__init__.py").read_bytes(),
                 f"{info}/METADATA": METADATA, f"{info}/WHEEL": wheel.encode()}
        record = "".join(_record_line(n, d) for n, d in files.items()) + f"{info}/RECORD,,\\n"
        files[f"{info}/RECORD"] = record.encode()
        import time
        stamp = time.gmtime(max(_epoch(), 315532800))[:6]
        with zipfile.ZipFile(Path(directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
            for name, data in files.items():
                whl.writestr(zipfile.ZipInfo(name, stamp), data)
        return filename
    '''
)

PYPROJECT = textwrap.dedent(
    """
    [build-system]
    requires = []
    build-backend = "tiny_backend"
    backend-path = ["."]
    """
)



def write_project(project: Path, *, name: str, version: str, content: str = "X = 1\n") -> Path:
    """Write the tiny project `name` at `version` into the directory `project`."""
    module = project / name.replace("-", "_")
    module.mkdir(parents=True)
    (module / "__init__.py").write_text(content)
    (project / "NAME").write_text(f"{name} {version}\n")
    (project / "README.md").write_text(f"# {name}\n\nA tiny project to release.\n")
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "tiny_backend.py").write_text(BACKEND)
    return project
