"""Runtime checks: the server started exactly as a hub would start it (catalogue #6-#15, #20).

This module declares the checks and maps log symptoms to causes; the probing itself
lives in validator.runtime.probes and the hub-like start in validator.runtime.spawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from validator.checks import Check, Stage, register

SERVER_STARTS = register(
    Check(
        id="server-starts",
        title="The server starts and answers the hub's readiness poll",
        stage=Stage.RUNTIME,
        detection="Starts the container with the hub's environment, user, volumes and command on an internal network, then polls {prefix}api like the hub (any answer below 500 counts); a container that exits, or announces itself while listening elsewhere, is reported at once.",
        cause=(
            "The hub polls {prefix}api until any answer below 500 arrives; a container that "
            "exits, or a server that never listens where JUPYTERHUB_SERVICE_URL says, fails "
            "the spawn."
        ),
        fix="See the named cause below; the container log is in the evidence.",
        evidence=("jupyterhub-singleuser-contract §3", "dockerspawner#59", "z2jh#1374"),
    )
)

STARTUP_TIME = register(
    Check(
        id="startup-time",
        title="The server answers well within the hub's http_timeout",
        stage=Stage.RUNTIME,
        detection="Time from container start to the first answer at {prefix}api; warns above 2/3 of the profile's http_timeout, fails above it.",
        cause=(
            "The hub gives up after http_timeout (30 s by default): heavy entrypoints, "
            "chown -R over home, or conda activation can push a start past it."
        ),
        fix=(
            "Do the slow work at build time (RUN), not in the entrypoint; avoid chown -R "
            "at start; or ask the platform for a longer http_timeout."
        ),
        evidence=("z2jh#1374",),
    )
)

HUB_CONTACT = register(
    Check(
        id="hub-contact",
        title="The server contacted the hub API",
        stage=Stage.RUNTIME,
        detection="The stub hub records the server's GET {JUPYTERHUB_API_URL}, which jupyterhub-singleuser makes before it listens.",
        cause=(
            "jupyterhub-singleuser checks JUPYTERHUB_API_URL before it listens; a server "
            "that never asks is not hub-aware (plain jupyter lab, or JUPYTERHUB_* ignored)."
        ),
        fix='Start the server with jupyterhub-singleuser: CMD ["jupyterhub-singleuser"]',
        evidence=("jupyterhub#2131", "jupyterhub#4499", "z2jh#3214"),
    )
)

SERVER_API = register(
    Check(
        id="server-api",
        title="{prefix}api answers with the server and hub versions",
        stage=Stage.RUNTIME,
        detection="GET {prefix}api must answer 200 with a JSON version and the X-JupyterHub-Version header.",
        cause=(
            "A single-user server answers GET {prefix}api with 200, a JSON version and the "
            "X-JupyterHub-Version header; without them it is not the hub's server or the "
            "prefix is wrong."
        ),
        fix='Start the server with jupyterhub-singleuser: CMD ["jupyterhub-singleuser"]',
        evidence=("jupyterhub PR#4567", "jupyterhub-singleuser-contract §3"),
    )
)

HUB_AUTH = register(
    Check(
        id="hub-auth",
        title="Browsers are sent to the hub to log in",
        stage=Stage.RUNTIME,
        detection="Unauthenticated GET {prefix}lab, following redirects inside the prefix, must end in a redirect to {hub}/api/oauth2/authorize.",
        cause=(
            "Unauthenticated {prefix}lab must redirect to {hub}/api/oauth2/authorize; a "
            "plain Jupyter server shows its own login page and users can never get in."
        ),
        fix='Start the server with jupyterhub-singleuser: CMD ["jupyterhub-singleuser"]',
        evidence=("dockerspawner docs docker-image.md", "docker-stacks start-notebook"),
    )
)

TOKEN_AUTH = register(
    Check(
        id="token-auth",
        title="The hub's token is accepted",
        stage=Stage.RUNTIME,
        detection="GET {prefix}api/status with the server's own hub token must answer 200 (the server asks the stub hub who the token belongs to).",
        cause=(
            "The server checks tokens with the hub (GET {api}/user); if it cannot, every "
            "request fails with 403 or 500."
        ),
        fix="Install the hub's JupyterHub version in the image; make sure the hub API is reachable.",
        evidence=("jupyterhub-singleuser-contract §3",),
    )
)

KERNEL_RUNS = register(
    Check(
        id="kernel-runs",
        title="A Python kernel starts and runs code",
        stage=Stage.RUNTIME,
        detection="Starts the default kernel through the REST API, runs print(6*7) over the kernel websocket and expects 42 on the iopub stream, then deletes the kernel.",
        cause="Without a working kernel (ipykernel and a kernelspec) users cannot run anything.",
        fix=(
            "Install a kernel into the server's environment:\n"
            "  RUN pip install --no-cache-dir ipykernel && python -m ipykernel install --sys-prefix"
        ),
        evidence=("docker-stacks test_kernelspecs",),
    )
)

HOME_WRITABLE = register(
    Check(
        id="home-writable",
        title="Users can save files where the server starts",
        stage=Stage.RUNTIME,
        detection="Saves a file through the contents API in the server's root directory, reads it back and deletes it, as the runtime uid.",
        cause=(
            "The runtime uid (1000 on z2jh, arbitrary on OpenShift) must own or share its home "
            "and working directory; otherwise saving fails and the runtime dir raises "
            "PermissionError."
        ),
        fix=(
            "Give the user its home, group-writable for gid 100:\n"
            "  RUN chown -R 1000:100 /home/jovyan && chmod -R g+rwX /home/jovyan"
        ),
        evidence=(
            "z2jh#819",
            "z2jh#894",
            "binderhub#964",
            "docker-stacks#1003",
            "docker-stacks#465",
        ),
    )
)

MOUNT_WRITABLE = register(
    Check(
        id="mount-writable",
        title="The user-data mount path is usable",
        stage=Stage.RUNTIME,
        detection="With --mount-path, an empty volume (owned as the platform creates it) is mounted there; a file is written, read back and removed as the server's uid.",
        cause=(
            "The platform mounts persistent storage at the chosen path; it must not clash "
            "with the image (hiding its files) and the runtime uid must write there."
        ),
        fix="Choose a mount path the image does not use (e.g. /mnt/userdata) and run as a uid in the volume's group.",
        evidence=("kubeflow PR#786", "docker-stacks#229", "jupyterhub-deploy-docker#61"),
    )
)

LISTEN_ADDRESS = register(
    Check(
        id="listen-address",
        title="The server listens where the hub connects",
        stage=Stage.RUNTIME,
        detection="The probes connect from outside the container's network namespace; when that fails, /proc/net/tcp{,6} in the container shows where the server listens instead.",
        cause=(
            "The hub (or its proxy) connects from outside the container to the port in "
            "JUPYTERHUB_SERVICE_URL; a server bound to 127.0.0.1 or another port is unreachable."
        ),
        fix="Remove --ip/--port from the command; let JUPYTERHUB_SERVICE_URL decide.",
        evidence=("dockerspawner#59", "kubespawner#311", "z2jh#1374", "jupyterhub#4450"),
    )
)

STABILITY = register(
    Check(
        id="stability",
        title="The server stays up after it started",
        stage=Stage.RUNTIME,
        detection="After the probes, the container must still run and answer {prefix}api at the end of the stability window (--stable-window, 3 s by default) counted from its first answer.",
        cause="Some images start, answer, then die (a wrapper exits, a watchdog kills them).",
        fix='Make the server the container\'s main process: end the entrypoint with exec "$@".',
        evidence=("jupyterhub#3018",),
    )
)


@dataclass(frozen=True)
class Diagnosis:
    """A named cause found in the container log, with the fix for it."""

    cause: str
    fix: str


_SYMPTOMS: tuple[tuple[re.Pattern[str], Diagnosis], ...] = (
    (
        re.compile(r"Running as root is not recommended|--allow-root"),
        Diagnosis(
            "the server runs as root and jupyter_server refuses to start",
            "Run as a non-root user: add 'USER 1000' at the end of the Dockerfile "
            "(or drop privileges in the entrypoint before exec).",
        ),
    ),
    (
        re.compile(r"PermissionError.*(runtime|\.local|\.jupyter|/home)|Permission denied: '/home"),
        Diagnosis(
            "the runtime uid cannot write its home (PermissionError in the runtime dir)",
            "RUN chown -R 1000:100 /home/jovyan && chmod -R g+rwX /home/jovyan",
        ),
    ),
    (
        re.compile(r"Missing required environment|KeyError: .JUPYTERHUB_"),
        Diagnosis(
            "the server did not get the hub's environment (an entrypoint cleared it)",
            'Keep the environment when switching users: sudo --preserve-env, or exec "$@".',
        ),
    ),
    (
        re.compile(r"Failed to connect to my Hub|Hub API .*(unavailable|unreachable)"),
        Diagnosis(
            "the server could not reach the hub API",
            "Check proxies (NO_PROXY), DNS and CA certificates in the image.",
        ),
    ),
    (
        re.compile(r"No such kernel|No module named ipykernel|NoSuchKernel"),
        Diagnosis(
            "no Python kernel is installed",
            "RUN pip install --no-cache-dir ipykernel && python -m ipykernel install --sys-prefix",
        ),
    ),
    (
        re.compile(r"is not valid with notebook>=7|JUPYTERHUB_SINGLEUSER_APP"),
        Diagnosis(
            "JUPYTERHUB_SINGLEUSER_APP=notebook is set but notebook>=7 is installed",
            "Remove JUPYTERHUB_SINGLEUSER_APP from the image (jupyterhub#4518).",
        ),
    ),
    (
        re.compile(r"ImportError|ModuleNotFoundError"),
        Diagnosis(
            "the server failed on an import",
            "Install a server and UI beside JupyterHub: RUN pip install jupyterlab",
        ),
    ),
    (
        re.compile(r"exec format error"),
        Diagnosis("the image is for another CPU architecture", "Rebuild for linux/amd64."),
    ),
    (
        re.compile(r"executable file not found|: not found|command not found"),
        Diagnosis(
            "the start command is not on PATH",
            "Put the environment's bin directory on PATH (ENV PATH=/opt/venv/bin:$PATH).",
        ),
    ),
)


def diagnose(log_text: str) -> Diagnosis | None:
    """The first known symptom in a container log (most specific first)."""
    for pattern, diagnosis in _SYMPTOMS:
        if pattern.search(log_text):
            return diagnosis
    return None
