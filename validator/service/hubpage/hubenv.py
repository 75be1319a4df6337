"""What JupyterHub tells a service about itself, read from the environment once.

A hub-managed service gets these variables from the hub; an external one from its
operator (docs/jupyterhub.md lists them). The page is mounted when the three that
OAuth cannot do without are present: the service's API token, its OAuth client id and
its URL prefix. Pure: ``hub_environment`` reads a mapping and returns a value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from validator.registry.credentials import Secret

# Without these the hub's OAuth cannot work; with all three the page is mounted.
REQUIRED = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_SERVICE_PREFIX")
# Read when present; each has the default JupyterHub itself uses.
OPTIONAL = (
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_BASE_URL",
    "JUPYTERHUB_HOST",
    "JUPYTERHUB_OAUTH_CALLBACK_URL",
    "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
    "JUPYTERHUB_SERVICE_NAME",
    "JUPYTERHUB_SERVICE_URL",
    "JUPYTERHUB_PUBLIC_URL",
)


def _slashed(path: str) -> str:
    path = "/" + path.strip("/")
    return path if path == "/" else path + "/"


@dataclass(frozen=True)
class HubEnv:
    """The service's place in the hub: its prefix, its OAuth client and the hub's URLs."""

    api_token: Secret = field(repr=False)
    client_id: str
    prefix: str
    """The service's URL prefix, with slashes at both ends (``/services/image-check/``)."""
    api_url: str = "http://127.0.0.1:8081/hub/api"
    base_url: str = "/"
    """The hub's base URL (``c.JupyterHub.base_url``)."""
    host: str = ""
    """The hub's origin when the service is served from another one (else empty)."""
    callback_url: str = ""
    access_scopes: tuple[str, ...] = ()
    service_name: str = ""
    service_url: str = ""
    """Where a hub-managed service must listen (``url`` of its registration)."""
    public_url: str = ""

    @property
    def hub_prefix(self) -> str:
        return _slashed(self.base_url.rstrip("/") + "/hub")

    @property
    def oauth_callback(self) -> str:
        return self.callback_url or self.prefix + "oauth_callback"

    @property
    def secure(self) -> bool:
        """The page is served over HTTPS (the hub's public URL says so)."""
        return self.public_url.startswith("https://") or self.host.startswith("https://")


def hub_environment(environ: Mapping[str, str]) -> HubEnv | None:
    """The hub's description of this service, or None when not run as a hub service."""
    values = {name: environ.get(name, "").strip() for name in (*REQUIRED, *OPTIONAL)}
    if not all(values[name] for name in REQUIRED):
        return None
    scopes = values["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]
    return HubEnv(
        api_token=Secret(values["JUPYTERHUB_API_TOKEN"]),
        client_id=values["JUPYTERHUB_CLIENT_ID"],
        prefix=_slashed(values["JUPYTERHUB_SERVICE_PREFIX"]),
        api_url=values["JUPYTERHUB_API_URL"] or HubEnv.api_url,
        base_url=_slashed(values["JUPYTERHUB_BASE_URL"] or "/"),
        host=values["JUPYTERHUB_HOST"].rstrip("/"),
        callback_url=values["JUPYTERHUB_OAUTH_CALLBACK_URL"],
        # JSON list (the hub writes that) or space-separated (an operator might).
        access_scopes=_scopes(scopes),
        service_name=values["JUPYTERHUB_SERVICE_NAME"],
        service_url=values["JUPYTERHUB_SERVICE_URL"],
        public_url=values["JUPYTERHUB_PUBLIC_URL"].rstrip("/"),
    )


def _scopes(text: str) -> tuple[str, ...]:
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = []
        return tuple(str(s) for s in parsed if isinstance(s, str))
    return tuple(text.split())


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def listen_address(host: str | None, port: int | None, hub: HubEnv | None) -> tuple[str, int]:
    """Where to listen: what the command line says, else where the hub expects a
    hub-managed service (``JUPYTERHUB_SERVICE_URL``), else loopback:8080."""
    url = urlsplit(hub.service_url) if hub is not None and hub.service_url else None
    if host is None:
        host = (url.hostname if url is not None else None) or DEFAULT_HOST
    if port is None:
        port = (url.port if url is not None else None) or DEFAULT_PORT
    return host, port
