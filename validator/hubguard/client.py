"""Talk to the service's on-demand API from the hub: ask for a validation, then poll it
within a time budget.

Tornado's AsyncHTTPClient, because every hub runs on tornado: the hub's event loop keeps
serving other users while a spawn waits for its verdict, and nothing is installed for it.
The token travels only in the Authorization header; no message built here contains it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

from validator.hubguard.config import GuardConfig, Login

OWNER_HEADER = "X-JHIV-User"
# One HTTP call never takes longer than this, whatever remains of the budget.
CALL_TIMEOUT_S = 10.0
# The first polls come quickly: a reused result is there within a few milliseconds.
FIRST_POLL_S = 0.05
# How close to the deadline a failed call counts as cut off by it.
CALL_GRACE_S = 0.1


class ServiceError(Exception):
    """The service could not be asked or did not answer usefully (one line, no secret)."""


@dataclass(frozen=True)
class Ask:
    """What one spawn asks the service about."""

    image: str
    user: str
    profile: str
    mount_path: str | None = None
    hub_version: str | None = None
    login: Login | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"image": self.image, "profile": self.profile}
        if self.mount_path:
            body["mount_path"] = self.mount_path
        if self.hub_version:
            body["hub_version"] = self.hub_version
        if self.login is not None:
            body["username"], body["password"] = self.login.username, self.login.password
            if self.login.registry:
                body["registry"] = self.login.registry
        return body


@dataclass(frozen=True)
class Outcome:
    """Where the validation stood when the guard stopped waiting."""

    request_id: str | None
    status: str  # queued, running, done, failed; "unreachable" when never asked
    document: dict[str, Any] | None = None  # the service's answer, with the report once done
    reason: str | None = None  # why there is no verdict (service down, budget spent)

    @property
    def verdict(self) -> str | None:
        if self.status != "done" or self.document is None:
            return None
        verdict = self.document.get("verdict")
        return str(verdict) if verdict else None


class ServiceClient:
    def __init__(self, config: GuardConfig, token: str) -> None:
        self.config = config
        self._token = token
        self._http = AsyncHTTPClient()

    def _headers(self, user: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            OWNER_HEADER: user,
            "Accept": "application/json",
        }

    async def _call(
        self, method: str, url: str, user: str, timeout: float, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        headers = self._headers(user)
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=json.dumps(body) if body is not None else None,
            connect_timeout=max(0.1, min(timeout, CALL_TIMEOUT_S)),
            request_timeout=max(0.1, min(timeout, CALL_TIMEOUT_S)),
            ca_certs=self.config.ca_file,
            follow_redirects=False,
        )
        try:
            response: HTTPResponse = await self._http.fetch(request, raise_error=False)
        except Exception as exc:  # refused, timed out, DNS, TLS: no response at all
            raise ServiceError(f"cannot reach the service: {_failure(exc)}") from None
        if response.code == 599:
            raise ServiceError(f"cannot reach the service: {_reason(response)}")
        if response.code not in (200, 201, 202):
            raise ServiceError(f"the service answered HTTP {response.code}: {_detail(response)}")
        try:
            document = json.loads(response.body or b"{}")
        except ValueError:
            raise ServiceError("the service's answer is not JSON") from None
        if not isinstance(document, dict):
            raise ServiceError("the service's answer is not a JSON object")
        return document

    async def ask(self, ask: Ask, timeout: float) -> dict[str, Any]:
        return await self._call("POST", self.config.api_url, ask.user, timeout, ask.body())

    async def status(self, request_id: str, user: str, timeout: float) -> dict[str, Any]:
        url = f"{self.config.api_url}/{request_id}"
        return await self._call("GET", url, user, timeout)


async def verdict_within(
    client: ServiceClient,
    ask: Ask,
    budget: float,
    *,
    poll_interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Ask for a validation and poll it until it ends or ``budget`` seconds have passed."""
    deadline = clock() + budget
    try:
        document = await client.ask(ask, deadline - clock())
    except ServiceError as exc:
        return Outcome(None, "unreachable", reason=str(exc))
    request_id = str(document.get("id") or "")
    if not request_id.startswith("od-"):
        return Outcome(None, "unreachable", reason="the service's answer has no validation id")
    wait = FIRST_POLL_S
    while True:
        status = str(document.get("status") or "")
        if status in ("done", "failed"):
            return Outcome(request_id, status, document)
        left = deadline - clock()
        if left <= 0:
            return Outcome(request_id, status, document, f"no verdict within {budget:g} s")
        await asyncio.sleep(min(wait, left))
        wait = min(wait * 2, poll_interval)
        left = deadline - clock()
        if left <= 0:
            return Outcome(request_id, status, document, f"no verdict within {budget:g} s")
        try:
            document = await client.status(request_id, ask.user, left)
        except ServiceError as exc:
            # A poll cut off by the end of the budget is the budget's doing.
            spent = deadline - clock() <= CALL_GRACE_S
            reason = f"no verdict within {budget:g} s" if spent else str(exc)
            return Outcome(request_id, status, document, reason)


def _failure(exc: BaseException) -> str:
    """Why a call got no answer, in a few words: never a URL, a header or a body."""
    if isinstance(exc, HTTPClientError):
        return exc.message or f"HTTP {exc.code}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _reason(response: HTTPResponse) -> str:
    error = response.error
    if error is None:
        return "no answer"
    # Timeouts and refused connections: the kind, never a URL with a query in it.
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _detail(response: HTTPResponse) -> str:
    try:
        detail = json.loads(response.body or b"{}").get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail)[:200] if detail else (response.reason or "no detail")
