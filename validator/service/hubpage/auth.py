"""Logging users in through the hub: JupyterHub's own ``HubOAuth``, wired for FastAPI.

``HubOAuth`` (``jupyterhub.services.auth``) holds the OAuth client: the authorize URL,
the OAuth state, PKCE where the installed JupyterHub has it (6.0+), the exchange of
the code for a token and the hub's answer to "whose token is this" (with the scopes
it carries). What it does through tornado handlers (cookies, XSRF) is done here for
Starlette: the state travels in a short-lived cookie and must come back equal in the
callback; the login is a server-side session (sessions.py) whose random id is the only
thing the browser keeps; every POST carries the session's CSRF token.

The flow: a page without a session redirects to the hub's authorize URL with a fresh
state; the hub logs the user in (its own login page) and sends them to
``{prefix}oauth_callback`` with a code; the code becomes a token, the token a user,
and a user holding the access scope gets a session.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from validator.registry.credentials import Secret
from validator.service.hubpage.hubenv import HubEnv
from validator.service.hubpage.sessions import RECHECK_S, Session, Sessions

log = logging.getLogger(__name__)

SESSION_COOKIE = "jhiv-hubpage"
STATE_COOKIE = "jhiv-hubpage-oauth-state"
STATE_MAX_AGE = 600


class LoginRequired(Exception):
    """No (live) session: send the browser to the hub's login, then back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class LoginFailed(Exception):
    """The OAuth callback could not log the user in; the message is safe to show."""


@dataclass(frozen=True)
class Redirect:
    url: str
    state: str


def safe_next(next_url: str | None, prefix: str) -> str:
    """Where to go after login: a path under the service's prefix, nothing else.

    Anything else (another host, ``//evil``, a scheme, a backslash trick) becomes the
    prefix itself, so the callback cannot be turned into an open redirect.
    """
    if (
        not next_url
        or not next_url.startswith(prefix)
        or "\\" in next_url
        or any(ord(c) < 0x21 for c in next_url)
    ):
        return prefix
    return next_url


def _oauth(hub: HubEnv) -> Any:
    # Imported here: jupyterhub is the optional ``hub`` extra, needed only when the
    # service runs inside a hub.
    from jupyterhub.services.auth import HubOAuth

    options: dict[str, Any] = {
        "api_token": hub.api_token.reveal(),
        "api_url": hub.api_url,
        "oauth_client_id": hub.client_id,
        "base_url": hub.prefix,
        "hub_prefix": hub.hub_prefix,
        "hub_host": hub.host,
        "oauth_redirect_uri": hub.oauth_callback,
        # Our sessions ask the hub again every RECHECK_S; a longer cache would hide a logout.
        "cache_max_age": int(RECHECK_S),
    }
    # What a user's token must carry to use the page: the hub says (a hub-managed service
    # gets JUPYTERHUB_OAUTH_ACCESS_SCOPES), else the service's own access scope.
    scopes = set(hub.access_scopes)
    if not scopes and hub.service_name:
        scopes = {f"access:services!service={hub.service_name}"}
    options["access_scopes"] = scopes
    return HubOAuth(**options)


class HubLogin:
    """The OAuth client and the sessions it opens."""

    def __init__(self, hub: HubEnv, sessions: Sessions, oauth: Any | None = None) -> None:
        self.hub = hub
        self.sessions = sessions
        self.oauth = oauth if oauth is not None else _oauth(hub)

    # --- the way out: to the hub's authorize URL -------------------------------------

    def start(self, next_url: str) -> Redirect:
        extra: dict[str, str] = {}
        params: dict[str, str] = {}
        # PKCE (JupyterHub 6.0+): the code is useless to whoever catches it alone.
        pkce = getattr(self.oauth, "generate_pkce_code_challenge", None)
        if callable(pkce):
            verifier, challenge, method = pkce()
            extra["code_verifier"] = verifier
            params = {"code_challenge": challenge, "code_challenge_method": method}
        state = self.oauth.generate_state(safe_next(next_url, self.hub.prefix), **extra)
        query = urlencode({"state": state, **params})
        return Redirect(f"{self.oauth.login_url}&{query}", state)

    # --- the way back: the callback --------------------------------------------------

    async def finish(
        self, code: str | None, state: str | None, cookie_state: str | None
    ) -> tuple[Session, str]:
        """A session for the user the hub logged in, and where to send them next."""
        if not code or not state or not cookie_state:
            raise LoginFailed("the login did not come back complete; start again")
        if not secrets.compare_digest(state.encode(), cookie_state.encode()):
            raise LoginFailed("the login's state does not match this browser's; start again")
        next_url = self.oauth.get_next_url(state)
        verifier = getattr(self.oauth, "get_code_verifier", lambda _s: None)(state)
        # One use only: a replayed callback finds no state.
        self.oauth.clear_oauth_state(state)
        kwargs: dict[str, Any] = {"sync": False}
        if verifier and "code_verifier" in inspect.signature(self.oauth.token_for_code).parameters:
            kwargs["code_verifier"] = verifier
        try:
            token = await self.oauth.token_for_code(code, **kwargs)
            user = await self.oauth.user_for_token(token, use_cache=False, sync=False)
        except Exception as exc:  # the hub refused the code, or is away
            log.warning("Hub login failed: %s", type(exc).__name__)
            raise LoginFailed("the hub did not accept the login; start again") from None
        if not user or not user.get("name"):
            raise LoginFailed("the hub did not say who logged in; start again")
        if not self.allowed(user):
            raise LoginFailed(
                "your hub account may not use this service (it needs the access:services scope for it)"
            )
        log.info("Hub user %s logged in to the page", user["name"])
        session = self.sessions.create(str(user["name"]), Secret(str(token)))
        return session, safe_next(next_url, self.hub.prefix)

    def allowed(self, user: dict[str, Any]) -> bool:
        """The token carries the scope to access this service. With no access scope known
        (neither the hub's variable nor the service's name), the hub's own check at
        authorize time is the gate: it gives no code to a user without access."""
        if "scopes" not in user or not self.oauth.access_scopes:
            return True
        return bool(self.oauth.check_scopes(self.oauth.access_scopes, user))

    # --- every request ---------------------------------------------------------------

    async def current(self, session_id: str | None) -> Session | None:
        """The request's live session; asks the hub again when it is due."""
        session = self.sessions.get(session_id)
        if session is None or not self.sessions.due(session):
            return session
        try:
            user = await self.oauth.user_for_token(
                session.token.reveal(), use_cache=False, sync=False
            )
        except Exception as exc:  # the hub away: keep serving the live session for now
            log.warning("Could not recheck a page session with the hub: %s", type(exc).__name__)
            return session
        if not user or user.get("name") != session.user or not self.allowed(user):
            self.sessions.drop(session.id)
            return None
        return self.sessions.confirmed(session)

    def logout(self, session_id: str | None) -> str:
        """Drop the session; the hub's logout page ends the hub's own login too."""
        self.sessions.drop(session_id)
        return f"{self.hub.host}{self.hub.hub_prefix}logout"

    # --- cookies -----------------------------------------------------------------------

    def cookie_options(self, secure: bool) -> dict[str, Any]:
        return {
            "path": self.hub.prefix,
            "httponly": True,
            "samesite": "lax",
            "secure": secure or self.hub.secure,
        }
