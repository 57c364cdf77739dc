"""A package index that behaves like PyPI, made of a real pypiserver and a small layer in front.

    double = PyPIDouble(upstream_url, packages_dir, token="t", name="pypi")
    with double:
        twine upload --repository-url {double.upload_url} ...
        double.age("tiny-pkg", "0.1.0", days=15)   # the release is now 15 days old

pypiserver stores the files and serves them (PEP 503 HTML, `/packages/<file>`); this layer adds
what PyPI does and pypiserver does not:

- uploads (POST `/legacy/`, also `/`) are checked as PyPI's upload API checks them, in its order,
  with its 400 messages in the status line: the file name must match the project and version;
  no new file for a release older than 14 days ("Uploading new files to releases older than
  14 days is not allowed.", also for a re-upload of identical bytes); the same bytes under the
  same name again are a 200 that stores nothing; other bytes are "File already exists"; a
  deleted name is "This filename has already been used"; one sdist per release. Only an upload
  that passes reaches pypiserver.
- the JSON API: `/pypi/<project>/json` and `/pypi/<project>/<version>/json`, files with their
  digests (sha256, md5, blake2b_256), size and `upload_time`;
- PEP 691 JSON project pages (`Accept: application/vnd.pypi.simple.v1+json` or
  `?format=`), API version 1.1 with PEP 700's `versions`, `size` and `upload-time`.

A file's upload time is the modification time of the file pypiserver stored: `age()` moves the
times of a release's files back, which is all it takes for the release to be old.

Extending it (PEP 740 attestations, the Integrity API): `routes` take more handlers
(`add_route`), `upload_checks` run after PyPI's own checks and may refuse an upload with a
`Response`, `after_upload` callbacks see every stored upload (its form fields included).
Every request is recorded in `calls`; `uploads_of(filename)` counts the upload attempts of
a file, whatever their outcome.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import html
import os
import re
import shutil
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from tests.doubles.wire import Handler, Request, Response, Server, json_response

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
UPLOAD_PATH = re.compile(r"^/(legacy/)?$")
WINDOW = timedelta(days=14)
TOO_OLD = "Uploading new files to releases older than 14 days is not allowed."
ONE_SDIST = "Only one sdist may be uploaded per release."
BAD_DIGEST = "The digest supplied does not match a digest calculated from the uploaded file."
BAD_AUTH = "Invalid or non-existent authentication information."
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server",
        "date"}


@dataclass(frozen=True, kw_only=True)
class IndexFile:
    """One file the index holds."""

    path: Path
    filename: str
    project: str  # canonical name
    version: Version
    packagetype: str  # "sdist" or "bdist_wheel"
    size: int
    sha256: str
    md5: str
    blake2b_256: str
    upload_time: datetime  # UTC

    @property
    def python_version(self) -> str:
        if self.packagetype == "sdist":
            return "source"
        return self.filename.split("-")[-3]


@dataclass(frozen=True, kw_only=True)
class IndexCall:
    """One request the index received and its answer (`filename`: an upload's file)."""

    method: str
    path: str
    query: str
    status: int
    reason: str = ""
    filename: str = ""


@dataclass(kw_only=True)
class Upload:
    """One upload request, parsed: the form fields and the file."""

    fields: dict[str, list[str]]
    filename: str
    content: bytes
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)  # other file fields

    def field(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0] if values else ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


Route = tuple[str, re.Pattern[str], "Callable[[Request, re.Match[str]], Response]"]


def error_400(message: str, status: int = 400) -> Response:
    """PyPI's way of refusing: the message is the status line's reason phrase and the page."""
    text = html.escape(message)
    page = (f"<html>\n <head>\n  <title>{status} {text}</title>\n </head>\n <body>\n"
            f"  <h1>{status} {text}</h1>\n  {text}<br/><br/>\n\n\n\n </body>\n</html>")
    return Response(status=status, body=page.encode(), reason=message,
                    content_type="text/html; charset=UTF-8")


class PyPIDouble:
    """The layer in front of one pypiserver; see the module docstring."""

    def __init__(self, upstream: str, packages: Path, *, token: str, name: str = "pypi",
                 clock: Callable[[], float] = time.time) -> None:
        self.upstream = upstream.rstrip("/")
        self.packages = packages
        self.token = token
        self.name = name
        self.clock = clock
        self.calls: list[IndexCall] = []
        self.upload_checks: list[Callable[[PyPIDouble, Upload], Response | None]] = []
        self.after_upload: list[Callable[[PyPIDouble, Upload, IndexFile], None]] = []
        self.used_filenames: set[str] = set()
        self.routes: list[Route] = []
        self._lock = threading.RLock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._digests: dict[tuple[str, int, int], tuple[str, str, str]] = {}
        self._session = requests.Session()
        self.add_route("GET", r"^/pypi/(?P<project>[^/]+)/json$", self._project_json)
        self.add_route("GET", r"^/pypi/(?P<project>[^/]+)/(?P<version>[^/]+)/json$",
                       self._release_json)
        self.add_route("GET", r"^/simple/(?P<project>[^/]+)/?$", self._simple_page)

    # -- life cycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the PyPI double is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def upload_url(self) -> str:
        return self.url + "/legacy/"

    def start(self) -> Self:
        self._server = Server(self._handle)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._session.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything: no files, no used names, no calls, no extensions."""
        with self._lock:
            for entry in self.packages.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            self.used_filenames.clear()
            self.calls.clear()
            self.upload_checks.clear()
            self.after_upload.clear()
            self._digests.clear()

    def add_route(self, method: str, pattern: str,
                  handler: Callable[[Request, re.Match[str]], Response]) -> None:
        """Serve `method` requests whose path matches `pattern` (earlier routes win)."""
        self.routes.append((method, re.compile(pattern), handler))

    # -- what the index holds ----------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def files(self, project: str | None = None) -> list[IndexFile]:
        """Every file held (of one project), oldest upload first."""
        wanted = canonicalize_name(project) if project else None
        found = []
        for path in self.packages.rglob("*"):
            parsed = _parse_filename(path.name) if path.is_file() else None
            if parsed is None or (wanted and parsed[0] != wanted):
                continue
            found.append(self._index_file(path, *parsed))
        return sorted(found, key=lambda f: (f.upload_time, f.filename))

    def release_files(self, project: str, version: str | Version) -> list[IndexFile]:
        wanted = Version(str(version))
        return [f for f in self.files(project) if f.version == wanted]

    def first_upload(self, project: str, version: str | Version) -> datetime | None:
        """When the release was made (its first file's upload time), or None."""
        held = self.release_files(project, version)
        return held[0].upload_time if held else None

    def age(self, project: str, version: str, *, days: float) -> None:
        """Make the release `days` older: every file's upload time moves back by that much."""
        shift = days * 86400
        with self._lock:
            held = self.release_files(project, version)
            if not held:
                raise KeyError(f"{self.name} holds no release {project} {version}")
            for file in held:
                stat = file.path.stat()
                os.utime(file.path, (stat.st_atime - shift, stat.st_mtime - shift))

    def delete(self, filename: str) -> None:
        """Delete a file as a project owner would: its name can never be used again."""
        with self._lock:
            (held,) = [f for f in self.files() if f.filename == filename]
            held.path.unlink()
            self.used_filenames.add(filename)

    def uploads_of(self, filename: str) -> list[IndexCall]:
        """Every upload request of `filename` the index received, whatever it answered."""
        return [c for c in self.calls if c.method == "POST" and c.filename == filename]

    def _index_file(self, path: Path, project: str, version: Version) -> IndexFile:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._digests:
            data = path.read_bytes()
            self._digests[key] = (hashlib.sha256(data).hexdigest(),
                                  hashlib.md5(data, usedforsecurity=False).hexdigest(),
                                  hashlib.blake2b(data, digest_size=32).hexdigest())
        sha256, md5, blake2b = self._digests[key]
        return IndexFile(
            path=path, filename=path.name, project=project, version=version,
            packagetype="bdist_wheel" if path.name.endswith(".whl") else "sdist",
            size=stat.st_size, sha256=sha256, md5=md5, blake2b_256=blake2b,
            upload_time=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    # -- the HTTP side -----------------------------------------------------------------------

    def _handle(self, handler: Handler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = Request.parse(handler.command, handler.path, headers)
        request.body = handler.read_exactly(request.content_length or 0)
        upload = None
        if request.method == "POST" and UPLOAD_PATH.match(request.path):
            upload = parse_upload(request)
            response = self._upload(request, upload)
        else:
            response = self._route(request)
        self.calls.append(IndexCall(method=request.method, path=request.path,
                                    query=request.raw_query, status=response.status,
                                    reason=response.reason or "",
                                    filename=upload.filename if upload else ""))
        handler.send(response, {})

    def _route(self, request: Request) -> Response:
        for method, pattern, route in self.routes:
            found = pattern.match(request.path)
            if found and method == request.method:
                return route(request, found)
        return self._proxy(request)

    def _proxy(self, request: Request, path: str | None = None) -> Response:
        headers = {k: v for k, v in request.headers.items() if k not in _HOP}
        upstream = self._session.request(
            request.method, self.upstream + (path or request.path)
            + (f"?{request.raw_query}" if request.raw_query else ""),
            headers=headers, data=request.body or None, allow_redirects=False, timeout=30)
        kept = {k: v for k, v in upstream.headers.items()
                if k.lower() not in _HOP | {"content-type"}}
        if "Location" in kept:
            kept["Location"] = kept["Location"].replace(self.upstream, self.url)
        return Response(status=upstream.status_code, body=upstream.content,
                        content_type=upstream.headers.get("Content-Type"), headers=kept)

    # -- uploads -----------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return user == "__token__" and password == self.token

    def _upload(self, request: Request, upload: Upload | None) -> Response:
        if not self._authorised(request):
            return error_400(f"{BAD_AUTH} See {self.url}/help/#invalid-auth for more "
                             "information.", status=403)
        if upload is None:
            return error_400("Upload payload does not have a file.")
        with self._lock:
            refusal = self._pypi_checks(upload)
            if refusal is not None:
                return refusal
            if any(f.filename == upload.filename for f in self.files()):
                return Response(status=200, body=b"OK", content_type="text/plain")
            for check in self.upload_checks:
                refusal = check(self, upload)
                if refusal is not None:
                    return refusal
            response = self._proxy(request, "/")  # pypiserver takes uploads at its root
            if response.status == 200:
                (stored,) = [f for f in self.files() if f.filename == upload.filename]
                for callback in self.after_upload:
                    callback(self, upload, stored)
            return response

    def _pypi_checks(self, upload: Upload) -> Response | None:
        """PyPI's own checks, in its order; None: the upload may go on."""
        parsed = _parse_filename(upload.filename)
        if parsed is None:
            return error_400(f"Invalid distribution file name: {upload.filename}")
        return _identity_check(upload, *parsed) or self._release_check(upload, *parsed)

    def _release_check(self, upload: Upload, project: str, version: Version) -> Response | None:
        release = self.release_files(project, version)
        if release and self.now() - release[0].upload_time > WINDOW:
            return error_400(TOO_OLD)
        digest = upload.field("sha256_digest").lower()
        if digest and digest != upload.sha256:
            return error_400(BAD_DIGEST)
        same_name = [f for f in release if f.filename == upload.filename]
        if same_name:  # the same bytes again: a no-op, answered 200 by the caller
            return None if same_name[0].sha256 == upload.sha256 else error_400(
                f"File already exists. See {self.url}/help/#file-name-reuse for more "
                "information.")
        if upload.filename in self.used_filenames:
            return error_400("This filename has already been used, use a different version. "
                             f"See {self.url}/help/#file-name-reuse for more information.")
        if upload.field("filetype") == "sdist" and any(f.packagetype == "sdist" for f in release):
            return error_400(ONE_SDIST)
        return None

    # -- reading: the JSON API and PEP 691 ---------------------------------------------------

    def _file_url(self, file: IndexFile) -> str:
        return f"{self.url}/packages/{file.filename}"

    def _release_json(self, _request: Request, match: re.Match[str]) -> Response:
        try:
            version = Version(match["version"])
        except InvalidVersion:
            return json_response(404, {"message": "Not Found"})
        held = self.release_files(match["project"], version)
        if not held:
            return json_response(404, {"message": "Not Found"})
        return json_response(200, {
            "info": _info(held, version),
            "last_serial": len(self.files()),
            "urls": [self._url_entry(f) for f in held],
            "vulnerabilities": [],
        })

    def _project_json(self, _request: Request, match: re.Match[str]) -> Response:
        held = self.files(match["project"])
        if not held:
            return json_response(404, {"message": "Not Found"})
        versions = sorted({f.version for f in held})
        latest = versions[-1]
        return json_response(200, {
            "info": _info([f for f in held if f.version == latest], latest),
            "last_serial": len(self.files()),
            "releases": {str(v): [self._url_entry(f) for f in held if f.version == v]
                         for v in versions},
            "urls": [self._url_entry(f) for f in held if f.version == latest],
            "vulnerabilities": [],
        })

    def _url_entry(self, file: IndexFile) -> dict[str, Any]:
        return {
            "comment_text": "",
            "digests": {"blake2b_256": file.blake2b_256, "md5": file.md5, "sha256": file.sha256},
            "downloads": -1,
            "filename": file.filename,
            "has_sig": False,
            "md5_digest": file.md5,
            "packagetype": file.packagetype,
            "python_version": file.python_version,
            "requires_python": _metadata(file.path).get("Requires-Python"),
            "size": file.size,
            "upload_time": file.upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
            "upload_time_iso_8601": _iso(file.upload_time),
            "url": self._file_url(file),
            "yanked": False,
            "yanked_reason": None,
        }

    def _simple_page(self, request: Request, match: re.Match[str]) -> Response:
        if _negotiate(request) != SIMPLE_JSON:
            return self._proxy(request)
        project = canonicalize_name(match["project"])
        held = self.files(project)
        if not held:
            return json_response(404, {"message": "Not Found"})
        page = {
            "meta": {"api-version": "1.1", "_last-serial": len(self.files())},
            "name": project,
            "versions": [str(v) for v in sorted({f.version for f in held})],
            "files": [{
                "filename": f.filename,
                "url": self._file_url(f),
                "hashes": {"sha256": f.sha256},
                "requires-python": _metadata(f.path).get("Requires-Python"),
                "size": f.size,
                "upload-time": _iso(f.upload_time),
                "yanked": False,
            } for f in held],
        }
        response = json_response(200, page)
        response.content_type = SIMPLE_JSON
        return response


# -- helpers ---------------------------------------------------------------------------------


def parse_upload(request: Request) -> Upload | None:
    """The multipart form of an upload; None when it carries no `content` file."""
    content_type = request.headers.get("content-type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    if not message.is_multipart():
        return None
    fields: dict[str, list[str]] = {}
    files: dict[str, list[tuple[str, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        filename = part.get_filename()
        if filename is not None:
            files.setdefault(name, []).append((filename, payload))
        else:
            fields.setdefault(name, []).append(payload.decode())
    content = files.pop("content", [])
    if len(content) != 1:
        return None
    (filename, data), = content
    return Upload(fields=fields, filename=filename, content=data, files=files)


def _identity_check(upload: Upload, project: str, version: Version) -> Response | None:
    """The file name names the project and version the form says."""
    name = upload.field("name")
    if not name or canonicalize_name(name) != project:
        prefix = canonicalize_name(name or "?").replace("-", "_")
        return error_400(f"Start filename for {name!r} with {prefix!r}.")
    try:
        claimed = Version(upload.field("version"))
    except InvalidVersion:
        return error_400(f"Invalid version: {upload.field('version')!r}.")
    if claimed != version:
        return error_400(f"Version in filename should be {str(claimed)!r} not {str(version)!r}.")
    return None


def _parse_filename(filename: str) -> tuple[str, Version] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            return str(name), version
        if filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            return str(name), version
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _metadata(path: Path) -> dict[str, str]:
    """The core metadata of a wheel (METADATA) or an sdist (PKG-INFO), as single values."""
    text = ""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist()
                             if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
                text = archive.read(name).decode() if name else ""
        else:
            with tarfile.open(path, "r:gz") as archive:
                member = next((m for m in archive if m.name.count("/") == 1
                               and m.name.endswith("/PKG-INFO")), None)
                handle = archive.extractfile(member) if member else None
                text = handle.read().decode() if handle else ""
    except (OSError, zipfile.BadZipFile, tarfile.TarError, UnicodeDecodeError):
        return {}
    headers = email.parser.Parser(policy=email.policy.compat32).parsestr(text, headersonly=True)
    return {key: str(value) for key, value in headers.items()}


def _info(held: list[IndexFile], version: Version) -> dict[str, Any]:
    meta = next((m for m in (_metadata(f.path) for f in held) if m), {})
    return {
        "name": meta.get("Name", held[0].project),
        "version": meta.get("Version", str(version)),
        "summary": meta.get("Summary", ""),
        "requires_python": meta.get("Requires-Python"),
        "yanked": False,
        "yanked_reason": None,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _negotiate(request: Request) -> str:
    """The media type a simple-API page is sent in: `?format=`, else the best `Accept`."""
    wanted = request.param("format")
    if wanted in {SIMPLE_JSON, SIMPLE_HTML, "text/html"}:
        return wanted
    best, best_q = "text/html", -1.0
    for item in request.headers.get("accept", "text/html").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = next((float(p[2:]) for p in params if p.startswith("q=")), 1.0)
        if media in {SIMPLE_JSON, SIMPLE_HTML, "text/html", "*/*"} and q > best_q:
            best, best_q = ("text/html" if media == "*/*" else media), q
    return best


def held_sha256(double: PyPIDouble) -> dict[str, str]:
    """filename -> sha256 of everything the index holds."""
    return {f.filename: f.sha256 for f in double.files()}
