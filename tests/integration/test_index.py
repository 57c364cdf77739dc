"""action/index/ against real pypiservers, a flaky upload proxy and trusted-publishing fakes."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import requests
from structlog.testing import capture_logs

from action.errors import (
    ConfigError,
    DigestMismatchError,
    FileExistsOnIndexError,
    PackageIndexError,
)
from action.index import (
    ApiToken,
    IndexConfig,
    MintedToken,
    Outcome,
    PackageIndex,
    TrustedPublishing,
    mint_token,
)
from action.logs import scrub
from action.retry import Backoff
from tests.fixtures_index import TEST_TOKEN

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path



def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Sleeps:
    """A stand-in for time.sleep that records instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def quick(sleeps: Sleeps | None = None) -> Backoff:
    return Backoff(attempts=4, base=0.01, sleep=sleeps or Sleeps(), jitter=lambda: 0.5)


def client(config: IndexConfig, **options: Any) -> PackageIndex:
    return PackageIndex(config, backoff=quick(), timeout=10, **options)


# --- a tiny programmable HTTP server -------------------------------------------------------

Reply = tuple[int, dict[str, str], bytes] | None  # None: drop the connection unanswered


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def serve(answer: Callable[[Request], Reply]) -> Iterator[tuple[str, list[Request]]]:
    """Serve `answer` on 127.0.0.1; yield the base URL and the list of requests seen."""
    seen: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, dict(self.headers), self.rfile.read(length))
            seen.append(request)
            reply = answer(request)
            if reply is None:
                self.close_connection = True
                return
            status, headers, body = reply
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _handle  # noqa: N815 - http.server's naming

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def json_reply(status: int, data: object) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def forward(request: Request, target: str) -> Reply:
    """Pass an upload on to a real pypiserver, the way a proxy would."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "connection"}}
    response = requests.post(target, data=request.body, headers=headers, timeout=10)
    return response.status_code, {"Content-Type": "text/html"}, response.content


# --- reading and uploading -----------------------------------------------------------------


class TestFiles:
    def test_unknown_project_has_no_files(self, testpypi):
        """A 404 from the simple API means: nothing there."""
        assert client(testpypi).files("not-uploaded-yet") == {}

    def test_upload_then_read_digest_back(self, testpypi, build_dists):
        """A file uploaded with twine is listed with the sha256 of its bytes."""
        dists = build_dists()
        index = client(testpypi)
        index.upload(dists.wheel)
        assert index.files("tiny-pkg") == {dists.wheel.name: sha256(dists.wheel)}

    def test_project_name_is_normalised(self, testpypi, build_dists):
        """Tiny_Pkg, tiny.pkg and tiny-pkg are one project (PEP 503)."""
        dists = build_dists()
        index = client(testpypi)
        index.upload(dists.sdist)
        assert index.files("Tiny_Pkg") == index.files("tiny.pkg") == {
            dists.sdist.name: sha256(dists.sdist)
        }

    def test_5xx_on_read_is_retried_with_backoff(self):
        """A 503 on the simple API is waited out; JSON (PEP 691) is parsed when offered."""
        answers = iter([(503, {}, b"busy"), (503, {}, b"busy")])
        page = {"meta": {"api-version": "1.1"}, "name": "p",
                "files": [{"filename": "p-1.tar.gz", "url": "x", "hashes": {"sha256": "AB"}}]}

        def answer(_request: Request) -> Reply:
            return next(answers, None) or (
                200, {"Content-Type": "application/vnd.pypi.simple.v1+json"},
                json.dumps(page).encode())

        sleeps = Sleeps()
        with serve(answer) as (url, seen):
            config = IndexConfig.create("pypi", upload_url=url, credentials=ApiToken("t-0000"))
            files = PackageIndex(config, backoff=quick(sleeps)).files("P")
        assert files == {"p-1.tar.gz": "ab"}
        assert len(sleeps.calls) == 2
        assert sleeps.calls[1] > sleeps.calls[0]
        assert seen[0].path == "/simple/p/"
        assert "application/vnd.pypi.simple.v1+json" in seen[0].headers["Accept"]


class TestEnsure:
    def test_second_ensure_is_already_present(self, testpypi, build_dists):
        """ensure twice: one upload, then "already-present" without uploading."""
        dists = build_dists()
        index = client(testpypi)
        with capture_logs() as logs:
            first = index.ensure(dists.wheel, sha256(dists.wheel))
            second = index.ensure(dists.wheel, sha256(dists.wheel))
        assert (first, second) == (Outcome.UPLOADED, Outcome.ALREADY_PRESENT)
        assert [e["event"] for e in logs].count("index.upload") == 1
        assert TEST_TOKEN not in str(logs)

    def test_other_bytes_under_the_same_name_stop(self, testpypi, build_dists):
        """Different bytes under an uploaded name: DigestMismatchError, nothing uploaded."""
        first = build_dists()
        index = client(testpypi)
        index.ensure(first.wheel, sha256(first.wheel))
        other = build_dists(content="X = 2\n")
        assert other.wheel.name == first.wheel.name
        with capture_logs() as logs, pytest.raises(DigestMismatchError) as caught:
            index.ensure(other.wheel, sha256(other.wheel))
        assert sha256(first.wheel) in str(caught.value)
        assert sha256(other.wheel) in str(caught.value)
        assert "index.upload" not in [e["event"] for e in logs]
        assert index.files("tiny-pkg") == {first.wheel.name: sha256(first.wheel)}

    def test_local_bytes_must_match_the_record(self, testpypi, build_dists):
        """A local file that is not the recorded bytes is never uploaded."""
        dists = build_dists()
        index = client(testpypi)
        with pytest.raises(DigestMismatchError, match="the local file"):
            index.ensure(dists.wheel, "0" * 64)
        assert index.files("tiny-pkg") == {}

    def test_other_bytes_under_a_taken_name_are_a_400_explained(self, testpypi, build_dists):
        """The index refuses other bytes under a name it holds: explained, not retried."""
        index = client(testpypi)
        index.upload(build_dists().wheel)
        with pytest.raises(FileExistsOnIndexError) as caught:
            index.upload(build_dists(content="X = 2\n").wheel)
        assert "400" in caught.value.message
        assert "already exists" in caught.value.message
        assert "Compare digests" in caught.value.hint

    def test_400_exists_after_a_lost_answer_is_confirmed_by_digest(self, testpypi, build_dists):
        """An upload that landed but whose answer was lost: the retry's 400 is checked by hash."""
        dists = build_dists()
        client(testpypi).upload(dists.wheel)  # the "lost" first attempt
        index = client(testpypi)
        real_files, reads = index.files, []

        def files(project: str) -> dict[str, str]:
            reads.append(project)
            return {} if len(reads) == 1 else real_files(project)  # the first read: nothing yet

        index.files = files  # type: ignore[method-assign]
        assert index.ensure(dists.wheel, sha256(dists.wheel)) is Outcome.UPLOADED

    def test_pip_installs_the_uploaded_bytes(self, pypi, tmp_path, build_dists):
        """pip installs from the "pypi" instance exactly the bytes that were ensured."""
        dists = build_dists()
        index = client(pypi)
        for path in (dists.wheel, dists.sdist):
            assert index.ensure(path, sha256(path)) is Outcome.UPLOADED
        venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
        pip = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check"]
        report = tmp_path / "report.json"
        subprocess.run(
            [*pip, "--python", venv / "bin" / "python", "install", "--no-deps", "--no-cache-dir",
             "--index-url", pypi.simple_url, "--report", report, "tiny-pkg==0.1.0"],
            check=True, capture_output=True,
        )
        subprocess.run([venv / "bin" / "python", "-c", "import tiny_pkg"], check=True)
        installed = json.loads(report.read_text())["install"][0]["download_info"]
        assert installed["archive_info"]["hashes"]["sha256"] == sha256(dists.wheel)
        subprocess.run(
            [*pip, "download", "--no-deps", "--no-cache-dir", "--no-binary", ":all:",
             "--index-url", pypi.simple_url, "--dest", tmp_path / "dl", "tiny-pkg==0.1.0"],
            check=True, capture_output=True,
        )
        assert sha256(tmp_path / "dl" / dists.sdist.name) == sha256(dists.sdist)


class TestAttestations:
    def test_attestations_go_with_the_upload(self, testpypi_server, build_dists):
        """With trusted publishing, attestation files are sent in the same request as their
        distribution."""
        dists = build_dists()
        attestation = dists.wheel.with_name(dists.wheel.name + ".publish.attestation")
        attestation.write_text(json.dumps({"version": 1, "marker": "attested-42"}))
        with serve(lambda r: forward(r, testpypi_server.url + "/")) as (url, seen):
            config = IndexConfig.create(
                "testpypi", upload_url=url, credentials=TrustedPublishing(),
                simple_url=testpypi_server.url + "/simple/",
            )
            index = client(config, minter=lambda _c: MintedToken(TEST_TOKEN, time.time() + 900))
            assert index.ensure(dists.wheel, sha256(dists.wheel), attestations=[attestation]) \
                is Outcome.UPLOADED
        assert len(seen) == 1
        assert b'name="attestations"' in seen[0].body
        assert b"attested-42" in seen[0].body

    def test_with_an_api_token_attestations_are_not_sent(self, testpypi_server, build_dists):
        """PyPI refuses an upload whose attestations come with an API token ("Attestations are
        only supported when using Trusted Publishing"): the file goes without them."""
        dists = build_dists()
        attestation = dists.wheel.with_name(dists.wheel.name + ".publish.attestation")
        attestation.write_text(json.dumps({"version": 1, "marker": "attested-42"}))
        with serve(lambda r: forward(r, testpypi_server.url + "/")) as (url, seen), \
                capture_logs() as logs:
            config = IndexConfig.create(
                "testpypi", upload_url=url, credentials=ApiToken(TEST_TOKEN),
                simple_url=testpypi_server.url + "/simple/",
            )
            assert client(config).ensure(dists.wheel, sha256(dists.wheel),
                                         attestations=[attestation]) is Outcome.UPLOADED
        assert len(seen) == 1
        assert b'name="attestations"' not in seen[0].body
        assert [e["file"] for e in logs if e["event"] == "index.attestations-not-sent"] == [
            dists.wheel.name]


class TestUploadFailures:
    def test_5xx_then_ok_is_retried_with_backoff(self, testpypi_server, build_dists):
        """Each 503 is one attempt (twine's immediate retries are not used): we wait, retry."""
        dists = build_dists()
        failures = iter(range(3))

        def answer(request: Request) -> Reply:
            if next(failures, None) is not None:
                return 503, {"Content-Type": "text/plain"}, b"try later"
            return forward(request, testpypi_server.url + "/")

        sleeps = Sleeps()
        with serve(answer) as (url, seen):
            config = IndexConfig.create(
                "testpypi", upload_url=url, credentials=ApiToken(TEST_TOKEN),
                simple_url=testpypi_server.url + "/simple/",
            )
            index = PackageIndex(config, backoff=quick(sleeps))
            assert index.ensure(dists.wheel, sha256(dists.wheel)) is Outcome.UPLOADED
        assert len(seen) == 4
        assert len(sleeps.calls) == 3

    def test_dropped_connection_is_retried(self, testpypi_server, build_dists):
        """A connection dropped without an answer is retried after a wait."""
        dists = build_dists()
        requests_seen = []

        def answer(request: Request) -> Reply:
            requests_seen.append(request)
            if len(requests_seen) == 1:
                return None  # drop the first upload unanswered
            return forward(request, testpypi_server.url + "/")

        sleeps = Sleeps()
        with serve(answer) as (url, _):
            config = IndexConfig.create(
                "testpypi", upload_url=url, credentials=ApiToken(TEST_TOKEN),
                simple_url=testpypi_server.url + "/simple/",
            )
            PackageIndex(config, backoff=quick(sleeps)).upload(dists.sdist)
        assert len(requests_seen) == 2
        assert len(sleeps.calls) == 1

    def test_persistent_5xx_gives_up_with_a_clear_error(self, build_dists):
        """When the index stays down, the error says how often it was tried."""
        dists = build_dists()
        with serve(lambda _r: (502, {}, b"bad gateway")) as (url, _seen):
            config = IndexConfig.create("testpypi", upload_url=url, credentials=ApiToken("t-123"))
            index = PackageIndex(config, backoff=Backoff(attempts=2, base=0.01, sleep=Sleeps()))
            with pytest.raises(PackageIndexError, match=r"failed 2 times.*502"):
                index.upload(dists.sdist)

    def test_403_with_a_token_is_explained(self, testpypi_server, build_dists):
        """A wrong token: the index's 403 and where to get a token, never the token itself."""
        dists = build_dists()
        wrong = "pypi-wrong-token-abcdef"
        config = IndexConfig.create("testpypi", upload_url=testpypi_server.url,
                                    credentials=ApiToken(wrong))
        with pytest.raises(PackageIndexError) as caught:
            client(config).upload(dists.wheel)
        assert "HTTP 403: Invalid or non-existent authentication" in caught.value.message
        assert "manage/account/token/" in caught.value.hint
        assert wrong not in str(caught.value)

    def test_403_with_trusted_publishing_says_how_to_register(self, testpypi_server, build_dists):
        """A minted token the index refuses: register a trusted publisher, with the values."""
        dists = build_dists()
        tp = TrustedPublishing(repository="acme/tiny", workflow="release.yml", environment="pypi")
        config = IndexConfig.create("testpypi", upload_url=testpypi_server.url, credentials=tp)
        index = client(config, minter=lambda _c: MintedToken("pypi-minted-bad", time.time() + 900))
        with pytest.raises(PackageIndexError) as caught:
            index.upload(dists.wheel)
        assert "403" in caught.value.message
        for value in ("trusted publisher", "acme/tiny", "release.yml", "environment pypi"):
            assert value in caught.value.hint


# --- trusted publishing --------------------------------------------------------------------


def fake_jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.c2lnbmF0dXJl"


CLAIMS = {"aud": "testpypi", "repository": "acme/tiny", "environment": "release",
          "job_workflow_ref": "acme/tiny/.github/workflows/publish.yml@refs/tags/v1"}


@dataclass
class Exchange:
    """The fakes: GitHub's OIDC token endpoint and an index's two /_/oidc/ endpoints."""

    index_url: str = ""
    seen: list[Request] = field(default_factory=list)
    minted: list[str] = field(default_factory=list)
    token: str = field(default_factory=lambda: f"pypi-minted-{uuid.uuid4().hex}")  # next to mint
    error: dict[str, str] | None = None  # set it to make mint-token answer {"errors": [...]}


@pytest.fixture
def exchange(monkeypatch) -> Iterator[Exchange]:
    jwt = fake_jwt(CLAIMS)
    ex = Exchange()

    def github(request: Request) -> Reply:
        if request.headers.get("Authorization") != "bearer gh-request-token":
            return json_reply(401, {"message": "bad request token"})
        if "audience=testpypi" not in request.path or "api-version=2.0" not in request.path:
            return json_reply(400, {"message": "no audience"})
        return json_reply(200, {"value": jwt})

    def index(request: Request) -> Reply:
        if request.path == "/_/oidc/audience":
            return json_reply(200, {"audience": "testpypi"})
        if request.path == "/_/oidc/mint-token" and request.method == "POST":
            if json.loads(request.body) != {"token": jwt}:
                return json_reply(422, {"errors": [{"code": "invalid-token", "description": "?"}]})
            if ex.error:
                return json_reply(422, {"errors": [ex.error]})
            ex.minted.append(f"{ex.token}-{len(ex.minted)}" if ex.minted else ex.token)
            return json_reply(200, {"success": True, "token": ex.minted[-1],
                                    "expires": int(time.time()) + 900})
        return 404, {}, b""

    with serve(github) as (github_url, _), serve(index) as (index_url, seen):
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{github_url}/token?api-version=2.0")
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token")
        ex.index_url, ex.seen = index_url, seen
        yield ex


def tp_config(root: str, upload_url: str | None = None) -> IndexConfig:
    return IndexConfig.create("testpypi", upload_url=upload_url or root, root_url=root,
                              credentials=TrustedPublishing(repository="acme/tiny"))


class TestTrustedPublishing:
    def test_exchange_mints_a_masked_token(self, exchange, capsys):
        """audience -> GitHub OIDC token -> mint-token: a short-lived token, masked at once."""
        with capture_logs() as logs:
            minted = mint_token(tp_config(exchange.index_url + "/"), backoff=quick())
        assert minted.token == exchange.token
        assert 800 < minted.expires_at - time.time() <= 900
        assert [r.path for r in exchange.seen] == ["/_/oidc/audience", "/_/oidc/mint-token"]
        assert f"::add-mask::{minted.token}" in capsys.readouterr().out
        assert scrub(f"token={minted.token}") == "token=***"
        assert minted.token not in repr(minted)
        assert minted.token not in str(logs)
        assert [e["event"] for e in logs] == ["index.token-minted"]

    def test_error_answer_is_explained(self, exchange):
        """{"errors": [...]} becomes the index's words plus the publisher to register."""
        exchange.error = {"code": "invalid-publisher",
                          "description": "valid token, but no corresponding publisher"}
        with pytest.raises(PackageIndexError) as caught:
            mint_token(tp_config(exchange.index_url + "/"), backoff=quick())
        assert "invalid-publisher: valid token, but no corresponding publisher" in str(caught.value)
        for value in ("repository acme/tiny", "workflow publish.yml", "environment release"):
            assert value in caught.value.hint

    def test_no_id_token_permission_is_a_config_error(self, exchange, monkeypatch):
        """Without ACTIONS_ID_TOKEN_REQUEST_TOKEN the hint names `id-token: write`."""
        monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        with pytest.raises(ConfigError, match="id-token: write"):
            mint_token(tp_config(exchange.index_url + "/"), backoff=quick())

    def test_token_is_refreshed_before_it_expires(self, exchange):
        """A token is reused while fresh and re-minted with less than two minutes left."""
        now = [time.time()]
        index = PackageIndex(
            tp_config(exchange.index_url + "/"), backoff=quick(), clock=lambda: now[0],
            minter=lambda c: mint_token(c, backoff=quick(), now=lambda: now[0]),
        )
        first = index.uploader.login()
        now[0] += 12 * 60
        assert index.uploader.login() == first
        now[0] += 2 * 60  # 60 s left
        second = index.uploader.login()
        assert second != first
        assert exchange.minted == [first[1], second[1]]

    def test_upload_with_a_minted_token(self, exchange, testpypi_server, build_dists):
        """End to end: the minted token uploads to the index, and no log holds it."""
        dists = build_dists()
        exchange.token = TEST_TOKEN  # the one the local pypiserver accepts
        config = tp_config(exchange.index_url + "/", upload_url=testpypi_server.url + "/")
        index = client(config)
        with capture_logs() as logs:
            assert index.ensure(dists.wheel, sha256(dists.wheel)) is Outcome.UPLOADED
        assert TEST_TOKEN not in str(logs)
