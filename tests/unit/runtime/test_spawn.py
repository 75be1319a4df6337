"""What the hub would give the server: environment, command, listeners, causes."""

from __future__ import annotations

import json

from validator.checks.diagnosis import diagnose
from validator.profiles import CommandMode, Profile, load_profile
from validator.runtime.hubstub import StubHub
from validator.runtime.listening import parse_proc_net_tcp
from validator.runtime.spawn import hub_environment, oauth_client_id, spawn_command


def _stub(profile: Profile, host: str, port: int) -> StubHub:
    """A stub hub that is never started: only its URLs are read."""
    return StubHub("5.4.6", profile.user_name, profile.server_name, "t0k", host, port=port)


def test_environment_for_a_named_server_on_a_non_default_port() -> None:
    profile = load_profile("dockerspawner").with_overrides(port=48123, server_name="jsc-cloud")
    env = hub_environment(profile, _stub(profile, "172.18.0.1", 4000), token="t0k")
    assert env["JUPYTERHUB_SERVICE_URL"] == "http://0.0.0.0:48123/user/validator/jsc-cloud/"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/user/validator/jsc-cloud/"
    assert env["JUPYTERHUB_CLIENT_ID"] == "jupyterhub-user-validator-jsc-cloud"
    assert env["JUPYTERHUB_API_TOKEN"] == env["JPY_API_TOKEN"] == "t0k"
    assert (
        env["JUPYTERHUB_ACTIVITY_URL"] == "http://172.18.0.1:4000/hub/api/users/validator/activity"
    )
    scopes = json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])
    assert "access:servers!server=validator/jsc-cloud" in scopes
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == "/user/validator/jsc-cloud/oauth_callback"


def test_default_server_client_id_and_root_dir() -> None:
    profile = load_profile("z2jh")
    assert oauth_client_id(profile) == "jupyterhub-user-validator"
    env = hub_environment(profile, _stub(profile, "h", 80), token="x")
    assert env["JUPYTERHUB_ROOT_DIR"] == "/home/jovyan"


def test_command_modes() -> None:
    assert spawn_command(CommandMode.IMAGE) is None
    assert spawn_command(CommandMode.SINGLEUSER) == ["jupyterhub-singleuser"]


def test_listeners_from_proc_net_tcp() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "   0: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 1\n"
        "   1: 0100007F:22B8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000 0 2\n"
        "   0: 00000000000000000000000000000000:BC1B 00000000000000000000000000000000:0000 0A"
        " 00000000:00000000 00:00000000 00000000  1000 0 3\n"
    )
    listeners = parse_proc_net_tcp(text)
    assert [(x.address, x.port, x.uid) for x in listeners] == [
        ("127.0.0.1", 8888, 1000),
        ("::", 48155, 1000),
    ]
    assert listeners[0].is_loopback and not listeners[1].is_loopback


def test_diagnosis_names_the_cause() -> None:
    root = diagnose(
        "[C 2026-01-01] Running as root is not recommended. Use --allow-root to bypass."
    )
    assert root is not None and "root" in root.cause and "USER 1000" in root.fix
    perm = diagnose(
        "PermissionError: [Errno 13] Permission denied: '/home/jovyan/.local/share/jupyter/runtime'"
    )
    assert perm is not None and "chown" in perm.fix
    assert diagnose("all is well") is None


def test_environment_takes_the_hub_urls_from_the_stub() -> None:
    profile = load_profile("jupyter4nfdi").model_copy(update={"user_name": "a b@x"})
    hub = _stub(profile, "172.18.0.1", 4000)
    env = hub_environment(profile, hub, token="t0k")
    assert env["JUPYTERHUB_API_URL"] == hub.api_url == "http://172.18.0.1:4000/hub/api"
    # Quoted as the hub quotes user names, so the stub accepts the server's activity posts.
    assert env["JUPYTERHUB_ACTIVITY_URL"] == hub.activity_url
    assert env["JUPYTERHUB_ACTIVITY_URL"].endswith("/users/a%20b@x/activity")


def test_the_job_mode_runs_a_login_shell_after_the_entrypoint() -> None:
    assert spawn_command(CommandMode.JOB) == ["/bin/bash", "-lc", "jupyterhub-singleuser"]
