"""Fixtures of the service's unit tests: the store on each backend (tests/support/stores.py)."""

from tests.support.stores import pg_cluster, postgres_database, store, store_backend

__all__ = ["pg_cluster", "postgres_database", "store", "store_backend"]
