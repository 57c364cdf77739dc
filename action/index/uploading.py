"""One upload to an index, through twine's Python API in this process: its `PackageFile` (made
once per file and job, `action.dists`) and one `Repository`, so one HTTP session, per index.
A refusal is explained from the HTTP answer (status, the reason phrase where PyPI puts its
message, the body where pypiserver does) with what to do about it."""

from __future__ import annotations

import copy
import html
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from action import dists
from action.errors import FileExistsOnIndexError, PackageIndexError
from action.index.config import TrustedPublishing, project_of
from action.index.transport import TransientError, retrying, transient_status
from action.index.trusted import publisher_hint
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from twine.package import PackageFile
    from twine.repository import Repository

    from action.index.config import IndexConfig
    from action.retry import Backoff

log = get_logger("action.index")


# --- upload failures, from the HTTP answer --------------------------------------------------


@dataclass(frozen=True)
class UploadFailure:
    """Why the index refused an upload: its status and its own words."""

    status: int
    message: str  # the reason phrase (PyPI's message) and the body's words (pypiserver's)
    transient: bool


_PRE = re.compile(r"<pre>(.*?)</pre>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def read_failure(response: requests.Response) -> UploadFailure:
    """The index's answer to a refused upload, read from the response itself."""
    status, reason = response.status_code, (response.reason or "").strip()
    body = response.text or ""
    pre = _PRE.search(body)
    text = html.unescape(pre.group(1) if pre else _TAG.sub(" ", body))
    text = " ".join(text.split())
    parts = [reason]
    if text and text != "None" and text.lower() not in reason.lower():
        parts.append(text[:500])
    return UploadFailure(status, ": ".join(p for p in parts if p),
                         transient=transient_status(status))


def explain(config: IndexConfig, failure: UploadFailure, path: Path) -> PackageIndexError:
    """The refusal as the project's error: the index's words, and what to do about them."""
    said = failure.message or "(no message)"
    head = f"{config.name} refused {path.name}"
    text = f"{head}: HTTP {failure.status}: {said}"
    lowered = said.lower()
    if "older than 14 days" in lowered:
        return PackageIndexError(text, hint=(
            "The index takes no new file for a release older than 14 days, not even the "
            "same bytes again. Release the new files as a new version (for example a "
            "post-release, 1.2.3.post1)."))
    if "has already been used" in lowered:
        return PackageIndexError(text, hint=(
            "This file name was used before and then deleted; an index never accepts it "
            "again, whatever its bytes. Make a new version (for example a post-release) "
            "and release that."))
    if "already exists" in lowered or failure.status == 409:  # noqa: PLR2004 - "conflict"
        return FileExistsOnIndexError(text, hint=(
            "Compare digests: if the index holds the same sha256 as the ledger the file is "
            "already published; otherwise the name is taken by other bytes and only a new "
            "version can fix it."))
    if "only one sdist" in lowered:
        return PackageIndexError(text, hint=(
            "This release already has a source distribution under another name; an index "
            "keeps one sdist per release. Make a new version to publish a different sdist."))
    return PackageIndexError(text, hint=_hint_for(config, failure.status, path))


def _hint_for(config: IndexConfig, status: int, path: Path) -> str:
    project = project_of(path.name)
    if status in {401, 403}:
        if isinstance(config.credentials, TrustedPublishing):
            return (f"The minted token may not upload to {project}. "
                    + publisher_hint(config))
        return (f"The API token is invalid, expired or scoped to another project. Create a "
                f"token for {project} at {config.root_url}manage/account/token/ and "
                f"store it as a secret, or switch to trusted publishing.")
    if status == 413:  # noqa: PLR2004 - "payload too large"
        return ("The file is larger than the index allows for this project; ask the index "
                "for a higher limit.")
    return ("Read the index's message above: it is usually invalid metadata (check with "
            "`twine check`) or a project name you do not own.")


# --- the upload ------------------------------------------------------------------------------


class Uploader:
    """Uploads to one index through one twine `Repository` (one session), logged in by `login`."""

    def __init__(self, config: IndexConfig, *, login: Callable[[], tuple[str, str]],
                 backoff: Backoff) -> None:
        self.config = config
        self.login = login
        self._backoff = backoff
        self._lock = threading.Lock()
        self._twine: Repository | None = None

    def upload(self, path: Path, *, attestations: Sequence[Path] = ()) -> None:
        """Upload one file through twine's API; retry transient failures; explain a refusal."""
        what = f"uploading {path.name} to {self.config.name}"
        package = copy.copy(dists.package(path))  # shared by both indexes: add to a copy
        if attestations and not isinstance(self.config.credentials, TrustedPublishing):
            # PyPI refuses the whole upload when attestations come with an API token.
            log.warning("index.attestations-not-sent", index=self.config.name, file=path.name,
                        why="PEP 740 attestations are accepted only with trusted publishing")
            attestations = ()
        if attestations:
            package.add_attestations([str(a) for a in attestations])
        retrying(what, lambda: self._send(package, path), self._backoff)
        log.info("index.upload", index=self.config.name, file=path.name)

    def _repository(self) -> Repository:
        with self._lock:
            if self._twine is None:
                from twine.repository import Repository  # noqa: PLC0415 - publish jobs only

                self._twine = Repository(self.config.upload_url, None, None,
                                         disable_progress_bar=True)
            return self._twine

    def _send(self, package: PackageFile, path: Path) -> None:
        repository = self._repository()
        repository.session.auth = self.login()
        try:
            response = repository.upload(package, max_redirects=1)  # one attempt: we retry
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"POST {self.config.upload_url}: {type(exc).__name__}: "
                                 f"{exc}") from exc
        if response.ok and not response.is_redirect:
            return
        if response.is_redirect:
            raise PackageIndexError(
                f"{self.config.name}: the upload URL {self.config.upload_url} redirects to "
                f"{response.headers.get('Location', '?')}",
                hint="Set the repository URL to the address that takes uploads (for PyPI: "
                "https://upload.pypi.org/legacy/).",
            )
        failure = read_failure(response)
        if failure.transient:
            raise TransientError(f"HTTP {failure.status}: {failure.message}")
        raise explain(self.config, failure, path)
