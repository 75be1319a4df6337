#!/usr/bin/env python3
"""Run the given command, wait until its server accepts connections, then kill it and exit 1.

The delay is counted from readiness, not from launch, so the image fails the
same way ("was up, then died") however slowly the server starts.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

READY_TIMEOUT = 120.0


def server_port() -> int:
    service = urllib.parse.urlsplit(
        os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8888/")
    )
    return service.port or 8888


def answers(port: int) -> bool:
    """The server accepts connections: it binds its port only once it serves.

    A TCP connection, not an HTTP request, so the same test holds when the hub's
    internal SSL makes the server demand TLS and a client certificate.
    """
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
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

    port = server_port()
    deadline = time.monotonic() + READY_TIMEOUT
    while not answers(port):
        if child.poll() is not None:
            return child.returncode
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)

    delay = float(os.environ.get("CRASH_AFTER_SECONDS", "8"))
    print(f"crash-after-start: port {port} answers; crashing in {delay:g}s", file=sys.stderr)
    time.sleep(delay)
    child.kill()
    child.wait()
    print("crash-after-start: server killed, exiting 1", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
