#!/usr/bin/env python3
"""HEALTHCHECK: healthy when the running Jupyter server answers GET <url>api.

The URL comes from the server's runtime file (jpserver-<pid>.json), which holds the
real port and base URL, whatever the hub chose. A runtime file this uid cannot read
(the server runs as another NB_UID) falls back to the URL the environment describes.
Exit 0 healthy, 1 not.

Design after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md.
"""

import glob
import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path


def runtime_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("JUPYTER_RUNTIME_DIR"):
        dirs.append(Path(os.environ["JUPYTER_RUNTIME_DIR"]))
    # start.sh may have moved the user's home (NB_USER), so look in every home.
    homes = [os.environ.get("HOME", ""), *glob.glob("/home/*"), "/root"]
    dirs += [Path(h) / ".local/share/jupyter/runtime" for h in homes if h]
    return dirs


def urls_from_runtime_files() -> list[str]:
    found: list[tuple[float, str]] = []
    for directory in runtime_dirs():
        try:
            files = list(directory.glob("jpserver-*.json"))
        except OSError:
            continue
        for path in files:
            try:
                found.append((path.stat().st_mtime, json.loads(path.read_text())["url"]))
            except (OSError, ValueError, KeyError):
                continue
    return [url for _, url in sorted(found, reverse=True)]


def url_from_environment() -> str:
    service_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    if service_url:
        # The hub's address may be 0.0.0.0 (any); from inside, localhost reaches it.
        scheme, _, rest = service_url.partition("://")
        _, _, path = rest.partition("/")
        port = rest.partition("/")[0].rpartition(":")[2] or "8888"
        return f"{scheme}://localhost:{port}/{path}"
    port = os.environ.get("JUPYTER_PORT", "8888")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return f"http://localhost:{port}{prefix}"


def answers(url: str) -> bool:
    if not url.startswith(("http://", "https://")):
        return True  # a UNIX socket: nothing to probe over TCP
    if not url.endswith("/"):
        url += "/"
    # The probe targets this container: no proxy, and a self-signed certificate is fine.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(url + "api", timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (OSError, ValueError):
        return False


def main() -> int:
    candidates = [*urls_from_runtime_files(), url_from_environment()]
    for url in candidates:
        if answers(url):
            return 0
    print(f"healthcheck: no server answered at {', '.join(candidates)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
