"""The sandbox builds containers through its own client, without touching the engine."""

from __future__ import annotations

import docker

from validator.runtime.sandbox import LABEL_RUN, Sandbox


def unreachable_client() -> docker.DockerClient:
    # A pinned API version means no version probe, so nothing connects until a call is
    # made; any call would fail on the missing socket.
    return docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")


def test_containers_use_the_sandbox_client_and_make_no_engine_call() -> None:
    client = unreachable_client()
    # keep: closing would list the engine's objects, and there is no engine here.
    sandbox = Sandbox(client, keep=True)
    try:
        tc = sandbox.container(
            "example/image:1", command=["true"], user="1000", env={"A": "b"}, network="net0"
        )
        assert tc.get_docker_client().client is client
        assert tc.env == {"A": "b"}
        assert tc._command == ["true"]
        options = tc._kwargs
        assert options["labels"][LABEL_RUN] == sandbox.run_id
        assert options["network_mode"] == "net0"
        assert options["user"] == "1000"
        assert options["security_opt"] == ["no-new-privileges"]
        assert options["pids_limit"] == sandbox.limits.pids
    finally:
        sandbox.close()


def test_no_network_means_none() -> None:
    sandbox = Sandbox(unreachable_client(), keep=True)
    tc = sandbox.container("example/image:1", allow_privilege_escalation=True)
    assert tc._kwargs["network_mode"] == "none"
    assert tc._kwargs["security_opt"] == []
    sandbox.close()
