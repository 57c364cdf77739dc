"""What an index holds: the simple API's project page (PEP 691 JSON where offered, PEP 503
HTML otherwise), the JSON API's release page (its files' digests and upload times, which
say when the release was opened: PyPI's 14-day window, `action.window`) and a file's
provenance (PEP 740's Integrity API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from action.errors import PackageIndexError
from action.index.config import TrustedPublishing, project_version
from action.index.transport import TransientError, json_of, retrying, send
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import requests

    from action.index.config import IndexConfig
    from action.retry import Backoff

log = get_logger("action.index")

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
_ACCEPT = f"{SIMPLE_JSON}, {SIMPLE_HTML};q=0.2, text/html;q=0.01"
NOT_FOUND = 404


# --- parsing the pages -----------------------------------------------------------------------


def parse_simple_json(data: Any) -> dict[str, str]:
    """PEP 691 project page -> {filename: sha256}; "" where the index gives no sha256."""
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise PackageIndexError("the simple API answered JSON without a 'files' list")
    result: dict[str, str] = {}
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise PackageIndexError(f"the simple API lists a file without a name: {entry!r}")
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256", "") if isinstance(hashes, dict) else ""
        result[entry["filename"]] = str(sha256).lower()
    return result


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def parse_simple_html(text: str) -> dict[str, str]:
    """PEP 503 project page -> {filename: sha256} from the links' `#sha256=` fragments."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    result: dict[str, str] = {}
    for href in parser.hrefs:
        parts = urlsplit(href)
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        algorithm, _, digest = parts.fragment.partition("=")
        result[filename] = digest.lower() if algorithm == "sha256" else ""
    return result


def parse_simple(content_type: str, body: str) -> dict[str, str]:
    """Parse a project page by its media type (PEP 691 JSON or PEP 503 HTML)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == SIMPLE_JSON:
        try:
            return parse_simple_json(json.loads(body))
        except json.JSONDecodeError as exc:
            raise PackageIndexError(f"the simple API sent malformed JSON: {exc}") from exc
        except RecursionError:
            raise PackageIndexError("the simple API sent JSON nested too deeply") from None
    if media in {SIMPLE_HTML, "text/html"}:
        return parse_simple_html(body)
    raise PackageIndexError(f"the simple API answered with unexpected media type {media!r}")


def first_upload(data: dict[str, Any]) -> datetime | None:
    """The earliest `upload_time_iso_8601` of a JSON API release page (None: no files)."""
    urls = data.get("urls")
    times = []
    for entry in urls if isinstance(urls, list) else []:
        text = entry.get("upload_time_iso_8601") if isinstance(entry, dict) else None
        if isinstance(text, str):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                continue
            times.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return min(times) if times else None


def release_digests(data: dict[str, Any]) -> dict[str, str]:
    """{filename: sha256} of a JSON API release page."""
    urls = data.get("urls")
    found: dict[str, str] = {}
    for entry in urls if isinstance(urls, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        digests = entry.get("digests")
        sha256 = digests.get("sha256", "") if isinstance(digests, dict) else ""
        found[entry["filename"]] = str(sha256).lower()
    return found


def _same_release(index: str, url: str, expected: Mapping[str, str],
                  held: Mapping[str, str]) -> None:
    extra = sorted(set(held) - set(expected))
    other = sorted(n for n in expected if n in held and held[n] != expected[n])
    if not extra and not other:
        return
    lines = [f"{n}: not approved, yet the index holds it" for n in extra]
    lines += [f"{n}: the index holds sha256 {held[n]}, approved {expected[n]}" for n in other]
    raise PackageIndexError(
        f"{index}: the release ({url}) is not exactly the approved files:\n  "
        + "\n  ".join(lines),
        hint="Someone else uploaded to this release, or a file was replaced. Check the "
        "project's release on the index and who can upload to it; a published file cannot be "
        "changed, so only a new version can fix it.",
    )


# --- reading an index ------------------------------------------------------------------------


class Reader:
    """The reads of one index, each retried (`transport.retrying`)."""

    def __init__(self, config: IndexConfig, *, session: requests.Session, backoff: Backoff,
                 timeout: float) -> None:
        self.config = config
        self._session = session
        self._backoff = backoff
        self._timeout = timeout

    def files(self, project: str) -> dict[str, str]:
        """{filename: sha256} of every file the index holds for `project`; {} when unknown."""
        url = self.config.project_url(project)
        return retrying(f"GET {url}", lambda: self._read(url), self._backoff)

    def _read(self, url: str) -> dict[str, str]:
        response = send(self._session, "GET", url, timeout=self._timeout,
                        headers={"Accept": _ACCEPT, "Cache-Control": "max-age=0"})
        if response.status_code == NOT_FOUND:  # no files yet
            return {}
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}",
                hint="Check the index URL and that the simple API is readable without login.",
            )
        return parse_simple(response.headers.get("Content-Type", ""), response.text)

    def release_opened(self, project: str, version: str) -> datetime | None:
        """When the index got the release's first file (the JSON API's upload times); None
        when it has no such release (or no JSON API, as a bare pypiserver)."""
        url = self.config.release_url(project, version)
        return retrying(f"GET {url}", lambda: self._opened(url), self._backoff)

    def _opened(self, url: str) -> datetime | None:
        data = self._release_json(url)
        return first_upload(data) if data is not None else None

    def _release_json(self, url: str) -> dict[str, Any] | None:
        if not self.config.json_api:
            return None
        response = send(self._session, "GET", url, timeout=self._timeout,
                        headers={"Accept": "application/json", "Cache-Control": "max-age=0"})
        if response.status_code == NOT_FOUND:  # no such release
            return None
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}",
                hint="Check the index URL; its JSON API must be readable without login.",
            )
        return json_of(response)

    def confirm_release(self, project: str, version: str, expected: Mapping[str, str]) -> bool:
        """The release on the index (its JSON API) holds exactly `expected` ({file: sha256}):
        nothing missing, nothing more, no other bytes. A file not listed yet is waited for (the
        API is cached); anything else stops. False: the index has no JSON API to ask."""
        if not self.config.json_api:
            return False
        url = self.config.release_url(project, version)

        def check() -> None:
            held = release_digests(self._release_json(url) or {})
            if set(expected) - set(held):
                raise TransientError(f"{url} does not list {sorted(set(expected) - set(held))}")
            _same_release(self.config.name, url, expected, held)

        retrying(f"confirming {project} {version} on {self.config.name}", check, self._backoff)
        log.info("index.release-confirmed", index=self.config.name, project=project,
                 version=version, files=len(expected))
        return True

    # provenance (PEP 740's Integrity API)

    def provenance(self, path: Path) -> dict[str, Any] | None:
        """What the index holds as the file's provenance (attestation bundles, each with the
        publisher that uploaded it), or None when it has none."""
        project, version = project_version(path.name)
        url = f"{self.config.root_url}integrity/{project}/{version}/{path.name}/provenance"
        return retrying(f"GET {url}", lambda: self._read_provenance(url), self._backoff)

    def _read_provenance(self, url: str) -> dict[str, Any] | None:
        response = send(self._session, "GET", url, timeout=self._timeout,
                        headers={"Accept": "application/vnd.pypi.integrity.v1+json"})
        if response.status_code == NOT_FOUND:  # no provenance
            return None
        if not response.ok:
            raise PackageIndexError(
                f"{self.config.name}: GET {url} answered {response.status_code} {response.reason}")
        return json_of(response)

    def confirm_provenance(self, path: Path) -> None:
        """After a trusted-publishing upload with an attestation: the index must hold
        provenance for the file from this workflow's trusted publisher."""
        publisher = self.config.credentials
        if not isinstance(publisher, TrustedPublishing):
            return
        held = self.provenance(path)
        bundles = held.get("attestation_bundles") if held else None
        if not isinstance(bundles, list) or not bundles:
            raise PackageIndexError(
                f"{self.config.name} holds no provenance for {path.name}, though its "
                "attestation was sent with the upload",
                hint="The file is published. Check the index's project page; if the "
                "attestation is missing there too, report it to the index.")
        expected = {"kind": "GitHub", "repository": publisher.repository,
                    "workflow": publisher.workflow}
        for bundle in bundles:
            found = bundle.get("publisher") if isinstance(bundle, dict) else None
            if not isinstance(found, dict) or any(
                    found.get(key) != value for key, value in expected.items() if value):
                raise PackageIndexError(
                    f"the provenance of {path.name} on {self.config.name} names the publisher "
                    f"{found}, not {expected}",
                    hint="Someone else's trusted publisher attested this file. Find out who "
                    "can publish to the project (project settings -> Publishing).")
        log.info("index.provenance-confirmed", index=self.config.name, file=path.name,
                 publisher=f"{publisher.repository} {publisher.workflow}")
