"""The HTTP plumbing of the GitHub double: requests, responses, the call log, pagination.

Nothing here knows about releases; `github.py` routes requests to the state and applies faults.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True, kw_only=True)
class Call:
    """One request the double received and what it did with it (`status` None: no answer)."""

    method: str
    path: str
    query: str
    kind: str  # "api", "uploads" or "download"
    status: int | None
    content_type: str | None = None
    body: bytes = b""
    fault: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(kw_only=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # the status line's phrase; None: the standard one


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        content_type="application/json; charset=utf-8",
        headers=headers or {},
    )


def error(status: int, message: str, **extra: Any) -> Response:
    """GitHub's error JSON: message, documentation_url and the status as a string."""
    return json_response(
        status, {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    )


def not_found() -> Response:
    return error(404, "Not Found")


def validation_failed(resource: str, code: str, field_name: str, **extra: Any) -> Response:
    problem = {"resource": resource, "code": code, "field": field_name, **extra}
    return error(422, "Validation Failed", errors=[problem])


def no_content() -> Response:
    return Response(status=204)


@dataclass(kw_only=True)
class Request:
    """A parsed request; the body is read by the caller (streamed for uploads)."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str]) -> Request:
        parts = urlsplit(target)
        return cls(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            raw_query=parts.query,
            headers=headers,
        )

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise TypeError("body is not a JSON object")
        return data

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None else None


def paginate(items: Sequence[Any], request: Request, base: str) -> tuple[list[Any], str | None]:
    """One page of `items` and GitHub's RFC 5988 `Link` header (None when there is one page)."""
    per_page = min(max(_int(request.param("per_page"), 30), 1), 100)
    page = max(_int(request.param("page"), 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(page - 1) * per_page : page * per_page])
    rels: list[tuple[str, int]] = []
    if page > 1:
        rels.append(("prev", page - 1))
    if page < last:
        rels += [("next", page + 1), ("last", last)]
    if page > 1:
        rels.append(("first", 1))
    if not rels:
        return chunk, None
    links = [f'<{_page_url(request, base, n, per_page)}>; rel="{rel}"' for rel, n in rels]
    return chunk, ", ".join(links)


def _page_url(request: Request, base: str, page: int, per_page: int) -> str:
    query = {k: v[0] for k, v in request.query.items()} | {
        "per_page": str(per_page),
        "page": str(page),
    }
    return f"{base}{request.path}?{urlencode(query)}"


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


class Server(ThreadingHTTPServer):
    """A threaded server whose handler can end a connection with a TCP reset."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handle: Callable[[Handler], None]) -> None:
        self.handle = handle
        self._resets: set[int] = set()
        super().__init__(("127.0.0.1", 0), Handler)

    def mark_reset(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._resets.add(id(sock))

    def shutdown_request(self, request: Any) -> None:
        if id(request) in self._resets:
            self._resets.discard(id(request))
            request.close()  # linger 0: the peer sees RST, not FIN
            return
        super().shutdown_request(request)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small writes must not wait for delayed ACKs (40 ms each)
    server: Server

    def do_GET(self) -> None:
        self.server.handle(self)

    # http.server dispatches on do_<METHOD>; every method goes to the same router.
    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's signature
        """Quiet: the call log is the record."""

    def read_exactly(self, size: int) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def reset(self) -> None:
        """End the connection without an answer (the client sees a connection reset)."""
        self.close_connection = True
        self.server.mark_reset(self.connection)

    def send(self, response: Response, common: dict[str, str]) -> None:
        self.send_response(response.status, response.reason)
        headers = common | response.headers
        if response.content_type:
            headers["Content-Type"] = response.content_type
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
