"""Is this the hub's server: its API, the hub's login, the hub's token, the hub contact?"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

from validator.checks.base import Check, Stage
from validator.checks.runtime import RuntimeContext
from validator.checks.runtime._http import get
from validator.findings import Finding


def probe_server_api(ctx: RuntimeContext) -> Finding:
    candidate = ctx.candidate
    url = candidate.url + "api"
    try:
        response = get(url)
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


# A page every jupyter_server (and classic notebook) serves behind tornado's
# @web.authenticated, whatever UI is installed: jupyter_server's view handler. A UI's own
# page ({prefix}lab, {prefix}tree) is missing from a server without one, and the hub's
# server has no {prefix}login (JupyterHubIdentityProvider registers none).
AUTH_PROBE_PATH = "view/"


def probe_hub_auth(ctx: RuntimeContext) -> Finding:
    """Follow redirects inside the prefix; the last one must leave for the hub's OAuth."""
    candidate, hub_authorize_path = ctx.candidate, ctx.hub.oauth_authorize_path
    url = candidate.url + AUTH_PROBE_PATH
    hops = []
    status = None
    for _ in range(4):
        try:
            response = get(url)
        except requests.RequestException as exc:
            return HUB_AUTH.failed(f"GET {urlsplit(url).path} failed: {exc.__class__.__name__}")
        status = response.status_code
        location = response.headers.get("Location", "")
        hops.append(f"GET {urlsplit(url).path} -> {status} {location}".rstrip())
        if status not in (301, 302, 303, 307, 308) or not location:
            break
        if urlsplit(location).path.startswith(hub_authorize_path):
            return HUB_AUTH.passed(
                f"unauthenticated GET {candidate.prefix}{AUTH_PROBE_PATH} is redirected to "
                "the hub's login"
            )
        url = urljoin(url, location)
        if not urlsplit(url).path.startswith(candidate.prefix):
            break
    if status == 404:
        why = (
            f"{candidate.prefix}{AUTH_PROBE_PATH}, a page of every jupyter_server, answers "
            "404: the server does not serve the hub's prefix"
        )
    else:
        why = "the server has its own login or none"
    return HUB_AUTH.failed(
        f"unauthenticated requests are not sent to the hub's OAuth login ({hub_authorize_path}): "
        + why,
        evidence="\n".join(hops),
    )


def probe_token_auth(ctx: RuntimeContext) -> Finding:
    candidate = ctx.candidate
    try:
        response = get(candidate.url + "api/status", headers=candidate.auth_headers())
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


def probe_hub_contact(ctx: RuntimeContext) -> Finding:
    hub = ctx.hub
    if hub.contacted:
        return HUB_CONTACT.passed(f"the server called the hub API ({hub.contact_count}x)")
    return HUB_CONTACT.failed("the server never called JUPYTERHUB_API_URL")


SERVER_API = Check(
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
    evidence=("jupyterhub PR#4567",),
    needs=("server-starts",),
    probe=probe_server_api,
)

HUB_AUTH = Check(
    id="hub-auth",
    title="Browsers are sent to the hub to log in",
    stage=Stage.RUNTIME,
    detection="Unauthenticated GET {prefix}view/ (a page every jupyter_server serves behind its login, with or without a UI), following redirects inside the prefix, must end in a redirect to {hub}/api/oauth2/authorize.",
    cause=(
        "A page of the server asked for without a login must redirect to "
        "{hub}/api/oauth2/authorize; a plain Jupyter server shows its own login page "
        "and users can never get in."
    ),
    fix='Start the server with jupyterhub-singleuser: CMD ["jupyterhub-singleuser"]',
    evidence=("dockerspawner docs docker-image.md", "docker-stacks start-notebook"),
    needs=("server-starts",),
    probe=probe_hub_auth,
)

TOKEN_AUTH = Check(
    id="token-auth",
    title="The hub's token is accepted",
    stage=Stage.RUNTIME,
    detection="GET {prefix}api/status with the server's own hub token must answer 200 (the server asks the stub hub who the token belongs to).",
    cause=(
        "The server checks tokens with the hub (GET {api}/user); if it cannot, every "
        "request fails with 403 or 500."
    ),
    fix="Install the hub's JupyterHub version in the image; make sure the hub API is reachable.",
    evidence=("jupyterhub#537",),
    needs=("server-starts",),
    probe=probe_token_auth,
)

HUB_CONTACT = Check(
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
    needs=("server-starts",),
    probe=probe_hub_contact,
)
