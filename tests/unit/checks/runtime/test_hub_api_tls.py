"""hub-api-tls: finding the server's Python and judging its CA store (pure logic)."""

from __future__ import annotations

from validator.checks.runtime.hub_api_tls import TrustStore, judge, server_python
from validator.findings import Status

TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]


def row(cmd: str) -> list[str]:
    return ["1000", "4242", "4200", "0", "01:00", "?", "00:00:01", cmd]


def test_the_interpreter_of_the_server_script_is_argv0() -> None:
    processes = [
        row("tini -g -- start.sh jupyterhub-singleuser"),
        row("/bin/bash /usr/local/bin/start.sh jupyterhub-singleuser"),
        row("/opt/conda/bin/python3.11 /opt/conda/bin/jupyterhub-singleuser --port=8888"),
    ]
    assert server_python(processes, TITLES) == "/opt/conda/bin/python3.11"


def test_python_dash_m_counts_and_other_pythons_do_not() -> None:
    processes = [
        row("/usr/bin/python3 -m ipykernel_launcher -f /tmp/k.json"),
        row("python3 -m jupyterhub.singleuser"),
    ]
    assert server_python(processes, TITLES) == "python3"
    assert server_python([row("/usr/bin/python3 -m http.server")], TITLES) is None
    assert server_python([row("x")], ["PID"]) is None


def store(**fields: object) -> TrustStore:
    data = {"executable": "/opt/venv/bin/python3", "loaded": 0, "hashed": 0, **fields}
    return TrustStore.from_json(data)


def test_a_loaded_bundle_passes() -> None:
    finding = judge(store(loaded=142, cafile="/usr/lib/ssl/cert.pem"), False)
    assert finding.status is Status.PASS
    assert "142 CA certificates from /usr/lib/ssl/cert.pem" in finding.message


def test_a_hashed_directory_alone_passes() -> None:
    # OpenSSL loads a CA directory on demand, so the stats show 0 while it verifies.
    finding = judge(store(hashed=140, capath="/etc/ssl/certs"), False)
    assert finding.status is Status.PASS
    assert "140 hashed certificates in /etc/ssl/certs" in finding.message


def test_no_ca_warns_with_the_fix_and_the_configuration_caveat() -> None:
    finding = judge(store(env={"SSL_CERT_FILE": "/nope.pem"}), True)
    assert finding.status is Status.WARN
    assert "loads no CA certificate" in finding.message
    assert "SSL_CERT_FILE=/nope.pem" in finding.message
    assert "certifi is not installed either" in finding.message
    assert "depends on its configuration (internal SSL is on)" in finding.message
    assert finding.fix and "ca-certificates" in finding.fix and "certifi" in finding.fix


def test_certifi_without_the_system_store_still_warns_and_points_at_it() -> None:
    finding = judge(store(certifi="/opt/venv/lib/certifi/cacert.pem"), False)
    assert finding.status is Status.WARN
    assert "certifi is installed (/opt/venv/lib/certifi/cacert.pem)" in finding.message
    assert "internal SSL" not in finding.message
