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
from validator.redact import redact_text
from validator.service import api, hooks, ondemand_api
from validator.service.context import Service
from validator.service.engines import Engine, LeaseStore
from validator.service.engines.local import LocalEngine
from validator.service.groupcommit import GroupCommitter
from validator.service.hubpage.hubenv import HubEnv
from validator.service.lockout import Lockout
from validator.service.metrics import CONTENT_TYPE, Metrics
from validator.service.middleware import AccessLog, BodyLimit, redact_path
from validator.service.notifier import Notifier, Send
from validator.service.ondemand import OnDemand
from validator.service.ondemand_store import OnDemandStore
from validator.service.ratelimit import RateLimiter
from validator.service.runner import Runner
from validator.service.settings import Settings
from validator.service.store import Store
from validator.service.worker import RetryPolicy, Worker

log = logging.getLogger(__name__)
_RECEIVER = re.compile(r"^/hooks/([a-z]+)")

DESCRIPTION = """\
Validates every image pushed to a watched repository, as `validate-image` would (or one
image on demand, `POST /api/v1/validations`, and stored configurations), and
keeps the verdicts: registries call the webhook receivers under `/hooks/`, the admin
manages watches under `/api/v1/watches`, anyone with access reads results and badges.
See docs/service.md.
"""


# A validation message quotes at most this much (a 1 MB string must not come back).
SHOWN_MESSAGE = 300


def _printable(value: object) -> object:
    """Text a response can encode: a lone surrogate from a JSON escape becomes \\udXXX."""
    if not isinstance(value, str):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # The rejected input may be a password typed into the wrong field: never echo it, nor
    # credentials typed into a URL (the messages quote the value).
    cleaned = []
    for error in errors:
        message = redact_text(str(error.get("msg", "")))
        if len(message) > SHOWN_MESSAGE:
            message = message[:SHOWN_MESSAGE] + "..."
        cleaned.append(
            {
                "type": error.get("type"),
                "loc": [_printable(part) for part in error.get("loc", ())],
                "msg": _printable(message),
            }
        )
    return cleaned


def _engine(settings: Settings, store: Store, worker: Worker, ondemand: OnDemand) -> Engine:
    """Celery when a broker is set, else the embedded threads."""
    if settings.broker_url is None:
        return LocalEngine(worker, ondemand)
    from validator.service.engines import broker  # celery, only with a broker
    from validator.service.engines.celery import CeleryEngine
    from validator.service.engines.worker import limits

    url = settings.broker_url.reveal()
    return CeleryEngine(
        LeaseStore(store),
        broker.make_app(url, limits()),
        broker.BrokerView(url),
        lease_s=settings.lease,
        reconcile_s=settings.reconcile,
        max_attempts=settings.max_attempts,
    )


def create_app(
    settings: Settings,
    store: Store,
    runner: Runner,
    *,
    start_worker: bool = True,
    clock: Callable[[], float] = time.monotonic,
    send_callback: Send | None = None,
    shutdown_grace: float = 10.0,
    hub: HubEnv | None = None,
) -> FastAPI:
    store.create_schema()
    metrics = Metrics()
    notifier = Notifier(metrics, settings.callback_queue, send=send_callback)
    worker = Worker(
        store,
        runner,
        metrics,
        concurrency=settings.concurrency,
        policy=RetryPolicy(settings.max_attempts, settings.backoff, settings.backoff_max),
        public_url=settings.public_url,
        notify=notifier.submit,
    )
    metrics.watch_queue(store.depth)
    ondemand_store = OnDemandStore(store)
    ondemand = OnDemand(ondemand_store, runner, metrics, settings.concurrency)
    engine = _engine(settings, store, worker, ondemand)
    metrics.watch_broker(engine.queue_depths, engine.running_per_worker)
    svc = Service(
        settings,
        store,
        engine,
        metrics,
        RateLimiter(settings.rate, settings.burst, clock),
        Lockout(settings.admin_failures, settings.admin_lockout, clock),
        GroupCommitter(store.accept_batch),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            notifier.start()
            engine.start()
        try:
            yield
        finally:
            svc.committer.close(shutdown_grace)  # what was acknowledged is committed
            if start_worker:
                engine.stop(shutdown_grace)
                notifier.stop(shutdown_grace / 2)

    app = FastAPI(
        title="jupyterhub-image-validator webhook service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = svc
    app.state.notifier = notifier
    app.state.ondemand_store = ondemand_store
    app.state.ondemand = ondemand
    app.state.engine = engine  # where jobs run: takes the on-demand requests (``submit``)
    app.include_router(hooks.router)
    # Before api.router: its /validations/{id} would otherwise take on-demand ids.
    app.include_router(ondemand_api.router)
    app.include_router(api.router)
    if hub is not None:
        # Run as a JupyterHub service: the page for hub users, at the service's prefix.
        from validator.service.hubpage.routes import mount

        mount(app, hub, settings.hub_profile)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
        return JSONResponse({"detail": _clean_errors(errors)}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # The last resort: the fuzz tests find no input that gets here. No traceback and
        # no message go out (either may quote a secret); the log names the type only.
        log.error(
            "Internal error answering %s %s: %s",
            request.method,
            redact_path(request.url.path),
            type(exc).__name__,
        )
        log.debug("Traceback of the internal error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.get("/healthz", tags=["service"])
    def healthz() -> JSONResponse:
        """200 when the database answers; the queue depth and workers busy."""
        try:
            depth = store.depth()
        except Exception as exc:  # any driver error means the same: not ready
            log.warning("Health check: the database does not answer: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "error"}, status_code=503)
        body: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "workers": settings.concurrency,
            "busy": engine.busy,
            "queue": {f"{kind}_{status}": n for (kind, status), n in sorted(depth.items())},
        }
        try:
            body.update(engine.health())
        except Exception as exc:  # the engine's view is extra: the store answered
            log.warning("Health check: the engine does not answer: %s", type(exc).__name__)
            body["engine_error"] = type(exc).__name__
        return JSONResponse(body)

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
