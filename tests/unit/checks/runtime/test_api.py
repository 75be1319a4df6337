"""The server-api, hub-auth, token-auth and hub-contact probes against a local stand-in."""

from __future__ import annotations

import requests

from tests.unit.checks.runtime.candidate_server import TOKEN, Answer, CandidateServer, Seen
from validator.checks.runtime.api import (
    probe_hub_auth,
    probe_hub_contact,
    probe_server_api,
    probe_token_auth,
)
from validator.findings import Status
from validator.profiles import load_profile
from validator.runtime.hubstub import StubHub

PROFILE = load_profile("jupyter4nfdi")
P = PROFILE.service_prefix
AUTHORIZE = "/hub/api/oauth2/authorize"


def test_server_api_passes_with_version_and_hub_header() -> None:
    api = Answer.json(200, {"version": "2.14.2"}, **{"X-JupyterHub-Version": "5.4.6"})
    with CandidateServer({("GET", P + "api"): api}) as server:
        finding = probe_server_api(server.context(PROFILE))
    assert finding.status is Status.PASS
    assert finding.message == "jupyter_server 2.14.2, jupyterhub-singleuser 5.4.6"


def test_server_api_without_hub_header_is_a_plain_jupyter_server() -> None:
    with CandidateServer({("GET", P + "api"): Answer.json(200, {"version": "2.14.2"})}) as server:
        finding = probe_server_api(server.context(PROFILE))
    assert finding.status is Status.FAIL
    assert "plain Jupyter server" in finding.message
    assert finding.evidence and finding.evidence.startswith(f"GET {P}api -> 200")


def test_server_api_nothing_at_the_prefix() -> None:
    with CandidateServer({}) as server:
        finding = probe_server_api(server.context(PROFILE))
    assert finding.status is Status.FAIL
    assert f"GET {P}api answered 404 without a server version" in finding.message


def test_hub_auth_follows_redirects_inside_the_prefix_to_the_hubs_login() -> None:
    routes = {
        ("GET", P + "view/"): Answer(302, headers={"Location": P + "oauth_start"}),
        ("GET", P + "oauth_start"): Answer(
            302, headers={"Location": f"{AUTHORIZE}?client_id=jupyterhub-user-x"}
        ),
    }
    with CandidateServer(routes) as server:
        finding = probe_hub_auth(server.context(PROFILE))
        paths = [s.path for s in server.seen]
    assert finding.status is Status.PASS
    assert paths == [P + "view/", P + "oauth_start"]


def test_hub_auth_fails_on_the_servers_own_login_page() -> None:
    routes = {
        ("GET", P + "view/"): Answer(302, headers={"Location": P + "login?next=view"}),
        ("GET", P + "login"): Answer(200, "<form>password</form>"),
    }
    with CandidateServer(routes) as server:
        finding = probe_hub_auth(server.context(PROFILE))
    assert finding.status is Status.FAIL
    assert AUTHORIZE in finding.message
    assert "its own login" in finding.message
    assert finding.evidence == (f"GET {P}view/ -> 302 {P}login?next=view\nGET {P}login -> 200")


def test_hub_auth_stops_at_a_redirect_out_of_the_prefix() -> None:
    routes = {("GET", P + "view/"): Answer(302, headers={"Location": "/elsewhere/login"})}
    with CandidateServer(routes) as server:
        finding = probe_hub_auth(server.context(PROFILE))
        assert len(server.seen) == 1
    assert finding.status is Status.FAIL


def test_hub_auth_passes_on_a_server_without_a_ui() -> None:
    # jupyter_server alone has no {prefix}lab; its own view page still sends to the hub.
    login = f"{AUTHORIZE}?client_id=jupyterhub-user-x&state=s"
    routes = {("GET", P + "view/"): Answer(302, headers={"Location": login})}
    with CandidateServer(routes) as server:
        finding = probe_hub_auth(server.context(PROFILE))
        paths = [s.path for s in server.seen]
    assert finding.status is Status.PASS
    assert paths == [P + "view/"]
    assert "lab" not in finding.message


def test_hub_auth_names_a_prefix_nothing_serves() -> None:
    with CandidateServer({}) as server:
        finding = probe_hub_auth(server.context(PROFILE))
    assert finding.status is Status.FAIL
    assert "does not serve the hub's prefix" in finding.message
    assert finding.evidence == f"GET {P}view/ -> 404"


def _status(seen: Seen) -> Answer:
    ok = seen.headers.get("Authorization") == f"token {TOKEN}"
    return Answer.json(200, {"started": "now"}) if ok else Answer(403, "Forbidden")


def test_token_auth_sends_the_servers_own_token() -> None:
    with CandidateServer({("GET", P + "api/status"): _status}) as server:
        assert probe_token_auth(server.context(PROFILE)).status is Status.PASS


def test_token_auth_fails_when_the_token_is_refused() -> None:
    with CandidateServer({("GET", P + "api/status"): Answer(403, "Forbidden")}) as server:
        finding = probe_token_auth(server.context(PROFILE))
    assert finding.status is Status.FAIL
    assert finding.message.endswith("answered 403") and finding.evidence == "Forbidden"


def test_hub_contact_reads_what_the_stub_hub_saw() -> None:
    profile = PROFILE
    with (
        StubHub(
            profile.hub_version, profile.user_name, profile.server_name, TOKEN, "127.0.0.1"
        ) as hub,
        CandidateServer({}) as server,
    ):
        ctx = server.context(profile, hub)
        assert probe_hub_contact(ctx).status is Status.FAIL
        requests.get(hub.api_url, timeout=5)  # what jupyterhub-singleuser does first
        finding = probe_hub_contact(ctx)
    assert finding.status is Status.PASS and "(1x)" in finding.message
