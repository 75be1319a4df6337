"""The pure parts of the hub login: the hub's environment, the sessions, the redirect
target after login."""

from __future__ import annotations

from validator.registry.credentials import Secret
from validator.service.hubpage.auth import safe_next
from validator.service.hubpage.hubenv import hub_environment, listen_address
from validator.service.hubpage.sessions import Sessions

PREFIX = "/services/image-check/"
HUB = {
    "JUPYTERHUB_API_TOKEN": "service-token",
    "JUPYTERHUB_CLIENT_ID": "service-image-check",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/image-check",
}


def test_the_page_needs_the_three_variables_oauth_cannot_do_without() -> None:
    assert hub_environment({}) is None
    for name in HUB:
        assert hub_environment({k: v for k, v in HUB.items() if k != name}) is None
    hub = hub_environment(
        {
            **HUB,
            "JUPYTERHUB_BASE_URL": "/jh",
            "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:services!service=image-check"]',
            "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:10101",
        }
    )
    assert hub is not None
    assert hub.prefix == PREFIX and hub.hub_prefix == "/jh/hub/"
    assert hub.oauth_callback == PREFIX + "oauth_callback"
    assert hub.access_scopes == ("access:services!service=image-check",)
    assert "service-token" not in repr(hub)
    assert listen_address(None, None, hub) == ("0.0.0.0", 10101)
    assert listen_address("127.0.0.1", 9000, hub) == ("127.0.0.1", 9000)
    assert listen_address(None, None, None) == ("127.0.0.1", 8080)


def test_after_login_the_browser_goes_only_below_the_prefix() -> None:
    assert safe_next(PREFIX + "checks/od-1?x=1", PREFIX) == PREFIX + "checks/od-1?x=1"
    for hostile in (
        "https://evil.example/",
        "//evil.example/",
        "/hub/admin",
        "",
        None,
        PREFIX + "\\\\evil",
        PREFIX + "\r\nSet-Cookie:x",
    ):
        assert safe_next(hostile, PREFIX) == PREFIX


def test_sessions_expire_are_rechecked_and_are_bounded() -> None:
    now = [0.0]
    sessions = Sessions(lifetime=100, recheck=10, limit=2, clock=lambda: now[0])
    first = sessions.create("ada", Secret("t1"))
    assert sessions.get(first.id) == first and not sessions.due(first)
    assert first.csrf_ok(first.csrf) and not first.csrf_ok("wrong") and not first.csrf_ok(None)
    now[0] = 11
    assert sessions.due(first)
    assert not sessions.due(sessions.confirmed(first))
    sessions.create("bob", Secret("t2"))
    sessions.create("eve", Secret("t3"))
    assert sessions.get(first.id) is None  # the oldest went beyond the limit
    assert len(sessions) == 2
    late = sessions.create("ada", Secret("t4"))
    now[0] = 200
    assert sessions.get(late.id) is None
    assert "t4" not in repr(late) and late.id not in repr(late)
