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

import copy
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import quote

from validator.runtime._http import Reply, Request, Server
from validator.runtime.tls import InternalSSL

log = logging.getLogger(__name__)

# The hub accepts either scheme, in any case, with exactly one token after it.
_AUTH_RE = re.compile(r"^(?:token|bearer)\s+(\S+)$", re.IGNORECASE)
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
    # With internal SSL: why each failed TLS handshake failed, as the stub's side saw it.
    tls_refusals: tuple[str, ...] = ()

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

    With ``internal_ssl`` it makes the spawn's certificates (``tls``, once started) and
    serves ``https://``, demanding a client certificate from that CA, as the hub's API
    does with ``internal_ssl = True``.

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
        *,
        internal_ssl: bool = False,
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
        self.internal_ssl = internal_ssl
        self._tls: InternalSSL | None = None
        self._requested_port = port
        self._bound_port: int | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        # One lock guards every record below: server threads write, record() reads.
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []
        self._contact_times: list[float] = []
        self._user_lookups = 0
        self._activity_posts: list[dict[str, Any]] = []
        self._authorize_requests = 0
        self._refusals: tuple[str, ...] = ()  # kept past stop(), like the other records
        self._last_activity = _isoformat(datetime.now(timezone.utc))

    # -- lifetime ---------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve in a daemon thread; raises OSError if the address is taken."""
        if self._server is not None:
            raise RuntimeError("StubHub is already started")
        tls = InternalSSL() if self.internal_ssl else None
        try:
            server = Server(
                (self.bind_host, self._requested_port),
                _Answers(self),
                name="Stub hub",
                version="validator-stubhub",
                logger=log,
                ssl_context=tls.hub_context(self.bind_host) if tls is not None else None,
            )
        except BaseException:
            if tls is not None:
                tls.close()
            raise
        self._tls = tls
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
        self._refusals = server.tls_refusals()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        if self._tls is not None:
            self._tls.close()
            self._tls = None
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
    def tls(self) -> InternalSSL | None:
        """The spawn's internal-SSL certificates while started with ``internal_ssl``."""
        return self._tls

    @property
    def host_url(self) -> str:
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        scheme = "https" if self.internal_ssl else "http"
        return f"{scheme}://{host}:{self.port}"

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
                tls_refusals=self._last_refusals(),
            )

    def _last_refusals(self) -> tuple[str, ...]:
        server = self._server
        if server is not None:
            self._refusals = server.tls_refusals()
        return self._refusals

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

    def _respond(self, method: str, path: str, authorization: str | None, body: bytes) -> Reply:
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
            return Reply(HTTPStatus.OK, "text/html; charset=utf-8", _AUTHORIZE_PAGE)
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

    def _activity(self, path: str, authorization: str | None, body: bytes) -> Reply:
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
        return Reply(HTTPStatus.OK, _JSON, b"")

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._seen.append(SeenRequest(method, path, status))


class _Answers:
    """The stub as the HTTP server's app (kept off StubHub's public surface)."""

    def __init__(self, hub: StubHub) -> None:
        self.hub = hub
        # Every answer, errors from the server itself included, names the hub version.
        self.headers: Mapping[str, str] = {"X-JupyterHub-Version": hub.hub_version}

    def answer(self, request: Request) -> Reply:
        hub = self.hub
        path = hub._redact(request.path)
        if request.refused is not None:
            reply = _error(request.refused)
        else:
            authorization = request.headers.get("Authorization")
            reply = hub._respond(request.method, path, authorization, request.body)
        # Recorded before answering, so a client that has its answer sees the record.
        hub._record(request.method, path, int(reply.status))
        log.debug("Stub hub answered %s %s with %d", request.method, path, reply.status)
        return reply


def _json_reply(status: HTTPStatus, payload: dict[str, Any]) -> Reply:
    return Reply(status, _JSON, json.dumps(payload).encode())


def _error(status: HTTPStatus, message: str | None = None) -> Reply:
    # The hub's API error body: the code again, and its reason unless it has a message.
    return _json_reply(status, {"status": int(status), "message": message or status.phrase})


def _isoformat(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"
