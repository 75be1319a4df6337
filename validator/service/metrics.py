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


class _GaugeByLabel(Collector):
    """A gauge read at each scrape from the engine: one sample per label value.

    Nothing is exported when the read fails (the broker or the database is away, which
    /healthz reports) or finds nothing (an engine without a broker or workers)."""

    def __init__(
        self, name: str, documentation: str, label: str, read: Callable[[], dict[str, int]]
    ) -> None:
        self.name, self.documentation, self.label, self.read = name, documentation, label, read

    def collect(self) -> Iterator[Metric]:
        try:
            values = self.read()
        except Exception:
            return
        if not values:
            return
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        for key, count in sorted(values.items()):
            family.add_metric([key], count)
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
        self.registry.register(
            _GaugeByLabel(
                "jhiv_broker_queue_messages",
                "Messages waiting in each broker queue (Celery engine)",
                "queue",
                depths,
            )
        )
        self.registry.register(
            _GaugeByLabel(
                "jhiv_worker_jobs_running",
                "Jobs each Celery worker holds a live claim on",
                "worker",
                running,
            )
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
