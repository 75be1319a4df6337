"""The Celery application both sides share, and what the service reads of Redis.

Delivery settings (docs.celeryq.dev, "Redis" and "Configuration"): late acknowledgement
and requeue when the worker process is lost, so a message leaves the broker only once
its task has ended; a prefetch of one, so a busy worker holds no message another could
run; a hard and a soft time limit per task and a visibility timeout above the hard
limit, all derived from the profiles (``timeouts.derive``), not guessed. Redis's own
default visibility timeout is one hour; a message whose worker died unacknowledged comes
back after it, and the reconciler (``celery.CeleryEngine``) does not wait that long.

A message carries ``(kind, ref)`` only; its task id starts with ``kind:ref:`` so that the
service can tell, from the Redis lists, which jobs some message still carries.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import Celery

from validator.service.engines.timeouts import Limits

log = logging.getLogger(__name__)

SHARED_QUEUE = "jhiv"
WORKER_QUEUE_PREFIX = "jhiv.worker."
TASK_NAME = "jhiv.run_job"
# kombu's Redis transport keeps delivered, unacknowledged messages in this hash, and
# when each was delivered in this sorted set (kombu/transport/redis.py).
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"


def worker_queue(name: str) -> str:
    return WORKER_QUEUE_PREFIX + name


def task_id(kind: str, ref: str) -> str:
    return f"{kind}:{ref}:{uuid.uuid4().hex[:12]}"


def job_of(task: str) -> tuple[str, str] | None:
    """``(kind, ref)`` of one of our task ids, or None for anything else."""
    parts = task.split(":")
    return (parts[0], parts[1]) if len(parts) == 3 else None


def make_app(broker_url: str, limits: Limits) -> Celery:
    app = Celery("jhiv", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=limits.hard_s,
        task_soft_time_limit=limits.soft_s,
        broker_transport_options={"visibility_timeout": limits.visibility_s},
        task_default_queue=SHARED_QUEUE,
        task_create_missing_queues=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the SQL store
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives a Redis restart
        # A publish while Redis is away fails after a few seconds: the job stays due in
        # the store and the dispatcher publishes it at its next round.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        broker_connection_timeout=4.0,
    )
    return app


@dataclass(frozen=True)
class Carried:
    """What the broker holds: jobs per queue waiting, and jobs delivered but not
    acknowledged, with when they were delivered (epoch seconds)."""

    waiting: dict[str, set[tuple[str, str]]]
    unacked: dict[tuple[str, str], float]


def _message_job(raw: bytes | str) -> tuple[str, str] | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    headers = message.get("headers") if isinstance(message, dict) else None
    task = headers.get("id") if isinstance(headers, dict) else None
    return job_of(task) if isinstance(task, str) else None


class BrokerView:
    """Redis read directly (redis-py): queue lengths and the jobs messages carry."""

    def __init__(self, broker_url: str) -> None:
        import redis  # the Celery extra's dependency, only with a broker

        self._redis = redis.Redis.from_url(
            broker_url, socket_connect_timeout=2.0, socket_timeout=5.0
        )

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except Exception as exc:  # any client error means the same: unreachable
            log.debug("The broker does not answer: %s", type(exc).__name__)
            return False

    def depths(self, queues: Iterable[str]) -> dict[str, int]:
        pipe = self._redis.pipeline()
        names = list(queues)
        for name in names:
            pipe.llen(name)
        return {name: int(n) for name, n in zip(names, pipe.execute(), strict=True)}

    def carried(self, queues: Iterable[str]) -> Carried:
        waiting: dict[str, set[tuple[str, str]]] = {}
        for name in queues:
            found = set()
            for raw in self._redis.lrange(name, 0, -1):
                job = _message_job(raw)
                if job is not None:
                    found.add(job)
            waiting[name] = found
        unacked: dict[tuple[str, str], float] = {}
        scores: Any = self._redis.zrange(UNACKED_INDEX, 0, -1, withscores=True)
        delivered: dict[Any, float] = {tag: float(when) for tag, when in scores}
        for tag, raw in self._redis.hgetall(UNACKED).items():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, list) and entry:
                job = _message_job(json.dumps(entry[0]))
                if job is not None:
                    unacked[job] = float(delivered.get(tag, time.time()))
        return Carried(waiting, unacked)
