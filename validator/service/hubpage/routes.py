"""The hub page's routes, all under the service's prefix (the hub's proxy forwards the
whole path): the form and the user's lists, the check page, the OAuth callback, logout
and the two static files.

Every page needs a session (auth.py); every POST its CSRF token. The store is the
on-demand API's (``OnDemandStore``), called in-process with the hub user as the owner,
so a user reaches only their own checks and configurations: anything else is a 404.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from validator import __version__
from validator.profiles import builtin_names
from validator.service.context import Service
from validator.service.engines import Engine
from validator.service.errors import SecretKeyError
from validator.service.hubpage.auth import (
    SESSION_COOKIE,
    STATE_COOKIE,
    STATE_MAX_AGE,
    HubLogin,
    LoginFailed,
    LoginRequired,
)
from validator.service.hubpage.forms import (
    CheckForm,
    FormErrors,
    form_fields,
    parse_form,
    shown_values,
)
from validator.service.hubpage.hubenv import HubEnv
from validator.service.hubpage.sessions import Session, Sessions
from validator.service.hubpage.views import check_view, registry_cause
from validator.service.ondemand_api import _password
from validator.service.ondemand_store import REQUEST_ID_RE, OnDemandStore, RequestInfo
from validator.service.ratelimit import retry_after

log = logging.getLogger(__name__)

# Notices a redirect may ask the form page to show: fixed texts, nothing reflected.
NOTICES = {
    "deleted": "The configuration and its stored token were deleted.",
    "saved": "The configuration was saved.",
}
RECENT = 15
# The form's labels, for the error summary's links to the fields.
FIELD_LABELS = {
    "image": "Image",
    "registry": "Registry URL",
    "username": "Username",
    "token": "Password or token",
    "mount_path": "User data mount path",
    "profile": "Hub profile",
}
_PAGE_HEADERS = {
    # No inline script or style: everything comes from this prefix.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class HubPage:
    """The page's parts: the hub's description, its login and the templates."""

    def __init__(self, hub: HubEnv, fixed_profile: str, login: HubLogin | None = None) -> None:
        self.hub = hub
        self.fixed_profile = fixed_profile
        self.login = login or HubLogin(hub, Sessions())
        self.templates = Environment(
            loader=PackageLoader("validator.service.hubpage", "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self,
        request: Request,
        name: str,
        status: int = 200,
        session: Session | None = None,
        **context: Any,
    ) -> HTMLResponse:
        page = self.templates.get_template(name).render(
            prefix=self.hub.prefix,
            hub_prefix=self.hub.hub_prefix,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            version=__version__,
            **context,
        )
        return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)


def _page(request: Request) -> HubPage:
    page: HubPage = request.app.state.hubpage
    return page


def _parts(request: Request) -> tuple[OnDemandStore, Engine, Service]:
    # The engine, as the API does: the embedded threads or the Celery workers.
    app = request.app
    return app.state.ondemand_store, app.state.engine, app.state.service


async def _session(request: Request) -> Session:
    page = _page(request)
    session = await page.login.current(request.cookies.get(SESSION_COOKIE))
    if session is None:
        target = request.url.path
        if request.method != "GET":
            target = page.hub.prefix
        elif request.url.query:
            target += "?" + request.url.query
        raise LoginRequired(target)
    return session


SessionDep = Annotated[Session, Depends(_session)]


class _Refused(Exception):
    """Answer with a message page (bad CSRF token, rate limit, not found)."""

    def __init__(
        self, status: int, title: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.title, self.message, self.headers = status, title, message, headers or {}


async def _posted(request: Request, session: Session) -> dict[str, str]:
    """The form's fields once its CSRF token matches the session's and the caller's
    rate allows another request."""
    fields = form_fields(request.headers.get("content-type", ""), await request.body())
    if not session.csrf_ok(fields.get("_csrf")):
        raise _Refused(
            403,
            "Refused",
            "This form has expired or was not sent by this page. Reload the page and try again.",
        )
    svc = _parts(request)[2]
    wait = svc.limiter.acquire(f"caller:{session.user}")
    if wait > 0:
        raise _Refused(
            429,
            "Too many requests",
            "Too many checks at once; wait a moment and try again.",
            {"Retry-After": retry_after(wait)},
        )
    return fields


def _not_found() -> _Refused:
    return _Refused(404, "Not found", "There is no such check or configuration among yours.")


def build_router(prefix: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    if prefix != "/":

        @router.get(prefix.rstrip("/"), response_model=None)
        def bare() -> Response:
            return RedirectResponse(prefix, status_code=308)

    @router.get(prefix, response_model=None)
    async def index(request: Request, session: SessionDep, notice: str = "") -> Response:
        return await _form_page(request, session, notice=NOTICES.get(notice))

    @router.post(prefix + "checks", response_model=None)
    async def submit(request: Request, session: SessionDep) -> Response:
        page = _page(request)
        fields = await _posted(request, session)
        parsed = parse_form(fields, fixed_profile=page.fixed_profile or None)
        if isinstance(parsed, FormErrors):
            return await _form_page(request, session, errors=parsed, status=422)
        try:
            info = await run_in_threadpool(_create, request, session.user, parsed)
        except SecretKeyError:
            errors = FormErrors(
                {
                    "token": "This service cannot store a token: its operator has set no encryption key."
                },
                shown_values(fields),
            )
            return await _form_page(request, session, errors=errors, status=503)
        _parts(request)[1].submit(info.id)
        return RedirectResponse(f"{prefix}checks/{info.id}", status_code=303)

    @router.get(prefix + "checks/{request_id}", response_model=None)
    async def check(request: Request, session: SessionDep, request_id: str) -> Response:
        page = _page(request)
        store = _parts(request)[0]
        info = None
        if _is_request_id(request_id):
            info = await run_in_threadpool(store.request, session.user, request_id)
        if info is None:
            raise _not_found()
        view = check_view(info, registry_cause)
        return page.render(request, "check.html", session=session, check=view)

    @router.post(prefix + "configurations/{config_id}/check", response_model=None)
    async def check_again(request: Request, session: SessionDep, config_id: int) -> Response:
        await _posted(request, session)
        store, runner, _ = _parts(request)
        info = await run_in_threadpool(store.request_from_configuration, session.user, config_id)
        if info is None:
            raise _not_found()
        runner.submit(info.id)
        return RedirectResponse(f"{prefix}checks/{info.id}", status_code=303)

    @router.post(prefix + "configurations/{config_id}/delete", response_model=None)
    async def delete(request: Request, session: SessionDep, config_id: int) -> Response:
        await _posted(request, session)
        store = _parts(request)[0]
        if not await run_in_threadpool(store.delete_configuration, session.user, config_id):
            raise _not_found()
        return RedirectResponse(f"{prefix}?notice=deleted", status_code=303)

    @router.get(prefix + "oauth_callback", response_model=None)
    async def oauth_callback(
        request: Request, code: str | None = None, state: str | None = None
    ) -> Response:
        page = _page(request)
        try:
            session, next_url = await page.login.finish(
                code, state, request.cookies.get(STATE_COOKIE)
            )
        except LoginFailed as exc:
            response: Response = page.render(
                request,
                "message.html",
                status=400,
                title="Login failed",
                message=str(exc),
                retry=True,
            )
            response.delete_cookie(STATE_COOKIE, path=prefix)
            return response
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session.id, **page.login.cookie_options(_https(request))
        )
        response.delete_cookie(STATE_COOKIE, path=prefix)
        return response

    @router.post(prefix + "logout", response_model=None)
    async def logout(request: Request, session: SessionDep) -> Response:
        await _posted(request, session)
        page = _page(request)
        response = RedirectResponse(page.login.logout(session.id), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=prefix)
        return response

    @router.get(prefix + "static/{name}", response_model=None)
    def static(name: str) -> Response:
        kinds = {"page.css": "text/css", "page.js": "text/javascript"}
        if name not in kinds:
            return Response(status_code=404)
        body = (resources.files("validator.service.hubpage") / "static" / name).read_bytes()
        headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(body, media_type=kinds[name], headers=headers)

    return router


def _is_request_id(text: str) -> bool:
    return re.fullmatch(REQUEST_ID_RE, text) is not None


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _create(request: Request, owner: str, parsed: CheckForm) -> RequestInfo:
    store = _parts(request)[0]
    if parsed.save is not None:
        config = store.create_configuration(
            owner, parsed.save.target(), _password(parsed.save.token)
        )
        info = store.request_from_configuration(owner, config.id)
        assert info is not None  # created just above, by this owner
        return info
    return store.create_request(owner, parsed.request.target(), _password(parsed.request.password))


async def _form_page(
    request: Request,
    session: Session,
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    page = _page(request)
    store = _parts(request)[0]
    configurations = await run_in_threadpool(store.configurations, session.user)
    recent = await run_in_threadpool(store.recent, session.user, RECENT)
    return page.render(
        request,
        "form.html",
        status=status,
        session=session,
        errors=errors.messages if errors else {},
        values=errors.values if errors else {},
        notice=notice,
        fixed_profile=page.fixed_profile,
        profiles=builtin_names(),
        labels=FIELD_LABELS,
        configurations=configurations,
        recent=recent,
    )


def mount(app: FastAPI, hub: HubEnv, fixed_profile: str) -> HubPage:
    """Serve the page at the hub's prefix for this service."""
    page = HubPage(hub, fixed_profile)
    app.state.hubpage = page
    app.include_router(build_router(hub.prefix))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        redirect = page.login.start(exc.next_url)
        response = RedirectResponse(redirect.url, status_code=302)
        response.set_cookie(
            STATE_COOKIE,
            redirect.state,
            max_age=STATE_MAX_AGE,
            **page.login.cookie_options(_https(request)),
        )
        return response

    @app.exception_handler(_Refused)
    async def _refused(request: Request, exc: _Refused) -> Response:
        session = await page.login.current(request.cookies.get(SESSION_COOKIE))
        response = page.render(
            request,
            "message.html",
            status=exc.status,
            session=session,
            title=exc.title,
            message=exc.message,
        )
        response.headers.update(exc.headers)
        return response

    log.info("Hub page at %s (OAuth client %s)", hub.prefix, hub.client_id)
    return page
