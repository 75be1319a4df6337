"""Start a candidate exactly as a hub would: environment, command, user, volumes.

``hub_environment`` and ``spawn_command`` are pure (what the hub's Spawner computes);
``start_candidate`` and ``wait_until_up`` do the Docker and HTTP work, the first through
the sandbox, the second through ``waiting``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import docker.errors
from docker.models.containers import Container

from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.listening import Listener, parse_proc_net_tcp
from validator.runtime.sandbox import Sandbox
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

    The hub's URLs come from ``hub``, the stub the server will talk to.
    """
    prefix = profile.service_prefix
    scopes = json.dumps(access_scopes(profile))
    env = {
        "JUPYTERHUB_API_TOKEN": token,
        "JPY_API_TOKEN": token,
        "JUPYTERHUB_CLIENT_ID": oauth_client_id(profile),
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_ACTIVITY_URL": hub.activity_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{profile.port}{prefix}",
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

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}{self.prefix}"

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

    def logs(self) -> str:
        try:
            raw: bytes = self.container.logs(stdout=True, stderr=True)
        except docker.errors.APIError:
            return ""
        return raw.decode("utf-8", "replace")

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
) -> Candidate:
    mounts = volume_mounts(sandbox, profile)
    extra: dict[str, Any] = {"mounts": mounts} if mounts else {}
    if profile.fs_gid is not None:
        extra["group_add"] = [str(profile.fs_gid)]
    tc = sandbox.container(
        image.id,
        command=spawn_command(mode),
        user=user,
        env=env,
        network=network,
        allow_privilege_escalation=profile.allow_privilege_escalation,
        **extra,
    )
    tc.start()
    container = tc.get_wrapped_container()
    container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    log.info("Started candidate %s (%s) at %s", container.short_id, mode_label(mode), ip)
    return Candidate(container, ip, profile.port, profile.service_prefix, token, mode)


def wait_until_up(
    candidate: Candidate, timeout: float, *, ready_banner: str, cancel: threading.Event
) -> UpResult:
    """Poll {prefix}api like the hub does; return as soon as the outcome is known.

    The hub's http_timeout counts from the container's start, not from this call.
    """
    up = wait_for(
        HubReady(candidate, ready_banner),
        deadline=candidate.started_at + timeout,
        cancel=cancel,
    )
    return up if up is not None else UpResult(seconds=None)
