"""The ASGI application: receivers, API, health and metrics, assembled around one store
and one worker pool. ``create_app`` takes its parts, so tests give it fakes."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from validator import __version__
from validator.service import api, hooks
from validator.service.context import Service
from validator.service.metrics import CONTENT_TYPE, Metrics
from validator.service.middleware import AccessLog, BodyLimit
from validator.service.ratelimit import RateLimiter
from validator.service.runner import Runner
from validator.service.settings import Settings
from validator.service.store import Store
from validator.service.worker import RetryPolicy, Worker

log = logging.getLogger(__name__)
_RECEIVER = re.compile(r"^/hooks/([a-z]+)")

DESCRIPTION = """\
Validates every image pushed to a watched repository, as `validate-image` would, and
keeps the verdicts: registries call the webhook receivers under `/hooks/`, the admin
manages watches under `/api/v1/watches`, anyone with access reads results and badges.
See docs/service.md.
"""


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # The rejected input may be a password typed into the wrong field: never echo it.
    return [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors]


def create_app(
    settings: Settings,
    store: Store,
    runner: Runner,
    *,
    start_worker: bool = True,
    clock: Callable[[], float] = time.monotonic,
    send_callback: Callable[..., bool] | None = None,
    shutdown_grace: float = 10.0,
) -> FastAPI:
    store.create_schema()
    metrics = Metrics()
    worker_options: dict[str, Any] = {}
    if send_callback is not None:
        worker_options["send_callback"] = send_callback
    worker = Worker(
        store,
        runner,
        metrics,
        concurrency=settings.concurrency,
        policy=RetryPolicy(settings.max_attempts, settings.backoff, settings.backoff_max),
        public_url=settings.public_url,
        **worker_options,
    )
    metrics.watch_queue(store.depth)
    svc = Service(
        settings, store, worker, metrics, RateLimiter(settings.rate, settings.burst, clock)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            worker.start()
        try:
            yield
        finally:
            if start_worker:
                worker.stop(shutdown_grace)

    app = FastAPI(
        title="jupyterhub-image-validator webhook service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = svc
    app.include_router(hooks.router)
    app.include_router(api.router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
        return JSONResponse({"detail": _clean_errors(errors)}, status_code=422)

    @app.get("/healthz", tags=["service"])
    def healthz() -> JSONResponse:
        """200 when the database answers; the queue depth and workers busy."""
        try:
            depth = store.depth()
        except Exception as exc:  # any driver error means the same: not ready
            log.warning("Health check: the database does not answer: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "error"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "workers": settings.concurrency,
                "busy": worker.busy,
                "queue": {f"{kind}_{status}": n for (kind, status), n in sorted(depth.items())},
            }
        )

    @app.get("/metrics", tags=["service"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def rejected_body(path: str) -> None:
        match = _RECEIVER.match(path)
        metrics.requests.labels(match.group(1) if match else "api", "too_large").inc()

    app.add_middleware(BodyLimit, max_bytes=settings.max_body, on_reject=rejected_body)
    app.add_middleware(AccessLog)
    return app
