"""A local HTTP server standing in for a candidate single-user server.

Each test gives it the routes it needs, ``(method, path) -> Answer`` or a function of
the request (a path ending in ``*`` matches every path it starts); requests are
recorded so a test can assert what a probe sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from validator.checks.runtime import RuntimeContext
from validator.options import Options
from validator.profiles import CommandMode, Profile
from validator.runtime.hubstub import StubHub
from validator.runtime.spawn import Candidate
from validator.runtime.waiting import UpResult

TOKEN = "candidate-token"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def json(status: int, payload: object, **headers: str) -> Answer:
        return Answer(status, json.dumps(payload), {"Content-Type": "application/json", **headers})


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Route = Answer | Callable[[Seen], Answer]


class CandidateServer:
    def __init__(self, routes: Mapping[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                server.seen.append(seen)
                route = server.route(self.command, self.path.split("?")[0])
                if route is None:
                    answer = Answer(404, "not found")
                else:
                    answer = route(seen) if callable(route) else route
                payload = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def route(self, method: str, path: str) -> Route | None:
        if (method, path) in self.routes:
            return self.routes[(method, path)]
        for (want, pattern), route in self.routes.items():
            if want == method and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return route
        return None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def __enter__(self) -> CandidateServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def candidate(self, prefix: str) -> Candidate:
        # No container: these probes only speak HTTP to it.
        return Candidate(
            container=None,
            ip="127.0.0.1",
            port=self.port,
            prefix=prefix,
            token=TOKEN,
            mode=CommandMode.IMAGE,
        )

    def context(self, profile: Profile, hub: StubHub | None = None) -> RuntimeContext:
        hub = hub or StubHub(
            profile.hub_version, profile.user_name, profile.server_name, TOKEN, "127.0.0.1"
        )
        return RuntimeContext(
            candidate=self.candidate(profile.service_prefix),
            hub=hub,
            profile=profile,
            options=Options(),
            up=UpResult(seconds=1.0, status=200),
            spawn_started=time.monotonic(),
        )
