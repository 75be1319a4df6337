"""Does a Python kernel start and run code, over the same websocket a browser uses?"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import requests
import websocket

from validator.checks.base import Check, Stage, tail
from validator.checks.diagnosis import diagnose
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime._http import Api
from validator.findings import Finding
from validator.options import wait_limit


def execute_request(code: str, session: str, username: str = "validator") -> tuple[str, str]:
    """A Jupyter ``execute_request`` for the shell channel: its msg_id and its JSON text."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "username": username,
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": datetime.now(timezone.utc).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(message)


def _run_code(
    ws_url: str, headers: list[str], deadline: float, sslopt: dict[str, Any] | None = None
) -> tuple[str | None, str]:
    """Run print(6*7) on the kernel; the printed text (or None) and a transcript."""
    seen: list[str] = []
    conn = websocket.create_connection(
        ws_url, header=headers, timeout=max(1.0, deadline - time.monotonic()), sslopt=sslopt
    )
    try:
        msg_id, payload = execute_request("print(6*7)", uuid.uuid4().hex)
        conn.send(payload)
        while time.monotonic() < deadline:
            conn.settimeout(max(0.5, deadline - time.monotonic()))
            message = json.loads(conn.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message.get("msg_type") or message.get("header", {}).get("msg_type")
            content = message.get("content", {})
            seen.append(f"{message.get('channel')}: {kind}")
            if kind == "stream":
                return str(content.get("text", "")), "\n".join(seen)
            if kind == "error":
                seen.append(f"{content.get('ename')}: {content.get('evalue')}")
                return None, "\n".join(seen)
        return None, "\n".join(seen)
    finally:
        conn.close()


def probe_kernel(ctx: RuntimeContext) -> Finding:
    candidate = ctx.candidate
    timeout = max(30.0, wait_limit(ctx.profile.http_timeout, ctx.options))
    deadline = time.monotonic() + timeout
    api = Api(candidate)
    headers = candidate.auth_headers()
    try:
        response = api.request("POST", "api/kernels", json={}, timeout=timeout)
    except requests.RequestException as exc:
        return KERNEL_RUNS.failed(f"starting a kernel failed: {exc.__class__.__name__}")
    if response.status_code != 201:
        cause = diagnose(response.text + candidate.logs())
        return KERNEL_RUNS.failed(
            f"POST {candidate.prefix}api/kernels answered {response.status_code}"
            + (f": {cause.cause}" if cause else ""),
            fix=cause.fix if cause else None,
            evidence=response.text[:400],
        )
    kernel = response.json()
    # wss with internal SSL: the same CA check and client certificate as the HTTP probes.
    scheme, sslopt = ("wss", candidate.tls.sslopt()) if candidate.tls else ("ws", None)
    ws_url = f"{scheme}://{candidate.ip}:{candidate.port}{candidate.prefix}api/kernels/{kernel['id']}/channels"
    try:
        text, transcript = _run_code(
            ws_url, [f"{k}: {v}" for k, v in headers.items()], deadline, sslopt
        )
    except (OSError, websocket.WebSocketException, ValueError) as exc:
        text, transcript = None, f"websocket: {exc.__class__.__name__}: {exc}"
    finally:
        with contextlib.suppress(requests.RequestException):
            api.request("DELETE", f"api/kernels/{kernel['id']}")
    if text is not None and text.strip() == "42":
        return KERNEL_RUNS.passed(f"kernel {kernel.get('name', '?')} ran print(6*7) -> 42")
    cause = diagnose(candidate.logs())
    return KERNEL_RUNS.failed(
        f"kernel {kernel.get('name', '?')} started but did not run code"
        + (f": {cause.cause}" if cause else ""),
        fix=cause.fix if cause else None,
        evidence=transcript + ("\n" + tail(candidate.logs(), 6) if not text else ""),
    )


KERNEL_RUNS = Check(
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
    needs=("server-starts",),
    probe=probe_kernel,
)
