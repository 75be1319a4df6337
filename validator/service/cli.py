"""``validate-image-service``: run the webhook service, and look after its secrets.

    validate-image-service serve [--host 127.0.0.1] [--port 8080]
    validate-image-service worker
    validate-image-service generate-key
    validate-image-service rotate-keys
    validate-image-service openapi

Every secret comes from the environment or a file (see ``validator.service.settings``),
never from an argument.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from typing import Any

import click

from validator import __version__
from validator.cli.guard import exit_with
from validator.service.errors import SecretKeyError, SettingsError
from validator.service.secretbox import SecretBox, generate_key
from validator.service.settings import PREFIX, Settings, load_settings, settings_help

PROG = "validate-image-service"
log = logging.getLogger("validator.service")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name=PROG)
def main() -> None:
    """The registry webhook service of jupyterhub-image-validator."""


@main.command(epilog=settings_help())
@click.option(
    "--host",
    default=None,
    help="Address to listen on [default: 127.0.0.1, or the host of JUPYTERHUB_SERVICE_URL].",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port [default: 8080, or the port of JUPYTERHUB_SERVICE_URL].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve(host: str | None, port: int | None, log_level: str) -> None:
    """Receive registry webhooks and validate every pushed image; inside a JupyterHub
    (its service environment set), also serve the hub page (docs/jupyterhub.md)."""
    # Through the guard like the other commands: a bad setting is one line and exit 2, and
    # a stop (uvicorn re-raises SIGTERM after its graceful shutdown) is 130.
    exit_with(PROG, lambda: _serve(host, port, log_level), debug=log_level == "debug")


def _serve(host: str | None, port: int | None, log_level: str) -> int:
    import os

    import uvicorn

    from validator.service.app import create_app
    from validator.service.hubpage.hubenv import hub_environment, listen_address
    from validator.service.runner import DockerRunner, candidate_limits

    settings = load_settings()
    hub = hub_environment(os.environ)
    if hub is not None:
        _need_jupyterhub()
    host, port = listen_address(host, port, hub)
    level = getattr(logging, log_level.upper())
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("testcontainers").setLevel(max(level, logging.WARNING))
    from validator.service.store import Store  # sqlalchemy, only when a store opens

    store = Store(settings.database_url.reveal(), SecretBox(settings.secret_keys))
    log.info("Store: %s", store.engine.url.render_as_string(hide_password=True))
    receivers = [
        name
        for name, secret in (
            ("distribution, gitlab, harbor", settings.hook_token),
            ("github", settings.github_secret),
            ("dockerhub, quay", settings.url_token),
        )
        if secret is not None
    ]
    log.info("Receivers on: %s", "; ".join(receivers) or "none (set a hook token)")
    runner = DockerRunner(keep_images=settings.keep_images, limits=candidate_limits(settings))
    app = create_app(settings, store, runner, hub=hub)
    # Our access log redacts URL tokens; uvicorn's would print them. uvicorn's proxy
    # headers are off: by default it believes X-Forwarded-For from 127.0.0.1, so anyone on
    # the host could pick the address the rate limit sees (JHIV_SERVICE_TRUSTED_PROXIES
    # decides instead, in peers.py).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        # Bounded headers (h11 answers 431/400 beyond), as the body is bounded by MAX_BODY.
        h11_max_incomplete_event_size=64 * 1024,
    )
    return 0


def _need_jupyterhub() -> None:
    try:
        import jupyterhub.services.auth  # noqa: F401
    except ImportError:
        raise SettingsError(
            "the hub's service environment is set (JUPYTERHUB_API_TOKEN, ...), but "
            "jupyterhub is not installed",
            hint="pip install 'jupyterhub-image-validator[service,hub]'",
        ) from None


@main.command(epilog=settings_help())
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def worker(log_level: str) -> None:
    """Run validations from the Celery broker on this host's Docker engine (DOCKER_HOST).

    Needs JHIV_SERVICE_BROKER_URL and the service's database; consumes the shared queue
    and a queue of its own (JHIV_SERVICE_WORKER_NAME).
    """
    exit_with(PROG, lambda: _worker(log_level), debug=log_level == "debug")


def _worker(log_level: str) -> int:
    environ = dict(os.environ)
    admin = f"{PREFIX}ADMIN_TOKEN"
    if not environ.get(admin) and not environ.get(f"{admin}_FILE"):
        # A worker answers no API request: it needs no admin token (the service does).
        environ[admin] = "unused-by-worker-" + secrets.token_hex(8)
    settings = load_settings(environ)
    level = getattr(logging, log_level.upper())
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("testcontainers").setLevel(max(level, logging.WARNING))
    from validator.service.engines import worker as engine_worker  # celery, only here

    return engine_worker.run(settings, log_level)


@main.command("generate-key")
def generate_key_command() -> None:
    """Print a new encryption key (for JHIV_SERVICE_SECRET_KEYS)."""
    click.echo(generate_key())


@main.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored secret with the first key of JHIV_SERVICE_SECRET_KEYS.

    \b
    1. Put the new key first, the old ones after it; restart the service.
    2. Run rotate-keys.
    3. Remove the old keys; restart the service.
    """
    exit_with(PROG, _rotate_keys)


def _rotate_keys() -> int:
    settings = load_settings()
    if not settings.secret_keys:
        raise SecretKeyError(f"no keys: set {PREFIX}SECRET_KEYS or {PREFIX}SECRET_KEYS_FILE")
    from validator.service.store import Store  # sqlalchemy, only when a store opens

    store = Store(settings.database_url.reveal(), SecretBox(settings.secret_keys))
    try:
        store.create_schema()
        count = store.rotate_secrets()
    finally:
        store.close()
    click.echo(f"re-encrypted {count} secrets with the first key", err=True)
    return 0


@main.command()
def openapi() -> None:
    """Print the OpenAPI document of the service's HTTP API."""
    from validator.registry.credentials import Secret
    from validator.service.app import create_app
    from validator.service.runner import DockerRunner

    settings = Settings(admin_token=Secret("unused"))
    from validator.service.store import Store  # sqlalchemy, only when a store opens

    store = Store("sqlite://", SecretBox(()))
    spec: dict[str, Any] = create_app(settings, store, DockerRunner(), start_worker=False).openapi()
    click.echo(json.dumps(spec, indent=2))
