"""A real JupyterHub, run as the referee for the validator's verdicts.

``RealHub`` starts the hub from the venv that ``scripts/setup-referee.sh`` builds:
JupyterHub with DockerSpawner and configurable-http-proxy, on this machine's
Docker engine. ``spawn_outcome(image, user)`` asks that hub to spawn ``image``
exactly as a user would (through the REST API, the image chosen in
``user_options``) and records what the hub concluded, whether the server answers
through the proxy and whether a kernel runs code. The validator is right about an
image when its verdict agrees with that outcome.

``HubConfig`` says which hub: ``PLAIN`` is a stock DockerSpawner deployment
(image CMD, image USER, a plain bridge network, default timeouts), because
any deviation would make the referee judge a different contract than the one
real hubs enforce. ``SSL`` is the same spawner configured the way Jupyter4NFDI
runs custom images: internal SSL, port 8443, a named server with a random name,
a user name that is an identity string, and an empty user-data directory
bind-mounted at ``/home/jovyan/work``.

Manual use::

    python -m tests.referee.hub [--log-dir DIR] IMAGE [IMAGE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

import docker
import docker.errors
import docker.types
import requests
import websocket

from validator.checks.runtime.kernel import execute_request

__all__ = [
    "CONFIGS",
    "DEFAULT_VENV",
    "PLAIN",
    "REFEREE_LABEL",
    "SSL",
    "HubConfig",
    "HubOutcome",
    "RealHub",
    "RefereeError",
    "bridge_gateway",
    "default_venv",
]

log = logging.getLogger(__name__)

DEFAULT_VENV = Path("/opt/jhiv-referee")
REFEREE_LABEL = "org.jupyter.image-validator.referee"
"""Label on every container the referee's hub spawns; its value is the hub's session id."""

SERVICE_NAME = "jhiv-referee"
# What the referee's own token needs: create and delete users, start and stop
# their servers, follow spawn progress, and talk to the servers through the proxy
# (a user server only admits tokens holding ``access:servers`` for it).
SERVICE_SCOPES = ["admin:users", "servers", "access:servers"]

_POLL_INTERVAL = 0.1
_HUB_STARTUP_TIMEOUT = 60.0
_HUB_SHUTDOWN_TIMEOUT = 10.0
# DockerSpawner stops a container with Docker's default grace period (10 s);
# leave room for that plus the removal.
_STOP_TIMEOUT = 30.0
_PROBE_TIMEOUT = 30.0
_LOG_TAIL_LINES = 60
# The hub's answer when the spawner raised something it did not expect; the cause
# is then only in its log.
_GENERIC_MESSAGES = frozenset({"error", "Internal Server Error", "Unhandled error"})
# "[W 2026-11-26 00:45:58.361 JupyterHub dockerspawner:1013] Container not found: x"
_LOG_LINE = re.compile(r"^\[[WEC] \S+ \S+ \S+ (?P<source>[\w.]+):\d+\] (?P<message>.*)$")


class RefereeError(RuntimeError):
    """The referee itself failed (hub did not start, API misbehaved): no verdict on an image."""


def default_venv() -> Path:
    """The referee venv: ``$REFEREE_VENV``, as in ``scripts/setup-referee.sh``."""
    return Path(os.environ.get("REFEREE_VENV") or DEFAULT_VENV)


@dataclass(frozen=True)
class HubConfig:
    """How the referee's JupyterHub + DockerSpawner is configured; one hub per value."""

    name: str
    """Short name, used in test ids and the agreement table."""
    profile: str
    """The validator profile (a built-in name or a file) that describes this hub."""
    internal_ssl: bool = False
    """``JupyterHub.internal_ssl``: every hop (proxy, hub API, servers) is mutual TLS."""
    port: int | None = None
    """``DockerSpawner.port``; None keeps its default (8888)."""
    named_servers: bool = False
    """Spawn a named server with a fresh random name instead of the default server."""
    identity_user: bool = False
    """User names are identity strings (``<hex>@login.example.org``), as on Jupyter4NFDI."""
    user_dir: str | None = None
    """Where a fresh, empty host directory is bind-mounted for each spawn (None: no mount)."""
    user_dir_owner: tuple[int, int] = (1000, 100)
    user_dir_mode: int = 0o755


PLAIN = HubConfig(name="plain", profile="dockerspawner")
SSL = HubConfig(
    name="ssl",
    profile=str(Path(__file__).resolve().parent / "profiles" / "referee-ssl.yaml"),
    internal_ssl=True,
    port=8443,
    named_servers=True,
    identity_user=True,
    user_dir="/home/jovyan/work",
)
CONFIGS = (PLAIN, SSL)


@dataclass(frozen=True)
class HubOutcome:
    """What a real hub made of one spawn of one image."""

    image: str
    ready: bool
    """The hub declared the server ready (spawn progress said so, or the POST answered 201)."""
    api_ok: bool
    """``GET /user/<u>/api`` through the proxy gave 200 JSON with ``version`` and the hub header."""
    kernel_ok: bool
    """A python3 kernel started through the proxy and printed 42 for ``print(6*7)``."""
    failure: str | None
    """The hub's own explanation when it did not declare the server ready."""
    seconds_to_ready: float | None
    """From the spawn request to the hub declaring the server ready."""
    seconds_total: float
    """The whole ``spawn_outcome`` call: user setup, spawn, probes and teardown."""
    problems: tuple[str, ...] = ()
    """Why ``api_ok`` or ``kernel_ok`` is false, in the referee's words."""
    stayed_up: bool = True
    """The server still answered ``/api`` after the stability window (if one was asked)."""
    data_writable: bool | None = None
    """A file could be written into the user-data directory through the contents API
    (None: the configuration mounts none, or the server never answered)."""
    seconds_watched: float | None = None
    """From the server's first answer to the last probe that still reached it."""
    seconds_to_stop: float | None = None
    """From the hub's stop request to the server being gone (Docker's grace period is 10 s)."""
    config: str = "plain"
    user: str = ""
    server_name: str = ""
    hub_log: str = field(default="", repr=False, compare=False)
    """The hub's log lines written during this spawn."""
    container_log: str = field(default="", repr=False, compare=False)
    """What the container printed, as far as it could be caught before DockerSpawner removed it."""

    @property
    def usable(self) -> bool:
        """Whether a user would get a working server: ready, reachable, able to run code,
        still up after the window and, where user data is mounted, able to save there."""
        return (
            self.ready
            and self.api_ok
            and self.kernel_ok
            and self.stayed_up
            and self.data_writable is not False
        )


@dataclass(frozen=True)
class _SpawnResult:
    ready: bool
    failure: str | None
    seconds_to_ready: float | None


class _ContainerLogs:
    """Follows the output of every container the hub starts, from its first line.

    DockerSpawner removes a container as soon as it exits (``remove=True``), so
    the one place that says why a server died is gone before anyone can ask for
    it; streaming from the moment Docker reports the start is the only way to
    keep it. A container that exits within milliseconds can still be missed.
    """

    def __init__(self, client: docker.DockerClient, label: str) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._logs: dict[str, list[str]] = {}
        self._events = client.events(
            filters={"type": "container", "event": "start", "label": label}, decode=True
        )
        self._watcher = threading.Thread(target=self._watch, name="referee-events", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        with contextlib.suppress(Exception):  # the stream ends with an error on close()
            for event in self._events:
                name = event.get("Actor", {}).get("Attributes", {}).get("name", event["id"])
                follower = threading.Thread(
                    target=self._follow, args=(event["id"], name), daemon=True
                )
                follower.start()

    def _follow(self, container_id: str, name: str) -> None:
        with self._lock:
            lines = self._logs.setdefault(name, [])
        with contextlib.suppress(docker.errors.DockerException):
            for chunk in self._client.api.logs(container_id, stream=True, follow=True):
                with self._lock:
                    lines.append(chunk.decode(errors="replace"))

    def take(self, name: str) -> str:
        """Everything caught so far from the container ``name``; forgets it."""
        with self._lock:
            return "".join(self._logs.pop(name, []))

    def close(self) -> None:
        self._events.close()


class RealHub:
    """A running JupyterHub + DockerSpawner + configurable-http-proxy; use it as a context manager.

    The public side listens on loopback. The hub's own API listens on the Docker
    bridge gateway, which is also what spawned containers are told to call
    (``hub_connect_ip``): the one address both this machine and containers on the
    default bridge can reach.
    """

    def __init__(
        self,
        venv: Path | None = None,
        *,
        config: HubConfig = PLAIN,
        http_timeout: int = 30,
        start_timeout: int = 60,
        slow_spawn_timeout: float = 10.0,
        log_level: str = "INFO",
        docker_client: docker.DockerClient | None = None,
        keep_dir: bool = False,
        authenticator: str = "null",
        extra_config: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """Prepare (but do not start) a hub.

        ``http_timeout`` and ``start_timeout`` are the Spawner settings of the same
        name; the defaults are JupyterHub's own. ``slow_spawn_timeout`` is how long
        the hub's spawn request waits before answering 202 and, past that, when it
        checks whether the container already died: JupyterHub's default is 10 s,
        and changing it changes when (even whether) a crash is reported early.

        ``authenticator`` is ``JupyterHub.authenticator_class``: the referee's own
        tests need no login ("null"); tests of what users see log in ("dummy").
        ``extra_config`` lines are appended to ``jupyterhub_config.py`` (services,
        hooks) and ``extra_env`` is added to the hub's environment.
        """
        self.venv = venv or default_venv()
        self.config = config
        self.http_timeout = http_timeout
        self.start_timeout = start_timeout
        self.slow_spawn_timeout = slow_spawn_timeout
        self.log_level = log_level
        self.keep_dir = keep_dir
        self.authenticator = authenticator
        self.extra_config = extra_config
        self.extra_env = dict(extra_env or {})
        self.session_id = uuid.uuid4().hex[:8]
        self.startup_seconds: float | None = None

        self._docker = docker_client
        self._owns_docker = docker_client is None
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._final_log_tail = ""
        self._container_logs: _ContainerLogs | None = None
        self._token = secrets.token_hex(32)
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"token {self._token}"
        self._public_url = ""
        self.gateway_ip = ""
        self._network: str | None = None
        self._server_addresses: list[str] = []
        self._hub_port = 0

    # -- lifetime ---------------------------------------------------------------

    def __enter__(self) -> RealHub:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the hub and wait until its API answers through the proxy."""
        jupyterhub, chp = self._executables()
        client = self._docker_client()
        self._dir = Path(tempfile.mkdtemp(prefix=f"jhiv-referee-{self.session_id}-"))
        # A bridge network of each hub's own, not Docker's shared default one: a
        # server that dies frees its address at once, and another hub's server
        # started at that address would answer this hub's readiness poll (seen in
        # CI: an image that cannot start was judged ready on another's 404).
        self._create_network(client)
        if self.config.internal_ssl:
            self._build_move_certs_image(client)

        public_port = _free_port("127.0.0.1")
        self._public_url = f"http://127.0.0.1:{public_port}"
        config = self._dir / "jupyterhub_config.py"
        hub_port = self._hub_port = _free_port(self.gateway_ip)
        config.write_text(
            self._render_config(
                public_port=public_port,
                proxy_api_port=_free_port("127.0.0.1"),
                hub_port=hub_port,
                chp=chp,
            )
        )
        cookie_secret = self._dir / "jupyterhub_cookie_secret"
        cookie_secret.write_text(secrets.token_hex(32))
        # The hub refuses a cookie secret file that others can read.
        cookie_secret.chmod(0o600)

        env = dict(os.environ) | self.extra_env
        # configurable-http-proxy is a node script: its interpreter must be on PATH.
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), str(chp.parent), env["PATH"]])
        self._log_file = self.log_path.open("wb")
        self._container_logs = _ContainerLogs(client, f"{REFEREE_LABEL}={self.session_id}")
        started = time.monotonic()
        log.info(
            "Starting referee hub %s at %s (dir %s)", self.session_id, self._public_url, self._dir
        )
        self._process = subprocess.Popen(
            [str(jupyterhub), "--config", str(config)],
            cwd=self._dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Own process group: close() can reach the proxy too if the hub dies first.
            start_new_session=True,
        )
        self._wait_for_hub_api(started, hub_port)
        self.startup_seconds = time.monotonic() - started
        log.info("Referee hub %s up in %.1f s", self.session_id, self.startup_seconds)

    def close(self) -> None:
        """Stop the hub and proxy, remove every container this hub spawned, delete the temp dir.

        Safe to call more than once and after a failed start.
        """
        if self._process is not None:
            self._stop_process(self._process)
            self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
            self._final_log_tail = self.log_tail()
        if self._container_logs is not None:
            self._container_logs.close()
            self._container_logs = None
        try:
            self._remove_containers()
            self._remove_volumes_and_network()
        except docker.errors.DockerException as e:
            log.warning("Could not remove the containers of referee hub %s: %s", self.session_id, e)
        if self._dir is not None and not self.keep_dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._http.close()
        if self._docker is not None and self._owns_docker:
            self._docker.close()
            self._docker = None

    # -- public facts ----------------------------------------------------------

    @property
    def public_url(self) -> str:
        """Where users (and the probes) reach the hub and the servers: the proxy."""
        return self._public_url

    @property
    def api_url(self) -> str:
        return f"{self._public_url}/hub/api"

    @property
    def token(self) -> str:
        """The referee service's API token; also accepted by the spawned servers."""
        return self._token

    @property
    def container_prefix(self) -> str:
        return f"jhiv-referee-{self.session_id}"

    @property
    def log_path(self) -> Path:
        if self._dir is None:
            raise RefereeError("the referee hub has no directory: it was never started")
        return self._dir / "jupyterhub.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the hub's log (also after close, from what was kept)."""
        if self._dir is None or not self.log_path.exists():
            return "\n".join(self._final_log_tail.splitlines()[-lines:])
        with self.log_path.open(errors="replace") as f:
            return "".join(deque(f, maxlen=lines)).rstrip("\n")

    # -- spawning --------------------------------------------------------------

    def new_user_name(self) -> str:
        """A user name no other spawn of this hub uses, shaped as the configuration says."""
        tag = uuid.uuid4().hex
        if self.config.identity_user:
            # The shape of a Helmholtz ID: hex groups, then the identity provider's domain.
            return f"{tag[:8]}-{tag[8:12]}-{tag[12:16]}@login.example.org"
        return f"referee-{tag[:12]}"

    def spawn_outcome(
        self, image: str, user: str | None = None, *, stable_window: float = 0.0
    ) -> HubOutcome:
        """Spawn ``image`` as ``user`` (default: a fresh name), probe it, then stop it and
        delete the user.

        With ``stable_window``, the server must still answer ``stable_window`` seconds
        after it first answered, the probes running inside that window: a user who got
        in and then lost the server during their first steps was not served.
        Spawns of different users may run concurrently on one hub.
        """
        if self._process is None:
            raise RefereeError("the referee hub is not running; use it as a context manager")
        server = _Server(user or self.new_user_name(), _server_name(self.config))
        started = time.monotonic()
        log_offset = self.log_path.stat().st_size
        problems: list[str] = []
        api_ok = kernel_ok = False
        stayed_up = True
        stop_seconds: float | None = None
        data_writable: bool | None = None
        watched: float | None = None
        self._delete_user(server.user)
        self._prepare_user_dir(server)
        self.api("POST", f"users/{server.user}", expect=(201,))
        try:
            spawn = self._spawn(image, server)
            # Read before teardown: stopping a failed server adds warnings of its own.
            spawn_log = self._log_about(self._log_since(log_offset), server)
            if spawn.ready:
                api_ok = self._probe_api(server, problems)
                first_answer = time.monotonic()
                kernel_ok = self._probe_kernel(server, problems)
                if self.config.user_dir is not None and api_ok:
                    data_writable = self._probe_user_dir(server, problems)
                if api_ok:
                    watched = time.monotonic() - first_answer
                if stable_window > 0 and api_ok:
                    time.sleep(max(0.0, first_answer + stable_window - time.monotonic()))
                    stayed_up = self._probe_api(server, problems)
                    if stayed_up:
                        watched = time.monotonic() - first_answer
        finally:
            stop_seconds = self._delete_user(server.user)
            self._remove_user_dir(server)
        hub_log = self._log_about(self._log_since(log_offset), server)
        container_log = ""
        if self._container_logs is not None:
            container_log = self._container_logs.take(self._container_name(server))
        failure = spawn.failure
        if not spawn.ready and (failure is None or failure in _GENERIC_MESSAGES):
            # Some failures reach the API client only as a generic 500; the
            # hub's log then holds the one line that names the cause.
            cause = _last_problem(spawn_log)
            if failure is None:
                failure = cause or "the hub gave no reason and logged no warning"
            elif cause:
                failure = f"{failure} (hub log: {cause})"
        return HubOutcome(
            image=image,
            ready=spawn.ready,
            api_ok=api_ok,
            kernel_ok=kernel_ok,
            failure=failure,
            seconds_to_ready=spawn.seconds_to_ready,
            seconds_total=time.monotonic() - started,
            problems=tuple(problems),
            stayed_up=stayed_up,
            data_writable=data_writable,
            seconds_watched=watched,
            seconds_to_stop=stop_seconds if spawn.ready else None,
            config=self.config.name,
            user=server.user,
            server_name=server.name,
            hub_log=hub_log,
            container_log=container_log,
        )

    def _spawn(self, image: str, server: _Server) -> _SpawnResult:
        # The hub's spawn request itself waits up to slow_spawn_timeout: a spawn
        # that finishes (or fails) sooner is answered right away, and at the
        # deadline the hub checks whether the container already exited. Only past
        # that does the progress stream have anything more to tell.
        requested = time.monotonic()
        response = self._http.post(
            f"{self.api_url}/{server.api_path}",
            json={"image": image},
            timeout=self.slow_spawn_timeout + self.start_timeout + self.http_timeout,
        )
        if response.status_code == 201:
            return _SpawnResult(True, None, time.monotonic() - requested)
        if response.status_code != 202:
            return _SpawnResult(False, self._failure_message(server, response), None)
        deadline = requested + self.start_timeout + self.http_timeout + 30
        event = self._follow_progress(server, deadline)
        if event.get("ready"):
            return _SpawnResult(True, None, time.monotonic() - requested)
        if event.get("failed"):
            return _SpawnResult(False, str(event.get("message") or "Spawn failed"), None)
        # The stream ended without a verdict: ask the user model as a last resort.
        model = self.api("GET", f"users/{server.user}").json().get("servers", {})
        state = model.get(server.name)
        if state and state.get("ready"):
            return _SpawnResult(True, None, time.monotonic() - requested)
        return _SpawnResult(False, None, None)

    def _failure_message(self, server: _Server, response: requests.Response) -> str:
        """The hub's words for a refused spawn request.

        An exception from the spawner reaches the API client only as a bare
        "error"; the progress stream keeps the failed spawn and words it the way
        the spawn page shows it to a user ("Spawn failed: ..."). When the request
        failed while the spawn is still running (the container exited before it
        answered), the stream has nothing more to say and the request's own
        message stands.
        """
        fallback = _hub_message(response)
        event = self._follow_progress(server, time.monotonic() + 2, read_timeout=2)
        if event.get("failed") and event.get("message"):
            return str(event["message"])
        return fallback

    def _follow_progress(
        self, server: _Server, deadline: float, read_timeout: float = 20
    ) -> dict[str, Any]:
        """Read the spawn's event stream until it says ready or failed; return that event."""
        last: dict[str, Any] = {}
        with (
            contextlib.suppress(requests.RequestException),
            self._http.get(
                f"{self.api_url}/{server.api_path}/progress",
                stream=True,
                # The hub writes a keepalive every 8 s, so a longer silence means a dead stream.
                timeout=(5, read_timeout),
            ) as response,
        ):
            if response.status_code != 200:
                # 400 "not starting": the spawn ended between the POST and this GET.
                return {}
            for line in response.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    last = json.loads(line.removeprefix("data:"))
                    log.debug("Spawn progress for %s: %s", server.user, last.get("message"))
                    if last.get("ready") or last.get("failed"):
                        return last
                if time.monotonic() > deadline:
                    break
        return last

    # -- user data -------------------------------------------------------------

    def _user_dir(self, server: _Server) -> Path:
        assert self._dir is not None
        return self._dir / "userdata" / server.name

    def _prepare_user_dir(self, server: _Server) -> None:
        # What the platform gives a user: a directory that already exists (so Docker
        # does not create it as root), empty, owned by the default images' user.
        if self.config.user_dir is None:
            return
        path = self._user_dir(server)
        path.mkdir(parents=True)
        os.chown(path, *self.config.user_dir_owner)
        path.chmod(self.config.user_dir_mode)

    def _remove_user_dir(self, server: _Server) -> None:
        if self.config.user_dir is not None:
            shutil.rmtree(self._user_dir(server), ignore_errors=True)

    def _probe_user_dir(self, server: _Server, problems: list[str]) -> bool | None:
        """Save a file into the user-data directory the way JupyterLab does (contents API).

        None when the server stopped answering first: that says nothing about the directory.
        """
        assert self.config.user_dir is not None
        base = f"{self._server_url(server)}/api/contents"
        # The contents root is the server's working directory, which the image decides;
        # find the mount among the paths it can have below that root.
        parts = self.config.user_dir.strip("/").split("/")
        for start in range(len(parts)):
            relative = quote("/".join(parts[start:]))
            try:
                listing = self._http.get(
                    f"{base}/{relative}", params={"content": "0"}, timeout=_PROBE_TIMEOUT
                )
            except requests.RequestException as e:
                problems.append(f"user dir: listing failed: {e}")
                return None
            if listing.status_code == 200 and listing.json().get("type") == "directory":
                break
            if listing.status_code != 404:
                problems.append(f"user dir: listing gave HTTP {listing.status_code}")
                return None
        else:
            problems.append(f"user dir: {self.config.user_dir} not visible in the contents API")
            return False
        name = f"referee-{uuid.uuid4().hex[:8]}.txt"
        try:
            response = self._http.put(
                f"{base}/{relative}/{name}",
                json={"type": "file", "format": "text", "content": "written by the referee\n"},
                timeout=_PROBE_TIMEOUT,
            )
        except requests.RequestException as e:
            problems.append(f"user dir: save failed: {e}")
            return False
        if response.status_code not in (200, 201):
            problems.append(
                f"user dir: saving {relative}/{name} gave HTTP {response.status_code}"
                f" ({_hub_message(response)})"
            )
            return False
        return True

    # -- probes ----------------------------------------------------------------

    def _server_url(self, server: _Server) -> str:
        return f"{self._public_url}{server.url_path}"

    def _probe_api(self, server: _Server, problems: list[str]) -> bool:
        try:
            response = self._http.get(
                f"{self._server_url(server)}/api", timeout=_PROBE_TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as e:
            problems.append(f"api: request failed: {e}")
            return False
        if response.status_code != 200:
            problems.append(f"api: HTTP {response.status_code} {_excerpt(response.text)!r}")
            return False
        try:
            body = response.json()
        except ValueError:
            problems.append(f"api: not JSON: {_excerpt(response.text)!r}")
            return False
        if not isinstance(body, dict) or "version" not in body:
            problems.append(f"api: no 'version' in {body!r}")
            return False
        if "X-JupyterHub-Version" not in response.headers:
            problems.append("api: no X-JupyterHub-Version header (server is not hub-aware)")
            return False
        return True

    def _probe_kernel(self, server: _Server, problems: list[str]) -> bool:
        kernels = f"{self._server_url(server)}/api/kernels"
        try:
            response = self._http.post(kernels, json={"name": "python3"}, timeout=_PROBE_TIMEOUT)
        except requests.RequestException as e:
            problems.append(f"kernel: start request failed: {e}")
            return False
        if response.status_code != 201:
            problems.append(
                f"kernel: start gave HTTP {response.status_code} {_excerpt(response.text)!r}"
            )
            return False
        kernel_id = response.json()["id"]
        try:
            return self._run_code(f"{kernels}/{kernel_id}/channels", problems)
        finally:
            with contextlib.suppress(requests.RequestException):
                self._http.delete(f"{kernels}/{kernel_id}", timeout=_PROBE_TIMEOUT)

    def _run_code(self, channels_url: str, problems: list[str]) -> bool:
        ws_url = "ws" + channels_url.removeprefix("http")
        msg_id, request = execute_request("print(6*7)", uuid.uuid4().hex, username=SERVICE_NAME)
        deadline = time.monotonic() + _PROBE_TIMEOUT
        try:
            ws = websocket.create_connection(
                ws_url,
                header=[f"Authorization: token {self._token}"],
                timeout=_PROBE_TIMEOUT,
                # The probe is about the kernel, not the server's origin policy.
                suppress_origin=True,
            )
        except (websocket.WebSocketException, OSError) as e:
            problems.append(f"kernel: websocket {ws_url} failed: {e}")
            return False
        try:
            ws.send(request)
            while (remaining := deadline - time.monotonic()) > 0:
                ws.settimeout(remaining)
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message.get("msg_type") or message.get("header", {}).get("msg_type")
                content = message.get("content", {})
                if kind == "stream" and "42" in content.get("text", ""):
                    return True
                if kind == "error":
                    problems.append(f"kernel: execution error {content.get('evalue')!r}")
                    return False
                if kind == "status" and content.get("execution_state") == "idle":
                    problems.append("kernel: ran print(6*7) but printed no 42")
                    return False
            problems.append(f"kernel: no output within {_PROBE_TIMEOUT:.0f} s")
        except (websocket.WebSocketException, OSError, ValueError) as e:
            problems.append(f"kernel: websocket error: {e}")
        finally:
            ws.close()
        return False

    # -- hub API ---------------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        expect: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """Call the hub's REST API (``/hub/api/<path>``) with the referee token.

        Raises ``RefereeError`` with the hub's message and log tail when the
        status is not in ``expect``.
        """
        response = self._http.request(method, f"{self.api_url}/{path}", json=json, timeout=30)
        if response.status_code not in expect:
            raise RefereeError(
                f"{method} /hub/api/{path} gave HTTP {response.status_code}"
                f" ({_hub_message(response)}), expected {expect}\n{self.log_tail()}"
            )
        return response

    def _delete_user(self, user: str) -> float | None:
        """Stop the user's servers if any, wait for the stops, then delete the user.

        Returns how long the servers took to stop (None: the user had none).
        """
        response = self._http.get(f"{self.api_url}/users/{user}", timeout=30)
        if response.status_code == 404:
            return None
        servers = response.json().get("servers") or {}
        stopping = time.monotonic()
        for name in servers:
            # Stopping also interrupts a spawn the hub still has pending.
            self.api("DELETE", _Server(user, name).api_path, expect=(202, 204, 400))
        deadline = time.monotonic() + _STOP_TIMEOUT
        while self.api("GET", f"users/{user}").json().get("servers"):
            if time.monotonic() > deadline:
                raise RefereeError(
                    f"server of {user!r} still there {_STOP_TIMEOUT:.0f} s after stopping"
                    f"\n{self.log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)
        stopped = time.monotonic() - stopping
        self.api("DELETE", f"users/{user}", expect=(204,))
        return stopped if servers else None

    # -- internals -------------------------------------------------------------

    def _executables(self) -> tuple[Path, Path]:
        jupyterhub = self.venv / "bin" / "jupyterhub"
        chp = self.venv / "node" / "bin" / "configurable-http-proxy"
        for path in (jupyterhub, chp):
            if not os.access(path, os.X_OK):
                raise RefereeError(
                    f"{path} not found: the referee venv {self.venv} is missing or incomplete."
                    " Run scripts/setup-referee.sh (REFEREE_VENV selects the location)."
                )
        return jupyterhub, chp

    def _docker_client(self) -> docker.DockerClient:
        if self._docker is None:
            self._docker = docker.from_env()
        return self._docker

    def _render_config(
        self, *, public_port: int, proxy_api_port: int, hub_port: int, chp: Path
    ) -> str:
        assert self._dir is not None
        settings: list[tuple[str, object]] = [
            ("JupyterHub.bind_url", f"http://127.0.0.1:{public_port}"),
            ("JupyterHub.hub_ip", self.gateway_ip),
            ("JupyterHub.hub_port", hub_port),
            ("JupyterHub.hub_connect_ip", self.gateway_ip),
            ("JupyterHub.db_url", f"sqlite:///{self._dir / 'jupyterhub.sqlite'}"),
            ("JupyterHub.cookie_secret_file", str(self._dir / "jupyterhub_cookie_secret")),
            ("JupyterHub.log_level", self.log_level),
            # Users only ever come from the referee's API calls unless a test logs in.
            ("JupyterHub.authenticator_class", self.authenticator),
            ("JupyterHub.spawner_class", "docker"),
            ("JupyterHub.tornado_settings", {"slow_spawn_timeout": self.slow_spawn_timeout}),
            ("JupyterHub.services", [{"name": SERVICE_NAME, "api_token": self._token}]),
            (
                "JupyterHub.load_roles",
                [{"name": SERVICE_NAME, "scopes": SERVICE_SCOPES, "services": [SERVICE_NAME]}],
            ),
            ("ConfigurableHTTPProxy.command", [str(chp)]),
            ("ConfigurableHTTPProxy.api_url", f"{self._scheme}://127.0.0.1:{proxy_api_port}"),
            ("ConfigurableHTTPProxy.auth_token", secrets.token_hex(32)),
            ("ConfigurableHTTPProxy.pid_file", str(self._dir / "proxy.pid")),
            ("Spawner.http_timeout", self.http_timeout),
            ("Spawner.start_timeout", self.start_timeout),
            # cmd stays at DockerSpawner's default (None: the image's CMD) and no
            # user is forced: the image's own CMD and USER are what is judged.
            ("DockerSpawner.network_name", self._network or "bridge"),
            ("DockerSpawner.use_internal_ip", True),
            ("DockerSpawner.remove", True),
            ("DockerSpawner.allowed_images", "*"),
            # No registry is reachable: a missing image must fail, never pull.
            ("DockerSpawner.pull_policy", "never"),
            ("DockerSpawner.prefix", self.container_prefix),
        ]
        settings += self._config_settings()
        lines = [
            "# Written by tests/referee/hub.py for one referee session.",
            "c = get_config()  # noqa",
        ]
        lines += [f"c.{name} = {value!r}" for name, value in settings]
        if self.config.internal_ssl:
            lines.append(self._ssl_address_code())
        else:
            lines.append(f"c.DockerSpawner.extra_create_kwargs = {{'labels': {self._labels()!r}}}")
        lines += self.extra_config
        return "\n".join(lines) + "\n"

    def _labels(self) -> dict[str, str]:
        return {REFEREE_LABEL: self.session_id}

    @property
    def _scheme(self) -> str:
        return "https" if self.config.internal_ssl else "http"

    def _config_settings(self) -> list[tuple[str, object]]:
        """The settings that make this hub the configuration it is."""
        assert self._dir is not None
        settings: list[tuple[str, object]] = []
        if self.config.port is not None:
            settings.append(("DockerSpawner.port", self.config.port))
        if self.config.named_servers:
            settings.append(("JupyterHub.allow_named_servers", True))
        if self.config.user_dir is not None:
            # One host directory per spawn, named after the (random) server name.
            source = f"{self._dir / 'userdata'}/{{servername}}"
            settings.append(("DockerSpawner.volumes", {source: self.config.user_dir}))
        if self.config.internal_ssl:
            settings += [
                ("JupyterHub.internal_ssl", True),
                # The hub's certificate must name the address servers and the proxy
                # use for it; a containerised hub would be reached by its DNS name.
                ("JupyterHub.trusted_alt_names", [f"IP:{self.gateway_ip}"]),
                # busybox (DockerSpawner's default for staging the certificates) is
                # not here and nothing may be pulled; see _build_move_certs_image.
                ("DockerSpawner.move_certs_image", self._move_certs_tag),
                # DockerSpawner would connect by container name, which only resolves
                # inside Docker's networks; this hub runs on the host, so it connects
                # by address, and each server's certificate names that address.
                ("DockerSpawner.use_internal_hostname", False),
            ]
        return settings

    @property
    def _move_certs_tag(self) -> str:
        return f"jhiv-referee/move-certs:{self.session_id}"

    def _build_move_certs_image(self, client: docker.DockerClient) -> None:
        """The image DockerSpawner runs to copy the certificates into their volume.

        DockerSpawner starts it, copies the files in and removes it without force, so
        its command must be over by then (as busybox's ``sh`` without input is): a
        slower one fails the spawn with a 409. The session tag and label let
        close() remove its containers if a spawn was interrupted in between.
        """
        root = os.environ.get("JHIV_ROOT_IMAGE") or "jhiv/debian-root:bookworm"
        dockerfile = f'FROM {root}\nLABEL {REFEREE_LABEL}="{self.session_id}"\nCMD ["true"]\n'
        client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()), tag=self._move_certs_tag, rm=True, pull=False
        )

    def _ssl_address_code(self) -> str:
        """Config code giving each server a fixed address that its certificate names.

        JupyterHub signs a server's certificate before the container exists, so the
        address must be chosen first: each spawn takes the next one from this
        network's pool (fixed addresses need a network with its own subnet).
        """
        return "\n".join(
            [
                "import itertools",
                f"_addresses = itertools.cycle({self._server_addresses!r})",
                "_assigned = {}",
                "def _address(spawner):",
                "    key = (spawner.user.name, spawner.name)",
                "    if key not in _assigned:",
                "        _assigned[key] = next(_addresses)",
                "    return _assigned[key]",
                "def _alt_names(spawner):",
                "    return ['IP:' + _address(spawner)]",
                "def _create_kwargs(spawner):",
                "    return {",
                f"        'labels': {self._labels()!r},",
                "        'networking_config': {'EndpointsConfig': {",
                f"            {self._network!r}: {{'IPAMConfig': {{'IPv4Address': _address(spawner)}}}},",
                "        }},",
                "    }",
                "c.DockerSpawner.ssl_alt_names = _alt_names",
                "c.DockerSpawner.extra_create_kwargs = _create_kwargs",
            ]
        )

    def _wait_for_hub_api(self, started: float, hub_port: int) -> None:
        # Ask the hub itself first: the proxy comes up before the hub has added
        # its route, and every request it cannot route adds an error and a
        # stack trace to the log that diagnostics will later have to read past.
        deadline = started + _HUB_STARTUP_TIMEOUT
        direct: dict[str, Any] = {}
        if self.config.internal_ssl:
            # The hub admits only clients with a certificate from its own CAs.
            assert self._dir is not None
            certs = self._dir / "internal-ssl"
            direct = {
                "verify": str(certs / "hub-ca_trust.crt"),
                "cert": (
                    str(certs / "hub-internal" / "hub-internal.crt"),
                    str(certs / "hub-internal" / "hub-internal.key"),
                ),
            }
        self._wait_for_200(
            f"{self._scheme}://{self.gateway_ip}:{hub_port}/hub/api/", deadline, **direct
        )
        self._wait_for_200(f"{self.api_url}/", deadline)

    def _wait_for_200(self, url: str, deadline: float, **tls: Any) -> None:
        assert self._process is not None
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RefereeError(
                    f"the referee hub exited with code {self._process.returncode} while starting;"
                    f" its log ends with:\n{self.log_tail()}"
                )
            try:
                response = self._http.get(url, timeout=2, **tls)
            except (requests.RequestException, OSError) as e:
                last = str(e)
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            time.sleep(_POLL_INTERVAL)
        raise RefereeError(
            f"the referee hub API at {url} did not answer 200 within"
            f" {_HUB_STARTUP_TIMEOUT:.0f} s (last: {last}); its log ends with:\n{self.log_tail()}"
        )

    def _stop_process(self, process: subprocess.Popen[bytes]) -> None:
        # SIGTERM to the hub alone lets it stop its servers and then its proxy in
        # order; the group kill afterwards only catches what that left behind.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_HUB_SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("Referee hub %s ignored SIGTERM; killing it", self.session_id)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def _remove_containers(self) -> None:
        client = self._docker_client()
        leftovers = client.containers.list(
            ignore_removed=True, all=True, filters={"label": f"{REFEREE_LABEL}={self.session_id}"}
        )
        for container in leftovers:
            log.info("Removing leftover container %s (id: %s)", container.name, container.short_id)
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                log.debug("Already removed %s", container.short_id)
            except docker.errors.APIError as e:
                if e.status_code != 409:  # removal already in progress
                    raise

    def _create_network(self, client: docker.DockerClient) -> None:
        """A bridge network of this session's own, with a subnet Docker chose as free.

        Fixed addresses need a subnet given at creation, so a first network only
        asks Docker for a free subnet, and the real one is created with it.
        """
        name = f"{self.container_prefix}-net"
        probe = client.networks.create(f"{name}-probe", driver="bridge", labels=self._labels())
        try:
            probe.reload()
            config = probe.attrs["IPAM"]["Config"][0]
            subnet = ipaddress.ip_network(config["Subnet"])
        finally:
            probe.remove()
        hosts = subnet.hosts()
        gateway = str(next(hosts))
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=gateway)]
        )
        client.networks.create(name, driver="bridge", ipam=ipam, labels=self._labels())
        self._network = name
        self.gateway_ip = gateway
        # Leave the low addresses to Docker's own allocation (the cert-staging container).
        self._server_addresses = [str(a) for a in itertools.islice(hosts, 50, 250)]

    def _remove_volumes_and_network(self) -> None:
        client = self._docker_client()
        # The certificate volumes DockerSpawner creates ("{prefix}ssl-{user}") outlive
        # their containers; a container Docker is still removing keeps its volume and
        # the network busy (409) for a moment.
        deadline = time.monotonic() + _STOP_TIMEOUT
        volumes = [
            v
            for v in client.volumes.list(filters={"name": self.container_prefix})
            if v.name.startswith(self.container_prefix)
        ]
        for volume in volumes:
            _remove_when_free(volume.remove, deadline, force=True)
        if self._network is not None:
            with contextlib.suppress(docker.errors.NotFound):
                _remove_when_free(client.networks.get(self._network).remove, deadline)
            self._network = None
        if self.config.internal_ssl:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(self._move_certs_tag)

    def _container_name(self, server: _Server) -> str:
        """DockerSpawner's name for the server's container (its default name_template)."""
        name = f"{self.container_prefix}-{_docker_escape(server.user)}"
        return f"{name}--{_docker_escape(server.name)}" if server.name else name

    def _log_about(self, hub_log: str, server: _Server) -> str:
        """The lines of ``hub_log`` about this spawn, with their continuation lines.

        Other spawns may run at the same time; a line that names neither the user
        nor the container belongs to one of them (or to none).
        """
        needles = (server.user, _docker_escape(server.user), self._container_name(server))
        kept: list[str] = []
        keep = False
        for line in hub_log.splitlines(keepends=True):
            if line.startswith("["):
                keep = any(n in line for n in needles)
            if keep:
                kept.append(line)
        return "".join(kept)

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


def bridge_gateway(client: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge network (docker0)."""
    network = client.networks.get("bridge")
    configs = network.attrs.get("IPAM", {}).get("Config") or []
    for config in configs:
        if config.get("Gateway"):
            return str(config["Gateway"]).split("/")[0]
    # Engines that leave Gateway out of the IPAM config give docker0 the
    # subnet's first host address.
    for config in configs:
        if config.get("Subnet"):
            subnet = ipaddress.ip_network(config["Subnet"])
            if subnet.version == 4:
                return str(next(subnet.hosts()))
    raise RefereeError(
        f"cannot tell the gateway of Docker's bridge network from its IPAM config {configs!r}"
    )


def _remove_when_free(remove: Any, deadline: float, **kwargs: Any) -> None:
    """Call ``remove`` until Docker no longer says the object is in use (or the deadline)."""
    while True:
        try:
            remove(**kwargs)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as e:
            if e.status_code != 409 or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class _Server:
    """One user's server, as the hub's API and URLs name it."""

    user: str
    name: str = ""

    @property
    def api_path(self) -> str:
        if self.name:
            return f"users/{self.user}/servers/{self.name}"
        return f"users/{self.user}/server"

    @property
    def url_path(self) -> str:
        # JupyterHub keeps "@" and "~" in user URLs (jupyterhub/utils.py url_escape_path).
        path = f"/user/{quote(self.user, safe='@~')}"
        return f"{path}/{quote(self.name, safe='@~')}" if self.name else path


def _server_name(config: HubConfig) -> str:
    """A named server's name as Jupyter4NFDI makes it: 32 characters, a letter, then hex."""
    if not config.named_servers:
        return ""
    return secrets.choice(string.ascii_lowercase) + secrets.token_hex(16)[:31]


def _docker_escape(text: str) -> str:
    """DockerSpawner's escaping of names for Docker objects (escapism, safe [a-z0-9], '-')."""
    safe = set(string.ascii_lowercase + string.digits)
    return "".join(
        c if c in safe else "".join(f"-{b:02x}" for b in c.encode()) for c in text
    ).lower()


def _hub_message(response: requests.Response) -> str:
    """The hub's error text: its JSON ``message`` when it sent one."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"HTTP {response.status_code}: {body!r}"


def _last_problem(hub_log: str) -> str | None:
    """The message of the last warning or error the hub logged about the spawn itself.

    Request lines (``log:``) and tornado's uncaught-exception dumps (``web:``)
    only repeat that a request failed, and ``utils:`` is the wait for the
    server's port, which keeps failing after the cause has been logged.
    """
    for line in reversed(hub_log.splitlines()):
        match = _LOG_LINE.match(line)
        if match and match["source"] not in ("log", "web", "utils"):
            return match["message"]
    return None


def _excerpt(text: str, limit: int = 160) -> str:
    """A short, one-line view of a response body: an HTML page's title, else its start."""
    title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        return f"HTML page {title[1].strip()!r}"
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    """Spawn each image once on a fresh referee hub and print one JSON outcome a line."""
    parser = argparse.ArgumentParser(description="Spawn images on a real JupyterHub.")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument(
        "--log-dir",
        type=Path,
        help="write the hub's and the container's log of each spawn to DIR/<n>.{hub,container}.log",
    )
    parser.add_argument(
        "--config",
        choices=[c.name for c in CONFIGS],
        default=PLAIN.name,
        help="which referee hub (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    config = next(c for c in CONFIGS if c.name == args.config)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    with RealHub(config=config) as hub:
        print(json.dumps({"hub_startup_seconds": round(hub.startup_seconds or 0, 2)}))
        for n, image in enumerate(args.images):
            outcome = hub.spawn_outcome(image, stable_window=10.0)
            if args.log_dir:
                (args.log_dir / f"{n}.hub.log").write_text(outcome.hub_log)
                (args.log_dir / f"{n}.container.log").write_text(outcome.container_log)
            record = {
                k: v for k, v in asdict(outcome).items() if k not in ("hub_log", "container_log")
            }
            record["usable"] = outcome.usable
            record["container_log_tail"] = outcome.container_log[-600:]
            print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
