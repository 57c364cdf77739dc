"""Keyless signing when GitHub's OIDC token endpoint fails: the part that runs before Fulcio.

A stand-in token endpoint refuses, answers garbage or hands out an expired token; each is a
clear SigningError and no request leaves 127.0.0.1. The path that succeeds, against a local
Sigstore instance, is tests/integration/test_keyless.py.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from action import logs
from action.attestation.keyless import SigstoreSigner
from action.attestation.pep740 import attestation_path, ensure_publish_attestations
from action.attestation.statement import build_statement
from action.errors import SigningError
from tests.unit.test_provenance import FILES, IMAGES, RUN, subjects_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


EXPIRED = _jwt({"aud": "sigstore", "iss": "https://token.actions.githubusercontent.com",
                "sub": "repo:pallets/markupsafe:ref:refs/tags/3.0.0",
                "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600})


@contextmanager
def token_endpoint(status: int, body: dict[str, Any]) -> Iterator[tuple[int, list[str]]]:
    """Serve GitHub's OIDC token request on 127.0.0.1; yields the port and the requests seen."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path} {self.headers.get('Authorization')}")
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def github_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A GitHub job with `id-token: write`, minus the URL (set per test)."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-1234")
    return monkeypatch


def sign_against(env: pytest.MonkeyPatch, status: int,
                 body: dict[str, Any]) -> tuple[SigningError, list[str]]:
    with token_endpoint(status, body) as (port, seen):
        env.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"http://127.0.0.1:{port}/token?x=1")
        with pytest.raises(SigningError) as info:
            SigstoreSigner().sign(build_statement(subjects_for(FILES), RUN, IMAGES))
    return info.value, seen


class TestTokenExchange:
    def test_refused_token_request(self, github_env: pytest.MonkeyPatch):
        """GitHub refusing the token request (403) is a SigningError naming the code."""
        error, seen = sign_against(github_env, 403, {"message": "no"})
        assert "could not be fetched" in error.message
        assert "code=403" in error.message
        assert "id-token: write" in error.hint
        assert seen == ["/token?x=1&audience=sigstore bearer request-token-1234"]

    def test_malformed_answer(self, github_env: pytest.MonkeyPatch):
        """An answer without a token is a SigningError."""
        error, _ = sign_against(github_env, 200, {"nothing": "here"})
        assert "could not be fetched" in error.message
        assert "malformed" in error.message

    def test_expired_token_is_masked_and_refused(self, github_env: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]):
        """A token that arrives is masked at once; an expired one is refused before Fulcio."""
        github_env.setattr(logs, "_SECRETS", set())
        error, _ = sign_against(github_env, 200, {"value": EXPIRED})
        assert "not usable for Sigstore" in error.message
        assert f"::add-mask::{EXPIRED}" in capsys.readouterr().out


def test_publish_attestations_fail_clearly_when_the_exchange_fails(
    github_env: pytest.MonkeyPatch, tmp_path: Path
):
    """With OIDC variables present but the exchange failing, attestations are a SigningError."""
    dist = tmp_path / "markupsafe-3.0.0.tar.gz"
    dist.write_bytes(b"sdist")
    with token_endpoint(403, {"message": "no"}) as (port, _):
        github_env.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"http://127.0.0.1:{port}/token")
        with pytest.raises(SigningError, match="could not be fetched"):
            ensure_publish_attestations([dist])
    assert not attestation_path(dist).exists()
