"""A stand-in for the JupyterHub API, so a candidate single-user server can start.

``jupyterhub-singleuser`` refuses to listen until ``GET $JUPYTERHUB_API_URL`` answers
2xx, checks every token it is shown with ``GET .../user``, and posts activity. This
module answers those calls the way JupyterHub 5 does for a server's own token, and
records what it saw so checks can use it as evidence ("the server contacted the hub").

It runs in a background thread of the validator, standard library only. Responses,
statuses and error bodies follow what a real JupyterHub 5.4 hub returned to the same
requests; OAuth is not implemented, only noticed.
"""

from __future__ import annotations

import contextlib
import copy
import hmac
import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, cast
from urllib.parse import quote, urlsplit

log = logging.getLogger(__name__)

# The hub accepts either scheme, in any case, with exactly one token after it.
_AUTH_RE = re.compile(r"^(?:token|bearer)\s+(\S+)$", re.IGNORECASE)
# Activity bodies are a few hundred bytes; anything near this is not a singleuser.
_MAX_BODY_BYTES = 1 << 20
# Idle keep-alive connections give their thread back after this long.
_IDLE_TIMEOUT_S = 30.0
_JSON = "application/json"
_AUTHORIZE_PAGE = (
    b"<!doctype html><title>validator stub hub</title>"
    b"<p>This is the image validator's stand-in hub; it does not implement OAuth.</p>"
)


class SeenRequest(NamedTuple):
    """One request the stub answered; ``path`` has no query string and no token."""

    method: str
    path: str
    status: int


@dataclass(frozen=True)
class HubRecord:
    """What a stub hub saw up to one moment; ``StubHub.record()`` takes it."""

    requests: tuple[SeenRequest, ...]
    contact_times: tuple[float, ...]  # ``time.monotonic()`` of each API-root fetch
    # Token checks (``GET .../user``), accepted or not. The singleuser caches each
    # answer for minutes, so repeated probes with one token show up once.
    user_lookups: int
    activity_posts: tuple[dict[str, Any], ...]  # accepted JSON bodies, oldest first
    authorize_requests: int

    @property
    def contacted(self) -> bool:
        """Whether anything fetched the API root, as the singleuser does before listening."""
        return bool(self.contact_times)

    @property
    def first_contact_at(self) -> float | None:
        return self.contact_times[0] if self.contact_times else None


def escaped_user(user_name: str) -> str:
    """A user name as the hub quotes it in URLs (``User.escaped_name``)."""
    return quote(user_name, safe="@~")


def activity_url(api_url: str, user_name: str) -> str:
    """JUPYTERHUB_ACTIVITY_URL for ``user_name``; the hub puts no server name in it."""
    return f"{api_url}/users/{escaped_user(user_name)}/activity"


class StubHub:
    """A fake hub API on ``http://bind_host:port{base_url}hub/api``, as a context manager.

    ``bind_host`` must be reachable from the candidate server: the Docker network's
    gateway IP for a container, 127.0.0.1 in tests. ``port=0`` picks a free port,
    known once the stub has started. ``api_token`` is the server's
    ``JUPYTERHUB_API_TOKEN``; it is the only token the stub accepts, and it is never
    logged or recorded.
    """

    def __init__(
        self,
        hub_version: str,
        user_name: str,
        server_name: str,
        api_token: str,
        bind_host: str,
        port: int = 0,
        base_url: str = "/",
    ) -> None:
        if not api_token:
            raise ValueError("StubHub needs a non-empty api_token")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port!r}")
        self.hub_version = hub_version
        self.user_name = user_name
        self.server_name = server_name
        self.bind_host = bind_host
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self._api_token = api_token
        self._requested_port = port
        self._bound_port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # One lock guards every record below: server threads write, record() reads.
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []
        self._contact_times: list[float] = []
        self._user_lookups = 0
        self._activity_posts: list[dict[str, Any]] = []
        self._authorize_requests = 0
        self._last_activity = _isoformat(datetime.now(timezone.utc))

    # -- lifetime ---------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve in a daemon thread; raises OSError if the address is taken."""
        if self._server is not None:
            raise RuntimeError("StubHub is already started")
        server = _Server((self.bind_host, self._requested_port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"stubhub-{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        self._bound_port = int(server.server_address[1])
        thread.start()
        log.debug("Started stub hub at %s (version %s)", self.api_url, self.hub_version)

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and close the socket.

        Safe to call twice, and on a stub that never started.
        """
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        log.debug("Stopped stub hub on port %d", server.server_address[1])

    def __enter__(self) -> StubHub:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses the spawn environment needs ----------------------------------

    @property
    def port(self) -> int:
        """The port served on; it stays known after stop() so reports can quote URLs."""
        if self._bound_port is not None:
            return self._bound_port
        if self._requested_port:
            return self._requested_port
        raise RuntimeError("StubHub picks its port when started; start it first")

    @property
    def host_url(self) -> str:
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        return f"http://{host}:{self.port}"

    @property
    def hub_prefix(self) -> str:
        """``{base_url}hub/``, the prefix the singleuser derives from JUPYTERHUB_BASE_URL."""
        return f"{self.base_url}hub/"

    @property
    def api_url(self) -> str:
        """JUPYTERHUB_API_URL."""
        return f"{self.host_url}{self.hub_prefix}api"

    @property
    def activity_url(self) -> str:
        """JUPYTERHUB_ACTIVITY_URL."""
        return activity_url(self.api_url, self.user_name)

    @property
    def oauth_authorize_path(self) -> str:
        """Where the singleuser sends browsers when JUPYTERHUB_HOST is empty.

        An unauthenticated page request must be redirected to this path plus a query.
        """
        return f"{self.hub_prefix}api/oauth2/authorize"

    @property
    def scopes(self) -> list[str]:
        """The scopes JupyterHub 5 reports for a server's own token (the 'server' role)."""
        user = self.user_name
        return sorted(
            {
                f"access:servers!server={user}/{self.server_name}",
                f"read:users:activity!user={user}",
                f"read:users:groups!user={user}",
                f"read:users:name!user={user}",
                f"users:activity!user={user}",
            }
        )

    # -- records ----------------------------------------------------------------

    def record(self) -> HubRecord:
        """A snapshot of everything seen so far; later requests do not change it."""
        with self._lock:
            return HubRecord(
                requests=tuple(self._seen),
                contact_times=tuple(self._contact_times),
                user_lookups=self._user_lookups,
                activity_posts=tuple(copy.deepcopy(self._activity_posts)),
                authorize_requests=self._authorize_requests,
            )

    @property
    def contacted(self) -> bool:
        """Whether anything fetched the API root, as the singleuser does before listening."""
        return self.record().contacted

    @property
    def contact_count(self) -> int:
        return len(self.record().contact_times)

    # -- request handling (called from server threads) --------------------------

    def _token_ok(self, authorization: str | None) -> bool:
        match = _AUTH_RE.match(authorization or "")
        if match is None:
            return False
        return hmac.compare_digest(match.group(1).encode(), self._api_token.encode())

    def _redact(self, path: str) -> str:
        # Pre-2.0 singleusers put the token in the path (/authorizations/token/<t>).
        return path.replace(self._api_token, "[secret]")

    def _respond(self, method: str, path: str, authorization: str | None, body: bytes) -> _Reply:
        api = f"{self.hub_prefix}api"
        if path in (api, f"{api}/"):
            if method != "GET":
                return _error(HTTPStatus.METHOD_NOT_ALLOWED)
            with self._lock:
                self._contact_times.append(time.monotonic())
            return _json_reply(HTTPStatus.OK, {"version": self.hub_version})
        if path == f"{api}/user":
            if method != "GET":
                return _error(HTTPStatus.METHOD_NOT_ALLOWED)
            with self._lock:
                self._user_lookups += 1
            if not self._token_ok(authorization):
                return _error(HTTPStatus.FORBIDDEN)
            return _json_reply(HTTPStatus.OK, self._user_model())
        if path.startswith(f"{api}/users/") and path.endswith("/activity"):
            if method != "POST":
                return _error(HTTPStatus.METHOD_NOT_ALLOWED)
            return self._activity(path, authorization, body)
        if path == self.oauth_authorize_path:
            with self._lock:
                self._authorize_requests += 1
            return _Reply(HTTPStatus.OK, "text/html; charset=utf-8", _AUTHORIZE_PAGE)
        return _error(HTTPStatus.NOT_FOUND)

    def _user_model(self) -> dict[str, Any]:
        # A server token may read the owner's name, groups and activity, nothing more,
        # so the hub leaves out 'server', 'servers' and 'roles'.
        with self._lock:
            last_activity = self._last_activity
        return {
            "admin": False,
            "groups": [],
            "last_activity": last_activity,
            "kind": "user",
            "name": self.user_name,
            "token_id": "a1",
            "session_id": None,
            "scopes": self.scopes,
        }

    def _activity(self, path: str, authorization: str | None, body: bytes) -> _Reply:
        if not self._token_ok(authorization):
            return _error(HTTPStatus.FORBIDDEN, "Missing or invalid credentials.")
        if path != f"{self.hub_prefix}api/users/{escaped_user(self.user_name)}/activity":
            # The hub hides other users behind the same 404 whether they exist or not.
            return _error(HTTPStatus.NOT_FOUND, "No access to resources or resources not found")
        try:
            post = json.loads(body or b"null")
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "Invalid JSON in body of request")
        if not isinstance(post, dict):
            return _error(HTTPStatus.BAD_REQUEST, "body must be a json dict")
        if not post.get("last_activity") and not post.get("servers"):
            return _error(
                HTTPStatus.BAD_REQUEST,
                "body must contain at least one of `last_activity` or `servers`",
            )
        with self._lock:
            self._activity_posts.append(post)
            if isinstance(post.get("last_activity"), str):
                self._last_activity = post["last_activity"]
        return _Reply(HTTPStatus.OK, _JSON, b"")

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._seen.append(SeenRequest(method, path, status))


class _Reply(NamedTuple):
    status: HTTPStatus
    content_type: str
    body: bytes


def _json_reply(status: HTTPStatus, payload: dict[str, Any]) -> _Reply:
    return _Reply(status, _JSON, json.dumps(payload).encode())


def _error(status: HTTPStatus, message: str | None = None) -> _Reply:
    # The hub's API error body: the code again, and its reason unless it has a message.
    return _json_reply(status, {"status": int(status), "message": message or status.phrase})


def _isoformat(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


class _BodyTooLarge(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], hub: StubHub) -> None:
        self.hub = hub
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._open_lock:
            if open_:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def close_connections(self) -> None:
        # Clients keep connections alive; unblock their handler threads on stop.
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):  # the peer may have closed it already
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets from a dying container are routine; keep them out of the user's stderr.
        log.debug("Stub hub dropped a connection from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so tornado's and aiohttp's clients can reuse connections; every
    # response therefore carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "validator-stubhub"
    sys_version = ""
    timeout = _IDLE_TIMEOUT_S

    @property
    def _stub(self) -> StubHub:
        return cast(_Server, self.server).hub

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).track(self.connection, open_=True)

    def finish(self) -> None:
        cast(_Server, self.server).track(self.connection, open_=False)
        super().finish()

    def end_headers(self) -> None:
        # Every answer, errors from the base class included, names the hub version.
        self.send_header("X-JupyterHub-Version", self._stub.hub_version)
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch logs method and path only; the request line may hold secrets

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the base class quotes the raw request line here, which may hold secrets

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Only malformed requests get here; the handlers below answer everything else.
        log.debug("Stub hub rejected a malformed request with %d", code)
        super().send_error(code, message, explain)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY_BYTES:
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
            if total > _MAX_BODY_BYTES:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk
        # Trailer fields, if any, end with an empty line.
        while self.rfile.readline(8192).strip():
            pass
        return b"".join(chunks)

    def _dispatch(self) -> None:
        stub = self._stub
        path = stub._redact(urlsplit(self.path).path)
        try:
            body = self._read_body()
        except (_BodyTooLarge, ValueError) as exc:
            # The body is left unread, so the connection cannot carry another request.
            self.close_connection = True
            too_large = isinstance(exc, _BodyTooLarge)
            reply = _error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_large else HTTPStatus.BAD_REQUEST
            )
        else:
            reply = stub._respond(self.command, path, self.headers.get("Authorization"), body)
        # Recorded before answering, so a client that has its answer sees the record.
        stub._record(self.command, path, int(reply.status))
        log.debug("Stub hub answered %s %s with %d", self.command, path, reply.status)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch
