"""Prometheus metrics, in a registry of their own (one per app, so tests do not collide)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _QueueCollector(Collector):
    def __init__(self, depth: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "jhiv_queue_jobs", "Jobs queued or running, by kind", labels=["kind", "status"]
        )
        counts = self.depth()
        for kind in ("resolution", "validation"):
            for status in ("queued", "running"):
                family.add_metric([kind, status], counts.get((kind, status), 0))
        yield family


class _BrokerCollector(Collector):
    def __init__(self, depths: Callable[[], dict[str, int]]) -> None:
        self.depths = depths

    def collect(self) -> Iterator[Metric]:
        try:
            depths = self.depths()
        except Exception:  # the broker is away: /healthz says so; no gauge this scrape
            return
        if not depths:
            return  # an engine without a broker
        family = GaugeMetricFamily(
            "jhiv_broker_queue_messages",
            "Messages waiting in each broker queue (Celery engine)",
            labels=["queue"],
        )
        for queue, count in sorted(depths.items()):
            family.add_metric([queue], count)
        yield family


class _WorkerCollector(Collector):
    def __init__(self, running: Callable[[], dict[str, int]]) -> None:
        self.running = running

    def collect(self) -> Iterator[Metric]:
        try:
            running = self.running()
        except Exception:  # the database is away: /healthz says so; no gauge this scrape
            return
        if not running:
            return  # an engine without separate workers
        family = GaugeMetricFamily(
            "jhiv_worker_jobs_running",
            "Jobs each Celery worker holds a live claim on",
            labels=["worker"],
        )
        for worker, count in sorted(running.items()):
            family.add_metric([worker], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "jhiv_webhook_requests",
            "Webhook requests by receiver and outcome",
            ["receiver", "outcome"],
            registry=r,
        )
        self.events = Counter(
            "jhiv_webhook_events",
            "Events in webhook requests by receiver and outcome",
            ["receiver", "outcome"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            "jhiv_webhook_ack_seconds",
            "Time to answer an authenticated webhook",
            ["receiver"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.validations = Counter(
            "jhiv_validations",
            "Finished validations by verdict (failed: no verdict)",
            ["verdict"],
            registry=r,
        )
        self.validation_seconds = Histogram(
            "jhiv_validation_seconds",
            "Duration of a validation",
            registry=r,
            buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.retries = Counter("jhiv_job_retries", "Jobs retried", ["kind"], registry=r)
        self.callbacks = Counter(
            "jhiv_callbacks",
            "Outgoing callbacks by outcome (dropped: the queue was full)",
            ["outcome"],
            registry=r,
        )
        self.callback_queue = Gauge(
            "jhiv_callback_queue", "Callbacks waiting for delivery", registry=r
        )
        self.over_cap = Counter(
            "jhiv_webhook_over_cap",
            "Pushes refused or skipped by a cap: request (too many jobs in one request) "
            "or watch (its queue was full)",
            ["cap"],
            registry=r,
        )

    def watch_queue(self, depth: Callable[[], dict[tuple[str, str], int]]) -> None:
        self.registry.register(_QueueCollector(depth))

    def watch_broker(
        self, depths: Callable[[], dict[str, int]], running: Callable[[], dict[str, int]]
    ) -> None:
        self.registry.register(_BrokerCollector(depths))
        self.registry.register(_WorkerCollector(running))

    def render(self) -> bytes:
        return generate_latest(self.registry)
