"""Start a candidate exactly as a hub would: environment, command, user, volumes.

``hub_environment`` and ``spawn_command`` are pure (what the hub's Spawner computes);
``start_candidate`` and ``wait_until_up`` do the Docker and HTTP work, the first through
the sandbox, the second through ``waiting``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import docker.errors
import docker.types
import requests
from docker.models.containers import Container
from docker.models.volumes import Volume

from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.listening import Listener, parse_proc_net_tcp
from validator.runtime.logs import LogFollower, LogWindow
from validator.runtime.sandbox import Sandbox
from validator.runtime.tls import TlsClient, cert_archive, ssl_environment
from validator.runtime.volumes import volume_mounts
from validator.runtime.waiting import HubReady, UpResult, wait_for

__all__ = [
    "Candidate",
    "access_scopes",
    "hub_environment",
    "mode_label",
    "oauth_client_id",
    "spawn_command",
    "start_candidate",
    "wait_until_up",
]

log = logging.getLogger(__name__)


def oauth_client_id(profile: Profile) -> str:
    client_id = f"jupyterhub-user-{quote(profile.user_name, safe='')}"
    if profile.server_name:
        client_id += f"-{quote(profile.server_name, safe='')}"
    return client_id


def access_scopes(profile: Profile) -> list[str]:
    return [
        f"access:servers!server={profile.user_name}/{profile.server_name}",
        f"access:servers!user={profile.user_name}",
    ]


def hub_environment(profile: Profile, hub: StubHub, *, token: str) -> dict[str, str]:
    """The variables JupyterHub 5's Spawner.get_env() gives a server (contract §1).

    The hub's URLs come from ``hub``, the stub the server will talk to. With internal
    SSL the service URL is https and JUPYTERHUB_SSL_* name the mounted certificates.
    """
    prefix = profile.service_prefix
    scheme = "https" if profile.internal_ssl else "http"
    scopes = json.dumps(access_scopes(profile))
    env = {
        "JUPYTERHUB_API_TOKEN": token,
        "JPY_API_TOKEN": token,
        "JUPYTERHUB_CLIENT_ID": oauth_client_id(profile),
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_ACTIVITY_URL": hub.activity_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"{scheme}://0.0.0.0:{profile.port}{prefix}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
        "JUPYTERHUB_USER": profile.user_name,
        "JUPYTERHUB_SERVER_NAME": profile.server_name,
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": "0",
    }
    if profile.home_volume:
        env["JUPYTERHUB_ROOT_DIR"] = profile.home_volume
    if profile.internal_ssl:
        env.update(ssl_environment(profile.ssl_mount_path))
    return env


# What replaces the image's CMD, per mode; the ENTRYPOINT always stays (a spawner's cmd
# becomes the container's arguments). None keeps the image CMD.
_COMMANDS: dict[CommandMode, list[str] | None] = {
    CommandMode.IMAGE: None,
    CommandMode.SINGLEUSER: ["jupyterhub-singleuser"],
    # A job API's login shell: PATH comes from the shell's profile files, as for a job.
    CommandMode.JOB: ["/bin/bash", "-lc", "jupyterhub-singleuser"],
}
_LABELS = {
    CommandMode.IMAGE: "image CMD",
    CommandMode.SINGLEUSER: "cmd jupyterhub-singleuser",
    CommandMode.JOB: "job: bash -lc jupyterhub-singleuser",
}


def spawn_command(mode: CommandMode) -> list[str] | None:
    """What replaces the image CMD under ``mode`` (None: the image CMD stays)."""
    command = _COMMANDS[mode]
    return list(command) if command is not None else None


def mode_label(mode: CommandMode) -> str:
    return _LABELS[mode]


@dataclass
class Candidate:
    """A server container started like a hub starts it."""

    container: Container
    ip: str
    port: int
    prefix: str
    token: str
    mode: CommandMode
    started_at: float = field(default_factory=time.monotonic)
    tls: TlsClient | None = None  # set with internal SSL: the probes' CA and client cert
    # Its output as it arrives, bounded (validator.runtime.logs); None: not followed.
    output: LogFollower | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.ip}:{self.port}{self.prefix}"

    def session(self) -> requests.Session:
        """A requests session that reaches the server as the hub's proxy does."""
        return self.tls.session() if self.tls is not None else requests.Session()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def exit_code(self) -> int | None:
        """None while running; the exit code once the container has stopped."""
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return -1
        state = self.container.attrs.get("State", {})
        if state.get("Running") or state.get("Status") == "created":
            return None
        return int(state.get("ExitCode", -1))

    def oom_killed(self) -> bool:
        """Whether the kernel killed it at its memory limit (as of the last exit_code())."""
        # getattr: stand-ins without a container (unit tests of the probes) have no attrs.
        attrs = getattr(self.container, "attrs", None) or {}
        return bool(attrs.get("State", {}).get("OOMKilled"))

    @property
    def _window(self) -> LogWindow:
        return self.output.window if self.output is not None else LogWindow()

    def logs(self) -> str:
        """Its output so far: the first and last bytes of it (validator.runtime.logs)."""
        return self._window.text()

    def log_bytes(self) -> int:
        """How much it wrote to stdout and stderr, kept or not."""
        return self._window.total

    def printed(self, text: str) -> bool:
        return self._window.seen(text)

    def listeners(self) -> list[Listener] | None:
        """Listening TCP sockets in the container, or None if they cannot be read."""
        try:
            result = self.container.exec_run(
                ["cat", "/proc/net/tcp", "/proc/net/tcp6"], user="0", demux=False
            )
        except docker.errors.APIError:
            return None
        if result.exit_code not in (0, 1) or not result.output:
            return None
        return parse_proc_net_tcp(result.output.decode("ascii", "replace"))


def start_candidate(
    sandbox: Sandbox,
    image: ImageInfo,
    profile: Profile,
    mode: CommandMode,
    *,
    network: str,
    env: dict[str, str],
    token: str,
    user: str | None,
    hub: StubHub | None = None,
) -> Candidate:
    """Create and start the server container; with ``hub.tls``, certificates mounted."""
    mounts = volume_mounts(sandbox, profile)
    extra: dict[str, Any] = {"mounts": mounts} if mounts else {}
    if profile.fs_gid is not None:
        extra["group_add"] = [str(profile.fs_gid)]
    tls_hostname = None
    if hub is not None and hub.tls is not None:
        tls_hostname = f"jupyter-{secrets.token_hex(6)}"
        certs = _cert_volume(sandbox, image, hub.tls.server_files(tls_hostname), profile)
        mounts.append(
            docker.types.Mount(profile.ssl_mount_path, certs.name, type="volume", read_only=True)
        )
        extra.update(mounts=mounts, hostname=tls_hostname)
    tc = sandbox.container(
        image.id,
        command=spawn_command(mode),
        user=user,
        env=env,
        network=network,
        allow_privilege_escalation=profile.allow_privilege_escalation,
        **extra,
    )
    container = sandbox.start(tc)
    output = LogFollower(container).start()
    container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    log.info("Started candidate %s (%s) at %s", container.short_id, mode_label(mode), ip)
    candidate = Candidate(
        container, ip, profile.port, profile.service_prefix, token, mode, output=output
    )
    if hub is not None and hub.tls is not None and tls_hostname is not None:
        candidate.tls = hub.tls.client(tls_hostname)
        hub.tls.register(candidate.url, candidate.tls)
    return candidate


def _cert_volume(
    sandbox: Sandbox, image: ImageInfo, files: dict[str, bytes], profile: Profile
) -> Volume:
    """A volume holding ``files``, filled without running anything.

    ``put_archive`` cannot write through a read-only mount, so a helper container
    (created from the candidate's own image, never started: no shell or tar needed in
    it) mounts the volume writable, receives the files and is removed; the engine does
    the writing, so this works with a remote DOCKER_HOST too.
    """
    volume = sandbox.volume()
    target = profile.ssl_mount_path
    helper = sandbox.created(
        image.id,
        # no_copy: the image's own files at the path must not end up in the volume.
        mounts=[docker.types.Mount(target, volume.name, type="volume", no_copy=True)],
    )
    try:
        helper.put_archive(target, cert_archive(files))
    finally:
        sandbox.remove_container(helper)
    return volume


def wait_until_up(
    candidate: Candidate, timeout: float, *, ready_banner: str, cancel: threading.Event
) -> UpResult:
    """Poll {prefix}api like the hub does; return as soon as the outcome is known.

    The hub's http_timeout counts from the container's start, not from this call.
    """
    deadline = candidate.started_at + timeout
    up = wait_for(
        HubReady(candidate, ready_banner, candidate.session(), deadline=deadline),
        deadline=deadline,
        cancel=cancel,
    )
    return up if up is not None else UpResult(seconds=None)
