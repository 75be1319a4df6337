"""Execution engines: where the service's jobs run.

``local`` (the default): worker threads inside ``serve`` take jobs from the store.
``celery`` (``JHIV_SERVICE_BROKER_URL`` set): ``serve`` publishes job ids to Redis and
``validate-image-service worker`` processes, one or more per Docker host, run them. The
SQL store is the source of truth for both. See docs/service.md, "The Celery engine".
"""

from __future__ import annotations

from validator.service.engines.base import Engine
from validator.service.engines.leases import LeaseStore

__all__ = ["Engine", "LeaseStore"]
