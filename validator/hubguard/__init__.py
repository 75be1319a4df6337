"""The spawn-time guard: a ``pre_spawn_hook`` that refuses an image the validator knows
will not work on this hub, with the failing checks, the fix and a link to the report.

One line in ``jupyterhub_config.py``::

    c.Spawner.pre_spawn_hook = validator.hubguard.guard(
        service_url="http://jhiv:8000", token_file="/run/secrets/jhiv-admin",
        profile="jupyter4nfdi", budget=15, page_url="https://hub.example.org/services/jhiv/")

It imports only the standard library and tornado (which every hub has): the hub needs
the package installed (``pip install --no-deps jupyterhub-image-validator`` is enough),
not the validator's or the service's dependencies. See docs/jupyterhub.md.
"""

from __future__ import annotations

from typing import Any

from validator.hubguard.config import (
    GuardConfig,
    Login,
    dockerconfig_login,
    login_from_dockerconfig,
    options_login,
)
from validator.hubguard.hook import Guard, ImageRefused, chosen_image


def guard(service_url: str, token_file: str, **settings: Any) -> Guard:
    """The hook for ``c.Spawner.pre_spawn_hook``; ``settings`` are GuardConfig's fields."""
    return Guard(GuardConfig(service_url, token_file, **settings))


__all__ = [
    "Guard",
    "GuardConfig",
    "ImageRefused",
    "Login",
    "chosen_image",
    "dockerconfig_login",
    "guard",
    "login_from_dockerconfig",
    "options_login",
]
