#!/usr/bin/env python3
"""Run the given command, wait until it answers HTTP, then kill it and exit 1.

The delay is counted from readiness, not from launch, so the image fails the
same way ("was up, then died") however slowly the server starts.
"""

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

READY_TIMEOUT = 120.0


def probe_url() -> str:
    service = urllib.parse.urlsplit(
        os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8888/")
    )
    prefix = service.path if service.path.endswith("/") else service.path + "/"
    scheme = service.scheme or "http"
    return f"{scheme}://127.0.0.1:{service.port or 8888}{prefix}api"


def tls_context() -> ssl.SSLContext | None:
    """With the hub's internal SSL the server wants a client certificate: show its own."""
    certfile = os.environ.get("JUPYTERHUB_SSL_CERTFILE")
    if not certfile:
        return None
    context = ssl.create_default_context(cafile=os.environ.get("JUPYTERHUB_SSL_CLIENT_CA"))
    # The certificate names the server's host name, not 127.0.0.1, where we ask.
    context.check_hostname = False
    context.load_cert_chain(certfile, os.environ.get("JUPYTERHUB_SSL_KEYFILE"))
    return context


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2, context=tls_context()).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status means something is listening
    except OSError:
        return False
    return True


def main() -> int:
    if len(sys.argv) < 2:
        print("crash-after-start: no command given", file=sys.stderr)
        return 2
    child = subprocess.Popen(sys.argv[1:])

    def stop(signum: int, _frame: object) -> None:
        # As PID 1 we would otherwise ignore SIGTERM and make `docker stop` wait.
        child.send_signal(signum)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    url = probe_url()
    deadline = time.monotonic() + READY_TIMEOUT
    while not answers(url):
        if child.poll() is not None:
            return child.returncode
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)

    delay = float(os.environ.get("CRASH_AFTER_SECONDS", "8"))
    print(f"crash-after-start: {url} answers; crashing in {delay:g}s", file=sys.stderr)
    time.sleep(delay)
    child.kill()
    child.wait()
    print("crash-after-start: server killed, exiting 1", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
