"""A local HTTP server on a free loopback port, for unit tests of HTTP clients."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer


@contextlib.contextmanager
def running(server: HTTPServer) -> Iterator[str]:
    """Serve ``server`` (already bound, e.g. TLS-wrapped) in a thread; yields ``host:port``."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread; yields ``host:port``."""
    with running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as address:
        yield address
