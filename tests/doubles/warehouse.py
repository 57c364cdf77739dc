"""A PyPI-like layer in front of pypiserver: trusted publishing and PEP 740, as Warehouse does.

pypiserver stores and serves the files; this WSGI layer adds what PyPI does around an upload
and nothing else:

- trusted publishing: `GET /_/oidc/audience` and `POST /_/oidc/mint-token`. The OIDC token's
  signature is checked against the issuer's published keys (the local instance's JWKS), its
  audience and issuer too; the claims must match a registered trusted publisher (repository,
  workflow file from `job_workflow_ref`, environment when the publisher names one). Refusals
  are Warehouse's 422 `{"message": "Token request failed", "errors": [...]}`.
- uploads with a minted token are allowed for the publisher's project only and are passed to
  pypiserver with its own upload password.
- PEP 740: an upload's `attestations` are refused unless it uses trusted publishing; each is
  verified the way Warehouse's IntegrityService verifies them (pypi-attestations' publisher
  policy for the trusted publisher, exactly one subject naming the file with its sha256, a
  known predicate type), except that the verifier is built from the local Sigstore instance's
  trusted root: `Attestation.verify` only knows Sigstore's production and staging roots.
  A refusal is Warehouse's `400 Invalid attestations supplied during upload: ...`.
- the Integrity API: `GET /integrity/<project>/<version>/<file>/provenance` answers the stored
  provenance (one attestation bundle, with the publisher that uploaded it).
- the JSON API's release page, `GET /pypi/<project>/<version>/json`: the release's files as
  pypiserver holds them, each with its sha256 and upload time (the file's modification time),
  which the action reads to confirm a release is exactly the approved files.

Configured per test through `POST /_test/config` (issuer, audience, JWKS URL, the Sigstore
instance's trust configuration, publishers) and emptied by `POST /_test/reset`. Run as
`python -m tests.doubles.warehouse DIR` with the upload password in `PYPISERVER_PASSWORD`; it
prints its port.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jwt
from packaging.utils import (
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from pydantic import TypeAdapter, ValidationError
from pypi_attestations import (
    Attestation,
    AttestationBundle,
    AttestationType,
    GitHubPublisher,
    Provenance,
    VerificationError,
)
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig
from sigstore.verify import Verifier

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    StartResponse = Callable[..., Any]
    WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

INTEGRITY_TYPE: Final = "application/vnd.pypi.integrity.v1+json"
MINTED_LIFETIME: Final = 900
_MAX_ATTESTATIONS: Final = len(AttestationType)


@dataclass(frozen=True, slots=True)
class TrustedPublisher:
    project: str
    repository: str
    workflow: str
    environment: str = ""

    def identity(self) -> GitHubPublisher:
        return GitHubPublisher(repository=self.repository, workflow=self.workflow,
                               environment=self.environment or None)

    def matches(self, claims: dict[str, Any]) -> bool:
        job_workflow = str(claims.get("job_workflow_ref", "")).split("@", 1)[0]
        environment = str(claims.get("environment") or "")
        return (
            claims.get("repository") == self.repository
            and job_workflow == f"{self.repository}/.github/workflows/{self.workflow}"
            and (not self.environment or environment.lower() == self.environment.lower())
        )


@dataclass
class _State:
    issuer: str = ""
    audience: str = "pypi"
    jwks_url: str = ""
    verifier: Verifier | None = None
    publishers: list[TrustedPublisher] = field(default_factory=list)
    minted: dict[str, tuple[TrustedPublisher, float]] = field(default_factory=dict)
    provenance: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    jwks: jwt.PyJWKClient | None = None


class RefusedError(Exception):
    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


class WarehouseLayer:
    def __init__(self, app: WsgiApp, *, upload_password: str, packages: Path) -> None:
        self._app = app
        self._packages = packages
        self._password = upload_password
        self._state = _State()
        self._lock = threading.Lock()

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        routes: dict[tuple[str, str], Callable[[], Iterable[bytes]]] = {
            ("POST", "/_test/config"): lambda: self._json(
                start_response, 200, self._configure(_read(environ))),
            ("POST", "/_test/reset"): lambda: self._json(start_response, 200, self._reset()),
            ("GET", "/_/oidc/audience"): lambda: self._json(
                start_response, 200, {"audience": self._state.audience}),
            ("POST", "/_/oidc/mint-token"): lambda: self._json(
                start_response, 200, self._mint(_read(environ))),
            ("POST", "/"): lambda: self._upload(environ, start_response),
            ("POST", "/legacy/"): lambda: self._upload(environ, start_response),
        }
        if method == "GET" and path.startswith("/integrity/"):
            routes[method, path] = lambda: self._integrity(path, start_response)
        if method == "GET" and path.startswith("/pypi/") and path.endswith("/json"):
            routes[method, path] = lambda: self._release_json(path, start_response)
        route = routes.get((method, path))
        if route is None:
            return self._app(environ, start_response)
        try:
            return route()
        except RefusedError as refusal:
            if refusal.body is not None:
                return self._json(start_response, refusal.status, refusal.body)
            return _text(start_response, refusal.status, refusal.message)

    def _reset(self) -> dict[str, Any]:
        with self._lock:
            self._state.minted.clear()
            self._state.provenance.clear()
        return {"reset": True}

    def _json(self, start_response: StartResponse, status: int, body: Any,
              content_type: str = "application/json") -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(f"{status} {_REASONS.get(status, 'OK')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    # --- configuration --------------------------------------------------------------------

    def _configure(self, body: bytes) -> dict[str, Any]:
        config = json.loads(body)
        trust = config.get("trust_config")
        with self._lock:
            state = self._state
            state.issuer = config.get("issuer", state.issuer)
            state.audience = config.get("audience", state.audience)
            if config.get("jwks_url"):
                state.jwks_url = config["jwks_url"]
                state.jwks = jwt.PyJWKClient(state.jwks_url, cache_keys=True)
            if trust:
                trusted_root = ClientTrustConfig.from_json(json.dumps(trust)).trusted_root
                state.verifier = Verifier(trusted_root=trusted_root)
            if "publishers" in config:
                state.publishers = [TrustedPublisher(**p) for p in config["publishers"]]
        return {"publishers": len(self._state.publishers)}

    # --- trusted publishing ---------------------------------------------------------------

    def _mint(self, body: bytes) -> dict[str, Any]:
        try:
            token = json.loads(body)["token"]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str):
            raise _mint_refusal("invalid-payload", "invalid payload")
        claims = self._verified_claims(token)
        state = self._state
        publisher = next((p for p in state.publishers if p.matches(claims)), None)
        if publisher is None:
            raise _mint_refusal(
                "invalid-publisher",
                "valid token, but no corresponding publisher (Publisher with matching claims "
                "was not found)",
            )
        minted = "pypi-" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        expires = int(time.time()) + MINTED_LIFETIME
        with self._lock:
            state.minted[minted] = (publisher, expires)
        return {"success": True, "token": minted, "expires": expires}

    def _verified_claims(self, token: str) -> dict[str, Any]:
        state = self._state
        if state.jwks is None:
            raise _mint_refusal("not-enabled", "trusted publishing is not configured")
        try:
            key = state.jwks.get_signing_key_from_jwt(token).key
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=state.audience, issuer=state.issuer,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
            )
        except jwt.PyJWTError:
            raise _mint_refusal("invalid-token", "malformed or invalid token") from None
        return claims

    # --- uploads --------------------------------------------------------------------------

    def _upload(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        token = _basic_password(environ.get("HTTP_AUTHORIZATION", ""))
        minted = self._state.minted.get(token or "")
        if minted is None:
            publisher = None
        else:
            publisher, expires = minted
            if time.time() >= expires:
                raise RefusedError(403, "Invalid API Token: the minted token has expired")
        form = _form(environ.get("CONTENT_TYPE", ""), body)
        if form.get(":action", b"").decode() != "file_upload":
            return self._app(environ, start_response)
        name, version = form.get("name", b"").decode(), form.get("version", b"").decode()
        filename, content = form.get("content.filename", b"").decode(), form.get("content", b"")
        if publisher is not None:
            if canonicalize_name(name) != canonicalize_name(publisher.project):
                raise RefusedError(403, "Invalid API Token: OIDC scoped token is not valid for "
                              f"project '{name}'")
            environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(
                f"__token__:{self._password}".encode()).decode()
        attestations = None
        if "attestations" in form:
            try:
                attestations = self._check_attestations(
                    publisher, form["attestations"], filename, content)
            except RefusedError as refusal:
                raise RefusedError(400, f"Invalid attestations supplied during upload: "
                              f"{refusal.message}") from None
        status: list[str] = []

        def recording(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        result = list(self._app(environ, recording))
        if attestations and publisher and status and status[0].startswith("200"):
            provenance = Provenance(attestation_bundles=[AttestationBundle(
                publisher=publisher.identity(), attestations=attestations)])
            key = (str(canonicalize_name(name)), version, filename)
            with self._lock:
                self._state.provenance[key] = provenance.model_dump(mode="json")
        return result

    def _check_attestations(self, publisher: TrustedPublisher | None, raw: bytes,
                            filename: str, content: bytes) -> list[Attestation]:
        """Warehouse's IntegrityService.parse_attestations, with the local trusted root."""
        if publisher is None:
            raise RefusedError(400, "Attestations are only supported when using Trusted Publishing")
        try:
            attestations = TypeAdapter(list[Attestation]).validate_json(raw)
        except ValidationError as exc:
            raise RefusedError(400, f"Malformed attestations: {exc}") from None
        if not attestations:
            raise RefusedError(400, "Malformed attestations: an empty attestation set is not "
                          "permitted")
        if len(attestations) > _MAX_ATTESTATIONS:
            raise RefusedError(400, f"A maximum of {_MAX_ATTESTATIONS} attestations per file are "
                          "supported")
        digest = hashlib.sha256(content).hexdigest()
        seen: set[str] = set()
        for attestation in attestations:
            try:
                predicate_type = self._verify(attestation, publisher, filename, digest)
            except VerificationError as exc:
                raise RefusedError(400, "Could not verify the uploaded artifact using the included "
                              f"attestation: {exc}") from None
            if predicate_type in seen:
                raise RefusedError(400, "Multiple attestations for the same file with the same "
                              f"predicate type ({predicate_type}) are not supported")
            seen.add(predicate_type)
        return attestations

    def _verify(self, attestation: Attestation, publisher: TrustedPublisher, filename: str,
                digest: str) -> str:
        """`Attestation.verify(publisher, dist)`, with a verifier of the local trusted root."""
        verifier = self._state.verifier
        if verifier is None:
            raise VerificationError("no trusted root is configured")
        # The trusted publisher's policy, as Warehouse applies it.
        policy = publisher.identity()._as_policy()
        try:
            kind, payload = verifier.verify_dsse(attestation.to_bundle(), policy)
        except SigstoreError as exc:
            raise VerificationError(str(exc)) from exc
        if kind != "application/vnd.in-toto+json":
            raise VerificationError(f"expected JSON envelope, got {kind}")
        statement = json.loads(payload)
        subjects = statement.get("subject") or []
        if len(subjects) != 1:
            raise VerificationError("too many subjects in statement (must be exactly one)")
        subject = subjects[0]
        try:
            if _parsed(subject.get("name", "")) != _parsed(filename):
                raise VerificationError(
                    f"subject does not match distribution name: {subject.get('name')} != "
                    f"{filename}")
        except ValueError as exc:
            raise VerificationError(f"invalid subject: {exc}") from None
        if subject.get("digest", {}).get("sha256") != digest:
            raise VerificationError("subject does not match distribution digest")
        predicate_type = str(statement.get("predicateType"))
        try:
            AttestationType(predicate_type)
        except ValueError:
            raise VerificationError(f"unknown attestation type: {predicate_type}") from None
        return predicate_type

    # --- the Integrity API ----------------------------------------------------------------

    def _integrity(self, path: str, start_response: StartResponse) -> list[bytes]:
        parts = path.strip("/").split("/")
        if len(parts) != 5 or parts[4] != "provenance":
            raise RefusedError(404, "Not Found", {"message": "Not Found"})
        _, project, version, filename, _ = parts
        found = self._state.provenance.get((str(canonicalize_name(project)), version, filename))
        if found is None:
            raise RefusedError(404, "Not Found",
                          {"message": f"No provenance available for {filename}"})
        return self._json(start_response, 200, found, INTEGRITY_TYPE)


    # --- the JSON API (a release's files) ---------------------------------------------------

    def _release_json(self, path: str, start_response: StartResponse) -> list[bytes]:
        parts = path.strip("/").split("/")
        if len(parts) != 4:  # pypi, project, version, json
            raise RefusedError(404, "Not Found", {"message": "Not Found"})
        _, project, version, _ = parts
        urls = []
        for file in sorted(p for p in self._packages.rglob("*") if p.is_file()):
            try:
                name, held, *_ = _parsed(file.name)  # (name, version, ...)
            except ValueError:
                continue
            if name != canonicalize_name(project) or str(held) != version:
                continue
            moment = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(file.stat().st_mtime))
            urls.append({"filename": file.name, "packagetype": "bdist_wheel"
                         if file.name.endswith(".whl") else "sdist",
                         "digests": {"sha256": hashlib.sha256(file.read_bytes()).hexdigest()},
                         "size": file.stat().st_size, "upload_time_iso_8601": moment})
        if not urls:
            raise RefusedError(404, "Not Found", {"message": "Not Found"})
        return self._json(start_response, 200, {
            "info": {"name": str(canonicalize_name(project)), "version": version}, "urls": urls})


_REASONS: Final = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                   422: "Unprocessable Entity"}


def _parsed(name: str) -> object:
    if name.endswith(".whl"):
        return parse_wheel_filename(name)
    if name.endswith((".tar.gz", ".zip")):
        return parse_sdist_filename(name)
    raise ValueError(f"unknown distribution format: {name}")


def _mint_refusal(code: str, description: str) -> RefusedError:
    return RefusedError(422, "Token request failed", {
        "message": "Token request failed", "errors": [{"code": code, "description": description}],
    })


def _read(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return bytes(environ["wsgi.input"].read(length)) if length else b""


def _basic_password(header: str) -> str | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return password if user == "__token__" else None


def _form(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body (a file field also gives `<name>.filename`)."""
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        fields[name] = part.get_payload(decode=True) or b""
        filename = part.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            fields[f"{name}.filename"] = filename.encode()
    return fields


def _text(start_response: StartResponse, status: int, message: str) -> list[bytes]:
    """Warehouse's `_exc_with_message`: the message is the status line's reason and the body."""
    data = f"{status} {message}\n\n{message}\n".encode()
    start_response(f"{status} {message}", [("Content-Type", "text/plain; charset=utf-8"),
                                           ("Content-Length", str(len(data)))])
    return [data]


def main(packages: Path) -> None:
    import pypiserver

    password = os.environ["PYPISERVER_PASSWORD"]
    app = pypiserver.app(
        roots=[packages], authenticate=["update"],
        auther=lambda user, pw: user == "__token__" and pw == password,
        disable_fallback=True, backend_arg="simple-dir", health_endpoint="/health",
    )

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

    layer = WarehouseLayer(app, upload_password=password, packages=packages)
    server = make_server("127.0.0.1", 0, layer, server_class=Server, handler_class=Quiet)
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
