"""The HTTP plumbing under the stub hub: a threaded HTTP/1.1 server, standard library only.

With an ``ssl_context`` it serves HTTPS, as the hub's API does with internal SSL.

It reads bodies (chunked ones too, with a size cap), keeps connections alive, drops
them on stop, and hands each request to an ``App`` that decides the answer. It logs
no request line, since a request line may hold a token; the app logs what it may.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Mapping
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Protocol, cast
from urllib.parse import urlsplit

# Activity bodies are a few hundred bytes; anything near this is not a singleuser.
MAX_BODY_BYTES = 1 << 20
# Idle keep-alive connections give their thread back after this long.
IDLE_TIMEOUT_S = 30.0


class Reply(NamedTuple):
    status: HTTPStatus
    content_type: str
    body: bytes


class Request(NamedTuple):
    """One request; ``refused`` is set (and ``body`` empty) when its body was unreadable."""

    method: str
    path: str  # without the query string
    headers: Message
    body: bytes
    refused: HTTPStatus | None = None


class App(Protocol):
    """What answers the requests a ``Server`` reads."""

    @property
    def headers(self) -> Mapping[str, str]:
        """Sent with every answer, the server's own error pages included."""
        ...

    def answer(self, request: Request) -> Reply: ...


class _BodyTooLarge(Exception):
    pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        name: str,
        version: str,
        logger: logging.Logger,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.name = name  # in log lines
        self.version = version  # the Server header
        self.log = logger
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._tls_refusals: list[str] = []
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._open_lock:
            if open_:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def tls_refusals(self) -> tuple[str, ...]:
        """The reasons of the TLS handshakes that failed so far (e.g. TLSV1_ALERT_UNKNOWN_CA)."""
        with self._open_lock:
            return tuple(self._tls_refusals)

    def close_connections(self) -> None:
        # Clients keep connections alive; unblock their handler threads on stop.
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):  # the peer may have closed it already
                conn.shutdown(socket.SHUT_RDWR)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.ssl_context is None:
            return conn, address
        # The handshake waits for the client; it runs in the connection's own thread
        # (finish_request), never in the accept loop.
        wrapped = self.ssl_context.wrap_socket(
            conn, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(IDLE_TIMEOUT_S)
            try:
                request.do_handshake()
            except (OSError, ValueError) as exc:
                # A client that rejects our certificate, has none from our CA, or
                # speaks plain HTTP: kept, since it is the cause the report must name.
                reason = getattr(exc, "reason", None) or exc.__class__.__name__
                with self._open_lock:
                    self._tls_refusals.append(str(reason))
                self.log.debug("%s refused a TLS handshake from %s", self.name, client_address)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets from a dying container are routine; keep them out of the user's stderr.
        self.log.debug("%s dropped a connection from %s", self.name, client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so tornado's and aiohttp's clients can reuse connections; every
    # response therefore carries a Content-Length.
    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    @property
    def _server(self) -> Server:
        return cast(Server, self.server)

    def version_string(self) -> str:
        return self._server.version

    def setup(self) -> None:
        super().setup()
        self._server.track(self.connection, open_=True)

    def finish(self) -> None:
        self._server.track(self.connection, open_=False)
        super().finish()

    def end_headers(self) -> None:
        for name, value in self._server.app.headers.items():
            self.send_header(name, value)
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the app logs what it may; the request line may hold secrets

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the base class quotes the raw request line here, which may hold secrets

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Only malformed requests get here; the app answers everything else.
        self._server.log.debug("%s rejected a malformed request with %d", self._server.name, code)
        super().send_error(code, message, explain)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk
        # Trailer fields, if any, end with an empty line.
        while self.rfile.readline(8192).strip():
            pass
        return b"".join(chunks)

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        try:
            request = Request(self.command, path, self.headers, self._read_body())
        except (_BodyTooLarge, ValueError) as exc:
            # The body is left unread, so the connection cannot carry another request.
            self.close_connection = True
            refused = (
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                if isinstance(exc, _BodyTooLarge)
                else HTTPStatus.BAD_REQUEST
            )
            request = Request(self.command, path, self.headers, b"", refused)
        reply = self._server.app.answer(request)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch
