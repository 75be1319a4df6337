"""The optional outgoing callback: the verdict, POSTed to the watch's URL and signed.

The body is JSON; ``X-JHIV-Signature-256: sha256=<hex>`` is the HMAC-SHA256 of the raw
body with the watch's callback secret (as GitHub signs its webhooks), and ``sent_at``
inside the body lets a receiver refuse old deliveries. ``X-JHIV-Delivery`` is unique per
delivery. Best effort: three tries, then the result stays in the API.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import requests

from validator import __version__
from validator.redact import redact_url
from validator.registry.credentials import Secret
from validator.service.auth import sign
from validator.service.store import ValidationInfo

log = logging.getLogger(__name__)

EVENT = "validation.finished"
ATTEMPTS = 3
TIMEOUT_S = 10.0


def payload(
    info: ValidationInfo, tags: list[str], public_url: str, sent_at: datetime
) -> dict[str, Any]:
    report = info.report or {}
    return {
        "event": EVENT,
        "validation_id": info.id,
        "image": f"{info.registry}/{info.repository}@{info.digest}",
        "registry": info.registry,
        "repository": info.repository,
        "tag": info.tag,
        "tags": tags,
        "digest": info.digest,
        "profile": info.profile,
        "hub_version": info.hub_version,
        "status": info.status,
        "verdict": info.verdict,
        "counts": report.get("counts"),
        "error": info.error,
        "finished_at": info.finished_at,
        "result_url": f"{public_url}/api/v1/validations/{info.id}" if public_url else None,
        "sent_at": sent_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
    }


def signed_request(document: dict[str, Any], secret: Secret | None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"jupyterhub-image-validator/{__version__}",
        "X-JHIV-Event": EVENT,
        "X-JHIV-Delivery": str(uuid.uuid4()),
    }
    if secret:
        headers["X-JHIV-Signature-256"] = sign(secret.reveal(), body)
    return body, headers


Post = Callable[[str, bytes, dict[str, str]], int]


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
    return response.status_code


def send(
    url: str,
    document: dict[str, Any],
    secret: Secret | None,
    *,
    post: Post = _post,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Deliver ``document``; True once the receiver answered 2xx."""
    body, headers = signed_request(document, secret)
    shown = redact_url(url)  # the URL may carry user:password@
    for attempt in range(1, ATTEMPTS + 1):
        try:
            status = post(url, body, headers)
        except requests.RequestException as exc:
            log.warning("Callback %s failed (try %d): %s", shown, attempt, type(exc).__name__)
        else:
            if 200 <= status < 300:
                log.info(
                    "Sent the verdict of validation %s to %s", document["validation_id"], shown
                )
                return True
            log.warning("Callback %s answered HTTP %d (try %d)", shown, status, attempt)
        if attempt < ATTEMPTS:
            sleep(2.0**attempt)
    return False
