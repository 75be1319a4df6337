"""Known symptoms in a container log, mapped to a named cause and its fix.

Most specific first: an import error caused by JUPYTERHUB_SINGLEUSER_APP must be named
before the generic import error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnosis:
    """A named cause found in the container log, with the fix for it."""

    cause: str
    fix: str


_SYMPTOMS: tuple[tuple[re.Pattern[str], Diagnosis], ...] = (
    (
        # bash, dash and Python's words for a fork the pids limit refused.
        re.compile(
            r"fork: (retry: )?Resource temporarily unavailable|Cannot fork|can't fork"
            r"|BlockingIOError: \[Errno 11\]"
        ),
        Diagnosis(
            "the container ran out of processes: a fork failed at its pids limit",
            "Do not start processes without bound (a runaway loop in the entrypoint); "
            "hubs cap them too (Docker --pids-limit, Kubernetes podPidsLimit).",
        ),
    ),
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
