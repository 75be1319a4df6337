"""Can the Python that runs the server verify a public certificate (the hub's https URL)?

The server's hub client (tornado's AsyncHTTPClient in jupyterhub.services.auth) uses
Python's default SSL context, so what matters is how many CA certificates that
context finds in the server's own interpreter and environment, not whether some other
tool in the image has a bundle. The question is asked of that interpreter, inside the
running candidate.
"""

from __future__ import annotations

import json
import os.path
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors
import requests

from validator.checks.base import Check, Stage
from validator.checks.runtime import RuntimeContext
from validator.findings import Finding

_SERVER_NAMES = ("jupyterhub-singleuser", "jupyterhub.singleuser")

# Run by the server's interpreter as the server's uid. It takes SSL_CERT_FILE/DIR from
# the server process's own environment (an entrypoint may export them), then counts
# what OpenSSL's default paths give: certificates loaded from the CA file, and the
# hashed entries of the CA directory (loaded only on demand, so not in the stats).
_PROBE = r"""
import json, os, re, ssl, sys
names = ("jupyterhub-singleuser", "jupyterhub.singleuser")
env = {}
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode("utf-8", "replace").split("\0")
        if not any(os.path.basename(a) in names for a in args):
            continue
        with open(f"/proc/{pid}/environ", "rb") as f:
            pairs = f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        continue
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if sep and key in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            env[key] = value
    break
os.environ.update(env)
paths = ssl.get_default_verify_paths()
stats = ssl.create_default_context().cert_store_stats()
hashed = 0
if paths.capath and os.path.isdir(paths.capath):
    for name in os.listdir(paths.capath):
        full = os.path.join(paths.capath, name)
        if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", name) and os.path.exists(full):
            hashed += 1
try:
    import certifi
    bundle = certifi.where()
    bundle = bundle if os.path.exists(bundle) else None
except Exception:
    bundle = None
print(json.dumps({
    "executable": sys.executable,
    "cafile": paths.cafile,
    "capath": paths.capath,
    "loaded": stats.get("x509_ca", 0),
    "hashed": hashed,
    "certifi": bundle,
    "env": env,
}))
"""


@dataclass(frozen=True)
class TrustStore:
    """What the server's interpreter can verify with, by default."""

    executable: str
    cafile: str | None  # OpenSSL's default CA file, when it exists
    capath: str | None  # OpenSSL's default CA directory, when it exists
    loaded: int  # CA certificates the default context loaded (from the file)
    hashed: int  # hashed certificate entries in the directory
    certifi: str | None  # certifi's bundle, when certifi is importable
    env: Mapping[str, str]  # SSL_CERT_FILE / SSL_CERT_DIR of the server process

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrustStore:
        return cls(
            executable=str(data.get("executable") or "python"),
            cafile=data.get("cafile") or None,
            capath=data.get("capath") or None,
            loaded=int(data.get("loaded") or 0),
            hashed=int(data.get("hashed") or 0),
            certifi=data.get("certifi") or None,
            env=dict(data.get("env") or {}),
        )


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc.__class__.__name__)


def server_python(processes: Sequence[Sequence[str]], titles: Sequence[str]) -> str | None:
    """The interpreter running jupyterhub-singleuser, from ``docker top``'s table.

    A script's interpreter is argv[0] (the kernel puts the shebang's path there); a
    process that merely mentions the server (tini, a wrapper shell) is not it.
    """
    if "CMD" not in titles:
        return None
    column = list(titles).index("CMD")
    for row in processes:
        if len(row) <= column:
            continue
        args = row[column].split()
        if len(args) < 2 or not os.path.basename(args[0]).startswith("python"):
            continue
        rest = args[1:]
        if os.path.basename(rest[0]) in _SERVER_NAMES or (
            rest[0] == "-m" and len(rest) > 1 and rest[1] in _SERVER_NAMES
        ):
            return args[0]
    return None


def judge(store: TrustStore, hub_tls_internal: bool) -> Finding:
    """Warn when the default context has no CA at all; never fails."""
    where = ", ".join(f"{k}={v}" for k, v in store.env.items())
    where = f" (server environment: {where})" if where else ""
    if store.loaded or store.hashed:
        found = []
        if store.loaded:
            found.append(f"{store.loaded} CA certificates from {store.cafile}")
        if store.hashed:
            found.append(f"{store.hashed} hashed certificates in {store.capath}")
        return HUB_API_TLS.passed(
            f"the server's Python {store.executable} verifies with {' and '.join(found)}{where}"
        )
    certifi = (
        f"; certifi is installed ({store.certifi}) but tornado does not use it: point "
        f"SSL_CERT_FILE at it"
        if store.certifi
        else "; certifi is not installed either"
    )
    depends = (
        "Whether the platform's servers verify the hub's public https URL with this store "
        "or with the internal CA depends on its configuration"
        + (" (internal SSL is on)" if hub_tls_internal else "")
    )
    return HUB_API_TLS.warned(
        f"the server's Python {store.executable} loads no CA certificate by default "
        f"(CA file {store.cafile or 'none'}, CA directory {store.capath or 'none'}){where}"
        f"{certifi}. {depends}: if it is the system store, the server cannot reach the hub "
        "(CERTIFICATE_VERIFY_FAILED)."
    )


def probe_hub_api_tls(ctx: RuntimeContext) -> Finding:
    if not ctx.profile.hub_api_public_https:
        return HUB_API_TLS.skipped("the profile's servers reach the hub over its own network")
    container = ctx.candidate.container
    try:
        top = container.top()
    except (docker.errors.APIError, requests.RequestException) as exc:
        return HUB_API_TLS.skipped(f"cannot list the container's processes: {_reason(exc)}")
    python = server_python(top.get("Processes") or [], top.get("Titles") or [])
    if python is None:
        return HUB_API_TLS.skipped("no Python process running jupyterhub-singleuser was found")
    # The server's uid reads the server's /proc entries; an entrypoint may have switched.
    uid = next(
        (x.uid for x in ctx.candidate.listeners() or [] if x.port == ctx.candidate.port), None
    )
    try:
        result = container.exec_run(
            [python, "-c", _PROBE], user=str(uid) if uid is not None else ""
        )
    except (docker.errors.APIError, requests.RequestException) as exc:
        return HUB_API_TLS.skipped(f"cannot exec {python}: {_reason(exc)}")
    output = result.output.decode("utf-8", "replace").strip()
    try:
        data = json.loads(output.splitlines()[-1]) if result.exit_code == 0 else None
    except (ValueError, IndexError):
        data = None
    if not isinstance(data, dict):
        return HUB_API_TLS.skipped(
            f"{python} could not report its CA certificates (exit {result.exit_code}): "
            f"{output[-200:]}"
        )
    return judge(TrustStore.from_json(data), ctx.profile.internal_ssl)


HUB_API_TLS = Check(
    id="hub-api-tls",
    title="The server's Python can verify the hub's public https certificate",
    stage=Stage.RUNTIME,
    detection=(
        "Only where the profile's servers reach the hub through a public https URL "
        "(hub_api_public_https): finds the Python running jupyterhub-singleuser in the "
        "candidate and asks it, as the server's uid and with the server's SSL_CERT_FILE/"
        "SSL_CERT_DIR, how many CA certificates its default SSL context loads (and how many "
        "its CA directory holds) and whether certifi is importable. None: a warning."
    ),
    cause=(
        "The single-user server checks tokens and sends activity to JUPYTERHUB_API_URL with "
        "tornado, which verifies TLS with Python's default context: an image without a CA "
        "bundle (no ca-certificates package, a Python built against another OpenSSL "
        "directory) fails with CERTIFICATE_VERIFY_FAILED and 'Failed to connect to my Hub'. "
        "Whether a platform's servers verify the hub with the system store or with the "
        "internal CA depends on its configuration, which public sources do not settle."
    ),
    fix=(
        "Install the CA bundle: RUN apt-get update && apt-get install -y ca-certificates "
        "(conda: conda install ca-certificates), or pip install certifi and\n"
        "  ENV SSL_CERT_FILE=<the path python -m certifi prints>"
    ),
    evidence=("jupyterhub#1351", "binderhub#1140", "z2jh#2454"),
    needs=("server-starts",),
    probe=probe_hub_api_tls,
)
