"""A candidate reaches the host's stub hub port and no other port of the host.

Traffic from a container to the host's own addresses (its network's gateway, another
bridge's, docker0's) is delivered locally, so without a fence a candidate reaches anything
listening on 0.0.0.0; the control network below shows that it does. The test listeners
bind 0.0.0.0 as a database or the Docker API over TCP would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import docker
import pytest

from tests.support.images import ROOT_IMAGE
from tests.support.skip import unavailable
from validator.findings import Status, Verdict
from validator.profiles import load_profile
from validator.runtime import isolation
from validator.runtime.hubstub import StubHub
from validator.runtime.isolation import REQUIRE_ENV, IsolationUnavailable, tag
from validator.runtime.sandbox import LABEL_RUN, Sandbox, sweep
from validator.validate import validate

pytestmark = pytest.mark.docker

# Resolved once: one test takes iptables off the PATH to see the tool do without it.
FIREWALL = [shutil.which(b) or b for b in ("iptables", "ip6tables")]


@pytest.fixture(autouse=True)
def firewall_editable() -> None:
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        unavailable("the fence needs root and iptables (CI runs as root)")


@dataclass
class HostListeners:
    """A TCP and a UDP port on 0.0.0.0; what reached them, by the payload's label."""

    tcp: socket.socket
    udp: socket.socket
    tcp_port: int
    udp_port: int
    datagrams: set[str] = field(default_factory=set)

    def serve(self) -> None:
        self.tcp.settimeout(0.2)
        self.udp.settimeout(0.2)
        while self.tcp.fileno() != -1:
            try:
                conn, _ = self.tcp.accept()
                conn.close()
            except OSError:
                pass
            try:
                data, _ = self.udp.recvfrom(256)
                self.datagrams.add(data.decode("ascii", "replace").strip())
            except OSError:
                pass


@pytest.fixture
def host() -> Iterator[HostListeners]:
    tcp = socket.create_server(("0.0.0.0", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 0))
    listeners = HostListeners(tcp, udp, tcp.getsockname()[1], udp.getsockname()[1])
    thread = threading.Thread(target=listeners.serve, daemon=True)
    thread.start()
    yield listeners
    tcp.close()
    udp.close()
    thread.join(timeout=5)


def _gateway(network: docker.models.networks.Network) -> str:
    network.reload()
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


def _host_addresses() -> list[str]:
    """The host's own IPv4 addresses on its lasting interfaces (not lo, not the bridges
    that come and go with other runs): the LAN's, docker0's."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    found = []
    for line in out.stdout.splitlines():
        words = line.split()
        if words[1] != "lo" and not words[1].startswith(("br-", "veth")):
            found.append(words[3].split("/")[0])
    return found


def _tcp(label: str, address: str, port: int) -> str:
    # bash's /dev/tcp: the root image is debian minbase, no curl or nc.
    return (
        f"timeout 3 bash -c 'echo > /dev/tcp/{address}/{port}' 2>/dev/null"
        f" && echo {label}=open || echo {label}=closed"
    )


def _probe(sandbox: Sandbox, network: str, lines: list[str]) -> dict[str, str]:
    """Run the probe lines in a container on ``network``; label -> what it printed."""
    tc = sandbox.container(ROOT_IMAGE, command=["bash", "-c", "\n".join(lines)], network=network)
    tc.start()
    container = tc.get_wrapped_container()
    assert container.wait(timeout=60)["StatusCode"] == 0
    output = container.logs().decode()
    sandbox.remove_container(container)
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _our_rules(run_id: str) -> list[str]:
    listed = []
    for binary in FIREWALL:
        out = subprocess.run([binary, "-w", "5", "-S", "INPUT"], capture_output=True, text=True)
        listed += [line for line in out.stdout.splitlines() if tag(run_id) in line]
    return listed


def test_a_candidate_reaches_the_stub_hub_and_no_other_host_port(
    docker_client: docker.DockerClient, host: HostListeners
) -> None:
    with Sandbox(docker_client) as sandbox:
        fenced = sandbox.network()
        assert sandbox.isolation == "firewall"
        # The control: a network made past the sandbox, so without a fence (its label
        # still has the sandbox remove it).
        control = docker_client.networks.create(
            sandbox.name("net"), driver="bridge", internal=True, labels=sandbox.labels
        )
        gw, other_gw = _gateway(fenced), _gateway(control)
        addresses = _host_addresses()
        assert addresses, "the host has an address besides the bridges"
        with StubHub("5.4.6", "alice", "", "t0ken", bind_host=gw) as hub:
            sandbox.fences[str(fenced.name)].allow(hub.port)
            api = urlsplit(hub.api_url).path
            before = _probe(
                sandbox,
                str(control.name),
                [
                    _tcp("gateway", other_gw, host.tcp_port),
                    *(_tcp(f"host-{a}", a, host.tcp_port) for a in addresses),
                    f"echo control > /dev/udp/{other_gw}/{host.udp_port}",
                ],
            )
            after = _probe(
                sandbox,
                str(fenced.name),
                [
                    _tcp("gateway", gw, host.tcp_port),
                    _tcp("other-gateway", other_gw, host.tcp_port),
                    *(_tcp(f"host-{a}", a, host.tcp_port) for a in addresses),
                    f"echo fenced > /dev/udp/{gw}/{host.udp_port}",
                    # The stub hub answers: a new connection in, its replies out.
                    f"exec 3<>/dev/tcp/{gw}/{hub.port}"
                    f" && printf 'GET {api} HTTP/1.0\\r\\n\\r\\n' >&3"
                    " && echo hub=$(head -n 1 <&3)",
                ],
            )
        deadline = time.monotonic() + 5
        while "control" not in host.datagrams and time.monotonic() < deadline:
            time.sleep(0.05)
        run_id = sandbox.run_id
        assert _our_rules(run_id), "the fence is in the host firewall while the sandbox lives"

    assert set(before.values()) == {"open"}, f"unfenced, the host is reachable: {before}"
    assert "control" in host.datagrams
    hub_reply = after.pop("hub")
    assert len(after) == len(before) + 1 and set(after.values()) == {"closed"}, after
    assert "fenced" not in host.datagrams
    assert hub_reply.startswith("HTTP/1") and " 200 " in hub_reply, hub_reply
    assert _our_rules(run_id) == [], "closing the sandbox removes its rules"


def test_the_next_run_sweeps_the_rules_of_a_killed_run(docker_client: docker.DockerClient) -> None:
    # A run killed outright: no close, no atexit.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, docker\n"
            "from validator.runtime.sandbox import Sandbox\n"
            "s = Sandbox(docker.from_env()); s.network(); print(s.run_id, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    killed = child.stdout.strip()
    assert _our_rules(killed), "a killed run leaves its rules (nothing removed them)"
    # And a rule whose bridge is gone, whatever its run.
    orphan = uuid.uuid4().hex[:12]
    spec = ["INPUT", "-i", "br-0rphan", "-m", "comment", "--comment", tag(orphan), "-j", "REJECT"]
    subprocess.run([FIREWALL[0], "-w", "5", "-I", *spec], check=True)

    sweep(docker_client)

    assert _our_rules(killed) == [] and _our_rules(orphan) == []
    assert not docker_client.networks.list(filters={"label": f"{LABEL_RUN}={killed}"})


def test_without_iptables_the_run_goes_on_unfenced_and_says_so(
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(isolation, "_warned", set())
    with Sandbox(docker_client) as sandbox:
        sandbox.network()
        sandbox.network()
        assert sandbox.isolation == "none (no iptables binary on PATH)"
        assert _our_rules(sandbox.run_id) == []
    warnings = [r for r in caplog.records if "not fenced" in r.getMessage()]
    assert len(warnings) == 1, "once per process and reason, not once per network"
    assert "no iptables binary" in warnings[0].getMessage()

    monkeypatch.setenv(REQUIRE_ENV, "1")
    with Sandbox(docker_client) as sandbox, pytest.raises(IsolationUnavailable) as info:
        sandbox.network()
    assert info.value.exit_code == 2
    assert "no iptables binary" in info.value.one_line()


def test_without_the_right_to_edit_the_firewall_the_run_goes_on_unfenced() -> None:
    """Root without CAP_NET_ADMIN (a container's root, say): iptables refuses, the
    network is made all the same and the report will say why it is not fenced."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        unavailable("setpriv (util-linux) is needed to drop CAP_NET_ADMIN")
    code = (
        "import docker\n"
        "from validator.runtime.sandbox import Sandbox\n"
        "with Sandbox(docker.from_env()) as s:\n"
        "    s.network(); print(s.isolation)\n"
    )
    drop = ["--bounding-set", "-net_admin", "--inh-caps", "-net_admin"]
    proc = subprocess.run(
        [str(setpriv), *drop, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("none (iptables failed: "), proc.stdout
    assert proc.stderr.count("not fenced") == 1, proc.stderr


def test_a_run_that_requires_isolation_and_cannot_have_it_ends_with_exit_2(
    build_image: Callable[[str], str],
) -> None:
    env = {**os.environ, "PATH": "/nonexistent", REQUIRE_ENV: "1", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "validator", build_image("good"), "--profile", "dockerspawner"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot fence" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr


def test_a_fenced_validation_judges_a_good_image_compatible(
    docker_client: docker.DockerClient, build_image: Callable[[str], str]
) -> None:
    report = validate(build_image("good"), load_profile("dockerspawner"), client=docker_client)
    assert report.verdict is Verdict.COMPATIBLE, report.by_status(Status.FAIL)
    assert report.settings["isolation"] == "firewall"
