"""The webhook receivers: authenticate, parse, record, answer 202; validation happens
later in the worker pool, so a registry is never kept waiting by a validation.

Order of the gates, cheapest first: rate limit per source address (429), receiver
enabled (404), the body size limit (413, in the middleware), authentication (401 when
missing, 403 when wrong), content type (415), JSON and shape (400), the jobs one
request may queue (413), replay (409). A watch whose queue is full gets no new job: the
push is acknowledged and listed as ignored, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from validator.redact import redact_text
from validator.registry.credentials import Secret
from validator.service import auth, jobs, jsonbody
from validator.service.context import Service, service
from validator.service.events import Ignored, Parsed, PayloadError, Push
from validator.service.matching import concerned
from validator.service.payloads import distribution, dockerhub, github, harbor, quay
from validator.service.ratelimit import retry_after
from validator.service.store import Accepted, Delivered, Enqueue, Replay

log = logging.getLogger(__name__)
router = APIRouter(prefix="/hooks", tags=["webhooks"])
# The answer lists at most this many ignored events (a push has one per layer).
SHOWN_IGNORED = 20

ServiceDep = Annotated[Service, Depends(service)]


def _reject(
    svc: Service,
    receiver: str,
    status: int,
    outcome: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    svc.metrics.requests.labels(receiver, outcome).inc()
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _gate(
    svc: Service, request: Request, receiver: str, secret: Secret | None
) -> JSONResponse | None:
    """Rate limit, then whether the receiver is on; None when the request may go on."""
    wait = svc.limiter.acquire(svc.source(request))
    if wait > 0:
        return _reject(
            svc,
            receiver,
            429,
            "rate_limited",
            "too many requests from this address",
            {"Retry-After": retry_after(wait)},
        )
    if secret is None:
        return _reject(svc, receiver, 404, "disabled", f"the {receiver} receiver is not enabled")
    return None


def _auth_failure(svc: Service, receiver: str, check: auth.Check, how: str) -> JSONResponse | None:
    if check is auth.Check.MISSING:
        return _reject(
            svc,
            receiver,
            401,
            "unauthenticated",
            f"missing credentials: {how}",
            {"WWW-Authenticate": 'Bearer realm="jhiv-webhooks"'},
        )
    if check is auth.Check.WRONG:
        return _reject(svc, receiver, 403, "forbidden", "the credentials are not valid")
    return None


def _plan(pushes: tuple[Push, ...], svc: Service) -> tuple[list[Enqueue], list[Ignored]]:
    """Each push for each watch it concerns; pushes no watch wants are ignored."""
    items: list[Enqueue] = []
    unwatched: list[Ignored] = []
    views = svc.watch_views()
    for push in pushes:
        watches = concerned(views, push)
        if not watches:
            unwatched.append(Ignored(push.image, "no watch covers this repository and tag"))
        for watch in watches:
            if push.digest is None:
                items.append(Enqueue(push, watch))
                continue
            profile = jobs.profile(watch.profile)
            key = jobs.validation_key(push.digest, profile)
            items.append(Enqueue(push, watch, key, profile.hub_version))
    return items, unwatched


class TooMuchWork(Exception):
    """One request asks for more jobs than JHIV_SERVICE_MAX_REQUEST_JOBS."""

    def __init__(self, jobs: int) -> None:
        super().__init__(jobs)
        self.jobs = jobs


def _plan_capped(svc: Service, pushes: tuple[Push, ...]) -> tuple[list[Enqueue], list[Ignored]]:
    """Plan off the event loop: the watches may have to be read from the database."""
    items, unwatched = _plan(pushes, svc)
    if len(items) > svc.settings.max_request_jobs:
        # Refused whole, before the store: no registry sends this many tagged pushes in
        # one delivery, and a partial acceptance would hide which ones were dropped.
        raise TooMuchWork(len(items))
    return items, unwatched


async def _record(
    svc: Service, pushes: tuple[Push, ...], delivery: tuple[str, str] | None
) -> tuple[Accepted, list[Ignored]]:
    items, unwatched = await run_in_threadpool(_plan_capped, svc, pushes)
    cap = svc.settings.max_watch_jobs
    # Awaited, not run in a thread: the group committer stores this request with the
    # others waiting, and answers once their transaction is committed.
    accepted = await asyncio.wrap_future(
        svc.committer.submit(Delivered(tuple(items), delivery, watch_cap=cap))
    )
    full = [
        Ignored(i.push.image, f"watch {i.watch.id} has {cap} jobs "
                "waiting already; push again once they ran")
        for i in accepted.over_cap
    ]  # fmt: skip
    return accepted, [*unwatched, *full]


async def _accept(
    svc: Service,
    receiver: str,
    body: bytes,
    parse: Callable[[Any], Parsed],
    started: float,
    delivery: tuple[str, str] | None = None,
) -> JSONResponse:
    try:
        parsed = parse(jsonbody.decode(body))
    except PayloadError as exc:
        return _reject(svc, receiver, 400, "malformed", redact_text(str(exc)))
    try:
        accepted, unwatched = await _record(svc, parsed.pushes, delivery)
    except TooMuchWork as exc:
        svc.metrics.over_cap.labels("request").inc()
        return _reject(
            svc,
            receiver,
            413,
            "too_many_jobs",
            f"this request would queue {exc.jobs} jobs; at most "
            f"{svc.settings.max_request_jobs} per request (send fewer events at once)",
        )
    except Replay:
        assert delivery is not None
        return _reject(
            svc, receiver, 409, "replay", f"delivery {delivery[1]!r} was accepted before"
        )
    if accepted.queued or accepted.resolving:
        svc.worker.wake()
    ignored = [*parsed.ignored, *unwatched]
    events = svc.metrics.events
    for outcome, count in (
        ("queued", accepted.queued),
        ("deduplicated", accepted.deduplicated),
        ("resolving", accepted.resolving),
        ("ignored", len(parsed.ignored)),
        ("unwatched", len(unwatched) - len(accepted.over_cap)),
        ("over_cap", len(accepted.over_cap)),
    ):
        if count:
            events.labels(receiver, outcome).inc(count)
    svc.metrics.requests.labels(receiver, "accepted").inc()
    svc.metrics.ack_seconds.labels(receiver).observe(time.monotonic() - started)
    if accepted.over_cap:
        svc.metrics.over_cap.labels("watch").inc(len(accepted.over_cap))
        log.warning(
            "%s: %d pushes not queued: their watch has %d jobs waiting",
            receiver,
            len(accepted.over_cap),
            svc.settings.max_watch_jobs,
        )
    if parsed.pushes:
        log.info(
            "%s: %d pushes, %d validations queued, %d already known, %d tags to resolve",
            receiver,
            len(parsed.pushes),
            accepted.queued,
            accepted.deduplicated,
            accepted.resolving,
        )
    return JSONResponse(
        {
            "pushes": len(parsed.pushes),
            "queued": accepted.queued,
            "deduplicated": accepted.deduplicated,
            "resolving": accepted.resolving,
            "ignored": [
                {"what": redact_text(i.what), "reason": redact_text(i.reason)}
                for i in ignored[:SHOWN_IGNORED]
            ],
            "ignored_total": len(ignored),
        },
        status_code=202,
    )


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


# What a receiver checks once the gate let the request through: authentication, content
# type, headers. It gets the receiver's secret and answers a response that ends the
# request there, or None to accept the payload.
Screen = Callable[[str], Awaitable[JSONResponse | None]]


async def _receive(
    request: Request,
    svc: Service,
    receiver: str,
    secret: Secret | None,
    screen: Screen,
    parse: Callable[[Any], Parsed],
    delivery: tuple[str, str] | None = None,
) -> JSONResponse:
    """Every receiver's one skeleton: gate, screen, accept."""
    started = time.monotonic()
    rejected = _gate(svc, request, receiver, secret)
    if rejected is not None:
        return rejected
    assert secret is not None
    answer = await screen(secret.reveal())
    if answer is not None:
        return answer
    # Starlette keeps the body once read, so a screen that read it costs nothing here.
    return await _accept(svc, receiver, await request.body(), parse, started, delivery)


async def _header_token_receiver(
    request: Request, svc: Service, receiver: str, parse: Callable[[Any], Parsed]
) -> JSONResponse:
    async def screen(secret: str) -> JSONResponse | None:
        check = auth.header_token(request.headers.get("authorization"), secret)
        failure = _auth_failure(svc, receiver, check, "send the hook token in Authorization")
        if failure is not None:
            return failure
        if receiver != "harbor" and _media_type(request) not in distribution.MEDIA_TYPES:
            return _reject(
                svc,
                receiver,
                415,
                "unsupported_media_type",
                f"content type {_media_type(request)!r} is not a distribution events type",
            )
        return None

    return await _receive(request, svc, receiver, svc.settings.hook_token, screen, parse)


_DISTRIBUTION_BODY = {
    "description": 'A notification envelope: `{"events": [...]}` '
    "(`application/vnd.docker.distribution.events.v1+json` or `.v2+json`).",
}


@router.post("/distribution", status_code=202, openapi_extra={"requestBody": _DISTRIBUTION_BODY})
async def distribution_hook(request: Request, svc: ServiceDep) -> JSONResponse:
    """CNCF distribution (registry 2.x and 3.x) notifications; `Authorization` carries
    the hook token. Only pushes of tagged manifests are validated."""
    return await _header_token_receiver(request, svc, "distribution", distribution.parse)


@router.post("/gitlab", status_code=202, openapi_extra={"requestBody": _DISTRIBUTION_BODY})
async def gitlab_hook(request: Request, svc: ServiceDep) -> JSONResponse:
    """GitLab's container registry notifications (the distribution format)."""
    return await _header_token_receiver(request, svc, "gitlab", distribution.parse)


@router.post("/harbor", status_code=202)
async def harbor_hook(request: Request, svc: ServiceDep) -> JSONResponse:
    """Harbor webhooks, default or CloudEvents format; Harbor's "Auth Header" carries the
    hook token (`Bearer TOKEN` or `TOKEN`)."""
    return await _header_token_receiver(request, svc, "harbor", harbor.parse)


@router.post("/github", status_code=202)
async def github_hook(
    request: Request,
    svc: ServiceDep,
    x_github_event: Annotated[str, Header()] = "",
    x_github_delivery: Annotated[str, Header()] = "",
) -> JSONResponse:
    """GitHub `registry_package`/`package` webhooks, signed with `X-Hub-Signature-256`;
    a delivery id (`X-GitHub-Delivery`) is accepted once."""
    receiver = "github"

    async def screen(secret: str) -> JSONResponse | None:
        body = await request.body()
        check = auth.signature(request.headers.get("x-hub-signature-256"), secret, body)
        failure = _auth_failure(svc, receiver, check, "sign deliveries (X-Hub-Signature-256)")
        if failure is not None:
            return failure
        if _media_type(request) != "application/json":
            return _reject(
                svc,
                receiver,
                415,
                "unsupported_media_type",
                "set the webhook's content type to application/json",
            )
        if not x_github_delivery or len(x_github_delivery) > 128:
            return _reject(
                svc, receiver, 400, "malformed", "X-GitHub-Delivery is missing or too long"
            )
        if x_github_event == "ping":
            svc.metrics.requests.labels(receiver, "ping").inc()
            return JSONResponse({"pong": True}, status_code=200)
        return None

    return await _receive(
        request,
        svc,
        receiver,
        svc.settings.github_secret,
        screen,
        lambda doc: github.parse(x_github_event, doc),
        delivery=(receiver, x_github_delivery),
    )


async def _url_token_receiver(
    request: Request, svc: Service, receiver: str, token: str, parse: Callable[[Any], Parsed]
) -> JSONResponse:
    async def screen(secret: str) -> JSONResponse | None:
        if not auth.same(token, secret):
            return _reject(svc, receiver, 403, "forbidden", "the URL token is not valid")
        return None

    return await _receive(request, svc, receiver, svc.settings.url_token, screen, parse)


@router.post("/dockerhub/{token}", status_code=202)
async def dockerhub_hook(request: Request, svc: ServiceDep, token: str) -> JSONResponse:
    """Docker Hub webhooks; Docker Hub signs nothing, so the URL carries the token. The
    tag's digest is asked of Docker Hub before validating."""
    return await _url_token_receiver(request, svc, "dockerhub", token, dockerhub.parse)


@router.post("/quay/{token}", status_code=202)
async def quay_hook(request: Request, svc: ServiceDep, token: str) -> JSONResponse:
    """Quay repository push notifications, token in the URL; digests are resolved."""
    return await _url_token_receiver(request, svc, "quay", token, quay.parse)
