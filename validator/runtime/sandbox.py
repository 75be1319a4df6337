"""The one owner of every Docker object a validation run creates.

Containers, networks and volumes are all created through the sandbox's one Docker
client; containers are built with testcontainers, hardened, labelled with the run id
and the pid of this process. ``Sandbox.close`` removes everything carrying the run's label,
so a container whose start failed half-way is removed too; ``sweep`` removes what
runs killed outright (SIGKILL, power loss) left behind.

Closing also cancels: every wait on the sandbox's containers ends, and a creation asked
for after it is refused (``Closed``), so a worker thread that has not yet seen the
cancel cannot leave a container behind the removal.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient as EngineClient

from validator.runtime import isolation
from validator.runtime.cancel import linked
from validator.runtime.isolation import Fence
from validator.runtime.logs import LogFollower
from validator.runtime.waiting import Exits, wait_for

log = logging.getLogger(__name__)

LABEL = "org.jupyter.image-validator"
LABEL_RUN = f"{LABEL}.run"
LABEL_PID = f"{LABEL}.pid"
LABEL_HOST = f"{LABEL}.host"

# Ryuk would need an image pull and a socket mount; we remove our own objects instead.
testcontainers_config.ryuk_disabled = True
# A registry prefix would be prepended to every image name, fully qualified ones too.
testcontainers_config.hub_image_name_prefix = ""

# How long closing waits for a creation already sent to the engine to come back, so the
# object it makes is removed with the rest.
IN_FLIGHT_WAIT_S = 1.5
# A container's output still arriving once it exited: at most this long to read it.
DRAIN_S = 1.0


class Closed(RuntimeError):
    """The sandbox was closed (the run was cancelled): nothing more may be created."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for a candidate container (a hub would set its own)."""

    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 1024
    # An image may write to stdout as fast as it can; without a cap the engine keeps every
    # byte on the host's disk. Two rotated files of this size bound it per container.
    log_file_size: str = "10m"
    log_files: int = 2


@dataclass(frozen=True)
class RunResult:
    """A container that ran a command to its end (or to a timeout)."""

    exit_code: int | None  # None: still running at the timeout
    output: str
    seconds: float
    start_error: str | None = None  # the engine refused to start it (e.g. no such binary)
    oom_killed: bool = False  # the kernel killed it at the memory limit

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None and self.start_error is None


def _hostname() -> str:
    return socket.gethostname()


class _SharedEngine(EngineClient):
    """testcontainers' engine wrapper around a client that already exists."""

    def __init__(self, client: docker.DockerClient) -> None:
        # Not super().__init__(): it would open a client of its own (docker.from_env).
        self.client = client


class SandboxContainer(DockerContainer):
    """A testcontainers container that reaches the engine through the sandbox's client.

    ``DockerContainer`` always builds a client in ``__init__``; pinning its API version
    keeps that one from ever calling the engine (no version probe), and every call
    testcontainers makes goes through ``get_docker_client``, which answers with ours.
    """

    def __init__(self, image: str, client: docker.DockerClient, **kwargs: Any) -> None:
        super().__init__(image, docker_client_kw={"version": client.api.api_version}, **kwargs)
        self._engine = _SharedEngine(client)

    def get_docker_client(self) -> EngineClient:
        return self._engine


class Sandbox:
    """Creates labelled, hardened containers, networks and volumes; removes them all."""

    def __init__(
        self, client: docker.DockerClient, *, keep: bool = False, limits: Limits | None = None
    ) -> None:
        self.client = client
        self.keep = keep
        self.limits = limits or Limits()
        self.run_id = uuid.uuid4().hex[:12]
        self._closed = False
        # Per network name: its host firewall rules (see isolation).
        self.fences: dict[str, Fence] = {}
        # Set by close() and by a process-wide cancel (Ctrl-C, SIGTERM).
        self.cancel = linked()
        self._in_flight = 0
        self._state = threading.Condition()
        _LIVE.add(self)

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL: "true",
            LABEL_RUN: self.run_id,
            LABEL_PID: str(os.getpid()),
            LABEL_HOST: _hostname(),
        }

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def creating(self) -> Iterator[None]:
        """Around every engine call that creates an object: refused once closed, and
        waited for by close()."""
        with self._state:
            if self._closed or self.cancel.is_set():
                raise Closed("the validation was cancelled")
            self._in_flight += 1
        try:
            yield
        finally:
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()

    def start(self, tc: SandboxContainer) -> Container:
        """Start a container made by ``container()``; the engine's own object."""
        with self.creating():
            tc.start()
        return tc.get_wrapped_container()

    def name(self, kind: str) -> str:
        return f"jhiv-{self.run_id}-{kind}-{uuid.uuid4().hex[:6]}"

    def hardened(self, *, allow_privilege_escalation: bool = False) -> dict[str, Any]:
        """Container options that keep a candidate from harming the host."""
        security = [] if allow_privilege_escalation else ["no-new-privileges"]
        return {
            "security_opt": security,
            "mem_limit": self.limits.memory,
            "nano_cpus": int(self.limits.cpus * 1e9),
            "pids_limit": self.limits.pids,
            "log_config": {
                "type": "json-file",
                "config": {
                    "max-size": self.limits.log_file_size,
                    "max-file": str(self.limits.log_files),
                },
            },
            "cap_drop": ["NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "MKNOD", "AUDIT_WRITE"],
            "labels": self.labels,
        }

    def network(self, *, egress: bool = False) -> Network:
        """A bridge network of its own; internal (no route out) unless egress is asked.

        Fenced off from the host's own ports where this process may edit the firewall
        (``fences[name].allow(port)`` opens one); raises IsolationUnavailable where it
        may not and JHIV_REQUIRE_ISOLATION is set.
        """
        network = self.client.networks.create(
            self.name("net"), driver="bridge", internal=not egress, labels=self.labels
        )
        network.reload()
        self.fences[str(network.name)] = isolation.fence(network.attrs, self.run_id)
        return network

    @property
    def isolation(self) -> str | None:
        """How the networks are fenced, for the report; None when there is no network."""
        fences = list(self.fences.values())
        unfenced = [f for f in fences if not f.active]
        return (unfenced or fences)[0].state if fences else None

    def volume(self, *, driver_opts: dict[str, str] | None = None) -> Volume:
        """A local volume; ``driver_opts`` as for ``docker volume create --opt``."""
        with self.creating():
            return self.client.volumes.create(
                self.name("vol"), driver="local", driver_opts=driver_opts or {}, labels=self.labels
            )

    def container(
        self,
        image: str,
        *,
        command: list[str] | None = None,
        user: str | None = None,
        env: dict[str, str] | None = None,
        network: str | None = None,
        allow_privilege_escalation: bool = False,
        **extra: Any,
    ) -> SandboxContainer:
        """A testcontainers container, configured but not started.

        ``extra`` are Docker's own create options (``mounts``, ``group_add``...): named
        volumes go in as ``mounts``, since testcontainers' volume mapping takes host paths.
        """
        kwargs: dict[str, Any] = {
            **self.hardened(allow_privilege_escalation=allow_privilege_escalation),
            **extra,
        }
        if user is not None:
            kwargs["user"] = user
        # NetworkMode takes a network name too; testcontainers reserves ``network`` for
        # its own Network objects.
        kwargs["network_mode"] = network or "none"
        tc = SandboxContainer(image, self.client).with_name(self.name("ctr")).with_kwargs(**kwargs)
        if command is not None:
            tc.with_command(command)
        if env:
            tc.with_envs(**env)
        return tc

    def run_to_end(
        self,
        image: str,
        command: list[str],
        *,
        user: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
        allow_privilege_escalation: bool = False,
        give_up_when: Callable[[str], bool] | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> RunResult:
        """Run ``command`` through the image's ENTRYPOINT with no network; wait for its end.

        ``give_up_when`` sees the output so far: when it says the outcome is known (a
        server started instead of the command), the wait ends without the timeout.
        ``on_started`` runs once the engine has started the container, i.e. the command
        exists: the moment to begin work that only makes sense if it does.
        """
        started = time.monotonic()
        tc = self.container(
            image,
            command=command,
            user=user,
            env=env,
            allow_privilege_escalation=allow_privilege_escalation,
        )
        try:
            wrapped = self.start(tc)
        except docker.errors.APIError as exc:
            return RunResult(None, "", time.monotonic() - started, start_error=_api_message(exc))
        follower = LogFollower(wrapped).start()
        try:
            if on_started is not None:
                on_started()
            deadline = started + timeout
            ended = wait_for(
                Exits(wrapped, follower.window, give_up_when), deadline=deadline, cancel=self.cancel
            )
            if ended is not None and ended.code is not None:
                # Exited: the rest of its output is on its way; a flood's is not waited for.
                follower.wait_ended(max(DRAIN_S, min(5.0, deadline - time.monotonic())))
            seconds = time.monotonic() - started
            oom = ended is not None and ended.code is not None and _oom_killed(wrapped)
            return RunResult(
                ended.code if ended else None, follower.text(), seconds, oom_killed=oom
            )
        finally:
            follower.close()
            self.remove_container(wrapped)

    def created(self, image: str, *, mounts: list[docker.types.Mount] | None = None) -> Container:
        """A container of ``image`` that is created and never started: its files can be
        read (get_archive) or written (put_archive, into ``mounts`` too) without running
        any of the image's code."""
        with self.creating():
            return self.client.containers.create(
                image,
                # An image with neither ENTRYPOINT nor CMD cannot be created without one.
                command=["jhiv-never-started"],
                name=self.name("ctr"),
                network_mode="none",
                labels=self.labels,
                mounts=mounts or [],
            )

    def remove_container(self, container: Container) -> None:
        if self.keep:
            return
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)

    def close(self) -> None:
        """Cancel every wait, then remove everything labelled with this run's id.
        Idempotent."""
        self.cancel.set()
        with self._state:
            was_closed, self._closed = self._closed, True
            # A creation the engine is still working on makes its object after we list.
            self._state.wait_for(lambda: self._in_flight == 0, timeout=IN_FLIGHT_WAIT_S)
        if was_closed:
            return
        _LIVE.discard(self)
        if self.keep:
            log.warning("Keeping containers of run %s (--keep)", self.run_id)
            return
        remove_labelled(self.client, f"{LABEL_RUN}={self.run_id}")
        # After the containers: until they are gone, the fence still has work to do.
        for fence in list(self.fences.values()):
            fence.remove()


# Sandboxes not yet closed: the CLI's last ``finally`` (and atexit) closes them, so an
# interrupt in a worker thread or a crash between two steps still removes everything.
_LIVE: set[Sandbox] = set()


def close_all() -> None:
    """Close every live sandbox at once (``--parallel`` runs), each removal in parallel."""
    live = list(_LIVE)
    if not live:
        return

    def close(sandbox: Sandbox) -> None:
        with contextlib.suppress(Exception):
            sandbox.close()

    with ThreadPoolExecutor(max_workers=len(live)) as pool:
        list(pool.map(close, live))


atexit.register(close_all)


def _oom_killed(container: Container) -> bool:
    try:
        container.reload()
    except docker.errors.APIError:
        return False
    return bool(container.attrs.get("State", {}).get("OOMKilled"))


def _api_message(exc: docker.errors.APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def remove_labelled(client: docker.DockerClient, label_filter: str) -> int:
    """Remove containers (all at once), then networks and volumes, carrying ``label_filter``."""
    filters = {"label": label_filter}
    containers = client.containers.list(all=True, filters=filters, sparse=True)

    def remove(container: Container) -> int:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)
            return 1
        return 0

    removed = 0
    if containers:
        with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
            removed = sum(pool.map(remove, containers))
    for network in client.networks.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
            removed += 1
    for volume in client.volumes.list(filters=filters):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)
            removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (0 and below: never)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_runs(labels_seen: Iterator[dict[str, str]]) -> set[str]:
    host = _hostname()
    dead = set()
    for labels in labels_seen:
        run, pid = labels.get(LABEL_RUN), labels.get(LABEL_PID, "")
        if not run or labels.get(LABEL_HOST) != host:
            continue  # another machine's run on a shared engine: not ours to judge
        if not pid.isdigit() or not pid_alive(int(pid)):
            dead.add(run)
    return dead


def sweep(client: docker.DockerClient) -> int:
    """Remove objects of earlier runs on this host whose process is gone."""

    def labels() -> Iterator[dict[str, str]]:
        flt = {"label": LABEL}
        # Sparse: no inspect per container, which fails when another run removes one
        # between the listing and the inspect.
        for c in client.containers.list(all=True, filters=flt, sparse=True):
            yield c.attrs.get("Labels") or {}
        for n in client.networks.list(filters=flt):
            yield n.attrs.get("Labels") or {}
        for v in client.volumes.list(filters=flt):
            yield v.attrs.get("Labels") or {}

    removed = 0
    dead = _dead_runs(labels())
    for run in dead:
        log.info("Removing leftovers of dead run %s", run)
        removed += remove_labelled(client, f"{LABEL_RUN}={run}")
    return removed + isolation.sweep(dead)
