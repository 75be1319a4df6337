"""Probes against a running candidate: each asks one question and returns a Finding.

They talk to the server over HTTP (and the kernel websocket) from outside its
container, as the hub's proxy does.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import websocket

from validator.checks import tail
from validator.checks.runtime import (
    HOME_WRITABLE,
    HUB_AUTH,
    KERNEL_RUNS,
    MOUNT_WRITABLE,
    SERVER_API,
    STABILITY,
    TOKEN_AUTH,
    diagnose,
)
from validator.findings import Finding
from validator.runtime.spawn import Candidate

HTTP_TIMEOUT = 10.0


def _get(url: str, **kwargs: object) -> requests.Response:
    return requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)  # type: ignore[arg-type]


class _Api:
    """Token-authenticated calls to the server's REST API.

    Legacy (non-extension) single-user servers demand an XSRF cookie on POST, PUT and
    DELETE even with a token; on that 403 we fetch a page to get the cookie, as a
    browser would, and retry once.
    """

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.session = requests.Session()
        self.session.headers.update(candidate.auth_headers())

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        url = self.candidate.url + path
        response = self.session.request(method, url, allow_redirects=False, **kwargs)
        if response.status_code == 403 and "_xsrf" in response.text:
            for page in ("lab", "tree", ""):
                self.session.get(self.candidate.url + page, timeout=HTTP_TIMEOUT)
                if "_xsrf" in self.session.cookies:
                    break
            self.session.headers["X-XSRFToken"] = self.session.cookies.get("_xsrf") or ""
            response = self.session.request(method, url, allow_redirects=False, **kwargs)
        return response


def probe_server_api(candidate: Candidate) -> Finding:
    url = candidate.url + "api"
    try:
        response = _get(url)
    except requests.RequestException as exc:
        return SERVER_API.failed(f"GET {candidate.prefix}api failed: {exc.__class__.__name__}")
    hub_header = response.headers.get("X-JupyterHub-Version")
    evidence = f"GET {candidate.prefix}api -> {response.status_code}\n" + response.text[:300]
    try:
        version = response.json().get("version") if response.status_code == 200 else None
    except ValueError:
        version = None
    if response.status_code != 200 or not version:
        return SERVER_API.failed(
            f"GET {candidate.prefix}api answered {response.status_code} without a server "
            "version: nothing serves the hub's URL prefix",
            evidence=evidence,
        )
    if not hub_header:
        return SERVER_API.failed(
            f"{candidate.prefix}api answers (jupyter_server {version}) but without "
            "X-JupyterHub-Version: this is a plain Jupyter server, not jupyterhub-singleuser",
            evidence=evidence,
        )
    return SERVER_API.passed(f"jupyter_server {version}, jupyterhub-singleuser {hub_header}")


def probe_hub_auth(candidate: Candidate, hub_authorize_path: str) -> Finding:
    """Follow redirects inside the prefix; the last one must leave for the hub's OAuth."""
    url = candidate.url + "lab"
    hops = []
    for _ in range(4):
        try:
            response = _get(url)
        except requests.RequestException as exc:
            return HUB_AUTH.failed(f"GET {urlsplit(url).path} failed: {exc.__class__.__name__}")
        location = response.headers.get("Location", "")
        hops.append(f"GET {urlsplit(url).path} -> {response.status_code} {location}".rstrip())
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            break
        if urlsplit(location).path.startswith(hub_authorize_path):
            return HUB_AUTH.passed("unauthenticated requests are redirected to the hub's login")
        url = urljoin(url, location)
        if not urlsplit(url).path.startswith(candidate.prefix):
            break
    return HUB_AUTH.failed(
        "unauthenticated requests are not sent to the hub's OAuth login "
        f"({hub_authorize_path}): the server has its own login or none",
        evidence="\n".join(hops),
    )


def probe_token_auth(candidate: Candidate) -> Finding:
    try:
        response = _get(candidate.url + "api/status", headers=candidate.auth_headers())
    except requests.RequestException as exc:
        return TOKEN_AUTH.failed(
            f"GET {candidate.prefix}api/status failed: {exc.__class__.__name__}"
        )
    if response.status_code == 200:
        return TOKEN_AUTH.passed("the hub token is accepted (api/status 200)")
    return TOKEN_AUTH.failed(
        f"GET {candidate.prefix}api/status with the hub's token answered {response.status_code}",
        evidence=response.text[:300],
    )


def _execute_request(code: str, session: str) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "username": "validator",
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


def _run_code(ws_url: str, headers: list[str], deadline: float) -> tuple[str | None, str]:
    """Run print(6*7) on the kernel; the printed text (or None) and a transcript."""
    seen: list[str] = []
    conn = websocket.create_connection(
        ws_url, header=headers, timeout=max(1.0, deadline - time.monotonic())
    )
    try:
        msg_id, payload = _execute_request("print(6*7)", uuid.uuid4().hex)
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


def probe_kernel(candidate: Candidate, timeout: float) -> Finding:
    deadline = time.monotonic() + timeout
    api = _Api(candidate)
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
    ws_url = (
        f"ws://{candidate.ip}:{candidate.port}{candidate.prefix}api/kernels/{kernel['id']}/channels"
    )
    try:
        text, transcript = _run_code(ws_url, [f"{k}: {v}" for k, v in headers.items()], deadline)
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


def probe_home_writable(candidate: Candidate) -> Finding:
    """Save, read back and delete a file through the contents API, as a user would."""
    # Not a dot-file: jupyter_server refuses hidden files by default.
    name = f"jhiv-probe-{uuid.uuid4().hex[:8]}.txt"
    path = f"api/contents/{name}"
    api = _Api(candidate)
    body = {"type": "file", "format": "text", "content": "written by jupyterhub-image-validator"}
    try:
        saved = api.request("PUT", path, json=body)
        if saved.status_code not in (200, 201):
            cause = diagnose(saved.text)
            return HOME_WRITABLE.failed(
                f"saving a file in the server's root directory failed ({saved.status_code})"
                + (f": {cause.cause}" if cause else ""),
                evidence=saved.text[:400],
            )
        read = api.request("GET", path)
        api.request("DELETE", path)
    except requests.RequestException as exc:
        return HOME_WRITABLE.failed(f"the contents API failed: {exc.__class__.__name__}")
    if read.status_code != 200 or read.json().get("content") != body["content"]:
        return HOME_WRITABLE.failed("a saved file could not be read back", evidence=read.text[:300])
    return HOME_WRITABLE.passed("a file was saved, read back and deleted in the server's root")


def probe_mount_writable(candidate: Candidate, mount_path: str, uid: int | None) -> Finding:
    """Write, read back and remove a file under the mount path as the server's uid."""
    script = 'f="$0/.jhiv-probe-$$" && echo ok > "$f" && cat "$f" && rm -f "$f"'
    user = str(uid) if uid is not None else None
    try:
        result = candidate.container.exec_run(["sh", "-c", script, mount_path], user=user or "")
    except Exception as exc:  # the engine refused the exec (no sh in the image)
        return MOUNT_WRITABLE.skipped(f"cannot exec in the container: {exc.__class__.__name__}")
    output = result.output.decode("utf-8", "replace")
    who = f"uid {uid}" if uid is not None else "the image user"
    if result.exit_code == 0 and output.strip() == "ok":
        return MOUNT_WRITABLE.passed(f"{mount_path} is writable by {who}")
    return MOUNT_WRITABLE.failed(
        f"{mount_path} is not writable by {who}", evidence=tail(output, 6) or None
    )


def probe_stability(candidate: Candidate, until: float) -> Finding:
    """Still running and answering at ``until`` (monotonic), or exited before it."""
    while True:
        exit_code = candidate.exit_code()
        if exit_code is not None:
            elapsed = time.monotonic() - candidate.started_at
            return STABILITY.failed(
                f"the container exited with code {exit_code} {elapsed:.1f} s after start",
                evidence=tail(candidate.logs()),
            )
        if time.monotonic() >= until:
            break
        time.sleep(min(0.25, max(0.0, until - time.monotonic())))
    try:
        response = _get(candidate.url + "api")
    except requests.RequestException as exc:
        return STABILITY.failed(f"the server stopped answering: {exc.__class__.__name__}")
    window = until - candidate.started_at
    if response.status_code >= 500:
        return STABILITY.failed(f"the server answers {response.status_code} after {window:.1f} s")
    return STABILITY.passed(f"still up and answering {window:.1f} s after start")
