"""The pre-spawn hook: ask the service about the image the user chose, refuse the spawn
when the verdict is incompatible, let it go ahead otherwise.

A ``pre_spawn_hook`` rather than a Spawner mixin: it is one line in any hub's
configuration whatever spawner class the hub runs (DockerSpawner, KubeSpawner, a
subclass of either), and it reads only what both spawners have (``user_options``,
``image``). The hub awaits it before ``Spawner.start``, so a refusal costs no container.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tornado import web

from validator.hubguard.client import Ask, Outcome, ServiceClient, verdict_within
from validator.hubguard.config import GuardConfig
from validator.hubguard.message import as_html, as_text, refusal

log = logging.getLogger(__name__)


class ImageRefused(web.HTTPError):
    """The spawn's image is known to be incompatible.

    An HTTPError, so the hub's spawn handler passes it through to the user instead of
    "Unhandled error"; ``jupyterhub_message`` and ``jupyterhub_html_message`` are what
    the hub shows on the progress stream and the spawn-failure page.
    """

    def __init__(self, text: str, html: str) -> None:
        # log_message is %-formatted by tornado and the hub's error handlers.
        super().__init__(400, text.replace("%", "%%"))
        self.jupyterhub_message = text
        self.jupyterhub_html_message = html


def chosen_image(spawner: Any) -> str | None:
    """The image this spawn will start: the form's choice, else the spawner's image.

    DockerSpawner's ``allowed_images`` may map the names users pick to the real images;
    the real one is asked about, as DockerSpawner itself would start it.
    """
    options = getattr(spawner, "user_options", None)
    picked = options.get("image") if isinstance(options, Mapping) else None
    if isinstance(picked, str) and picked.strip():
        return _unalias(spawner, picked.strip())
    image = getattr(spawner, "image", None)
    return image.strip() if isinstance(image, str) and image.strip() else None


def _unalias(spawner: Any, picked: str) -> str:
    allowed = getattr(spawner, "allowed_images", None)
    if callable(allowed):
        try:
            allowed = allowed(spawner)
        except Exception:  # the spawner will judge it again, with its own error
            return picked
    if isinstance(allowed, Mapping):
        real = allowed.get(picked, picked)
        return real if isinstance(real, str) else picked
    return picked


def _read_token(path: str) -> str | None:
    try:
        token = Path(path).read_text().strip()
    except OSError:
        return None
    return token or None


class Guard:
    """``c.Spawner.pre_spawn_hook = Guard(GuardConfig(...))``; see ``validator.hubguard.guard``."""

    def __init__(
        self,
        config: GuardConfig,
        client: Callable[[GuardConfig, str], ServiceClient] = ServiceClient,
    ) -> None:
        self.config = config
        self._client = client

    async def __call__(self, spawner: Any) -> None:
        logger: logging.Logger | logging.LoggerAdapter[Any] = getattr(spawner, "log", None) or log
        image = chosen_image(spawner)
        user = getattr(getattr(spawner, "user", None), "name", None)
        if image is None or not isinstance(user, str):
            logger.warning("Image guard: no image or user to check; the spawn goes ahead")
            return
        token = _read_token(self.config.token_file)
        if token is None:
            logger.warning(
                "Image guard: cannot read the service token from %s; %s is not checked",
                self.config.token_file,
                image,
            )
            return
        ask = self._ask(spawner, image, user)
        outcome = await verdict_within(
            self._client(self.config, token),
            ask,
            self.config.budget,
            poll_interval=self.config.poll_interval,
        )
        self._decide(logger, ask, outcome)

    def _ask(self, spawner: Any, image: str, user: str) -> Ask:
        mount = self.config.mount_path
        mount_path = mount(spawner) if callable(mount) else mount
        # A login only when the operator said where it is; a form's fields otherwise stay put.
        login = self.config.credentials(spawner) if self.config.credentials else None
        return Ask(image, user, self.config.profile, mount_path, self.config.hub_version, login)

    def _decide(
        self, logger: logging.Logger | logging.LoggerAdapter[Any], ask: Ask, outcome: Outcome
    ) -> None:
        where = f"validation {outcome.request_id}" if outcome.request_id else "no validation"
        verdict = outcome.verdict
        if verdict == "incompatible" and outcome.document is not None:
            assert outcome.request_id is not None
            found = refusal(
                ask.image,
                outcome.document,
                self.config.report_url(outcome.request_id),
                self.config.max_checks,
            )
            logger.info(
                "Image guard: refused %s for %s (%s, %d failing checks)",
                ask.image,
                ask.user,
                where,
                found.count,
            )
            raise ImageRefused(as_text(found), as_html(found))
        if verdict == "compatible":
            logger.info("Image guard: %s for %s is compatible (%s)", ask.image, ask.user, where)
            return
        if outcome.status == "done":
            reason = "the validator could not decide"
        elif outcome.status == "failed":
            error = (outcome.document or {}).get("error")
            reason = f"the validation failed: {error}" if error else "the validation failed"
        else:
            reason = outcome.reason or "no verdict"
        logger.warning(
            "Image guard: %s for %s not judged (%s; %s); the spawn goes ahead",
            ask.image,
            ask.user,
            reason,
            where,
        )
