"""The planner: findings + inspection -> remedies -> Dockerfile (no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.compat.inspect import Account, Inspection, Python
from validator.compat.plan import choose, kept_entrypoint, plan
from validator.findings import Finding, Status

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
ROOT = Account("root", 0, 0, "/root", "/bin/bash")
SYSTEM_PY = Python("/usr/bin/python3", "3.11.2", "/usr", False, True, False)
VENV_PY = Python("/opt/venv/bin/python3", "3.11.2", "/opt/venv", True, True, True)


def f(check_id: str, status: Status = Status.FAIL) -> Finding:
    return Finding(check_id, status, "msg")


def debian(**kw: object) -> Inspection:
    base: dict[str, object] = {
        "ran": True,
        "package_managers": ("apt-get",),
        "libc": "glibc",
        "shells": ("/bin/sh", "/bin/bash"),
        "accounts": (ROOT,),
    }
    base.update(kw)
    return Inspection(**base)  # type: ignore[arg-type]


def make(findings: list[Finding], found: Inspection) -> str:
    made = plan(
        findings, found, TEMPLATES, source="img:1", source_digest="sha256:abc", hub_version="5.4.6"
    )
    assert made.dockerfile is not None, made.unfixable
    return made.dockerfile


def test_nothing_when_the_image_passes() -> None:
    made = plan(
        [f("singleuser-installed", Status.PASS), f("image-size", Status.WARN)],
        debian(),
        TEMPLATES,
        source="img",
        source_digest="d",
        hub_version="5.4.6",
    )
    assert made.nothing_to_do and made.dockerfile is None


def test_no_python_gets_python_a_server_a_user_and_a_start_command() -> None:
    findings = [f("singleuser-installed")]
    chosen, unfixable = choose(findings, debian())
    assert [c.remedy.id for c in chosen] == ["server-env", "user", "start-command"]
    assert chosen[0].answers == ("singleuser-installed",)
    assert chosen[1].implied_by == "server-env"
    assert unfixable == []
    text = make(findings, debian())
    assert "python3 python3-venv tini" in text
    assert "jupyterhub==5.4.6" in text and "ipykernel" in text
    assert "useradd --create-home --home-dir /home/jovyan --uid 1000 --gid 100" in text
    assert 'ENTRYPOINT ["/usr/bin/tini", "-g", "--"]' in text
    assert 'CMD ["jupyterhub-singleuser"]' in text
    assert text.rstrip().endswith("USER jovyan")
    assert 'remedies="server-env,user,start-command"' in text
    assert 'source-digest="sha256:abc"' in text


def test_the_ca_stays_in_the_builder_stage() -> None:
    text = make([f("singleuser-installed")], debian())
    final = text.split("\nFROM prepared\n", 1)[1]
    builder = text.split("FROM prepared AS builder", 1)[1].split("\nFROM prepared\n")[0]
    assert "_build" in builder and "ca.pem" in builder
    assert "_build" not in final and "ca.pem" not in final


def test_a_user_venv_gets_ipykernel_registered_as_python3() -> None:
    found = debian(pythons=(VENV_PY, SYSTEM_PY))
    chosen, _ = choose([f("singleuser-installed")], found)
    assert "user-kernel" in [c.remedy.id for c in chosen]
    text = make([f("singleuser-installed")], found)
    assert "ENV_DIR=/opt/venv /tmp/_build/env-install.sh pip ipykernel" in text
    assert "/opt/venv/bin/python3 -m ipykernel install --prefix /opt/jhiv-server" in text
    assert "--name python3" in text
    # The server env brings no kernel of its own then, and is made from the system Python.
    assert "\n        ipykernel" not in text
    assert "/usr/bin/python3 -m venv /opt/jhiv-server" in text
    # The venv's Python was there: no package for Python is installed.
    assert "python3-venv" not in text


def test_a_user_venv_with_ipykernel_is_only_registered() -> None:
    venv = Python(
        "/opt/v/bin/python3", "3.11.2", "/opt/v", True, True, True, frozenset({"ipykernel"})
    )
    text = make([f("singleuser-installed")], debian(pythons=(venv,)))
    assert "env-install.sh" not in text
    assert "/opt/v/bin/python3 -m ipykernel install" in text


def test_a_system_python_is_seen_through_system_site_packages() -> None:
    text = make([f("singleuser-installed")], debian(pythons=(SYSTEM_PY,)))
    assert "-m venv --system-site-packages /opt/jhiv-server" in text


def test_an_existing_uid_1000_user_is_reused() -> None:
    analyst = Account("analyst", 1000, 1000, "/home/analyst", "/bin/bash")
    found = debian(accounts=(ROOT, analyst), user="analyst", homes={"/home/analyst": (0, "755")})
    text = make([f("singleuser-installed")], found)
    assert "useradd" not in text
    assert "chown 1000:100 /home/analyst" in text
    assert text.rstrip().endswith("USER analyst")


def test_r_gets_irkernel() -> None:
    found = debian(r_path="/usr/bin/R", r_version="4.2.2", irkernel=False)
    text = make([f("singleuser-installed")], found)
    assert "r-cran-irkernel" in text
    assert "IRkernel::installspec(user = FALSE, prefix = '/opt/jhiv-server')" in text


def test_unfixable_without_python_and_package_manager() -> None:
    found = Inspection(ran=True, shells=("/bin/sh",), accounts=(ROOT,))
    made = plan(
        [f("singleuser-installed")],
        found,
        TEMPLATES,
        source="i",
        source_digest="d",
        hub_version="5.4.6",
    )
    assert made.dockerfile is None
    ((check, why),) = made.unfixable
    assert check == "singleuser-installed"
    assert "no package manager" in why


def test_unfixable_without_a_shell() -> None:
    made = plan(
        [f("singleuser-installed")],
        Inspection(ran=False),
        TEMPLATES,
        source="i",
        source_digest="d",
        hub_version="5",
    )
    assert made.unfixable and "/bin/sh" in made.unfixable[0][1]


def test_a_check_without_remedy_is_unfixable() -> None:
    _, unfixable = choose([f("platform")], debian())
    assert unfixable == [("platform", "make-compatible has no remedy for it")]


def test_wrong_singleuser_app_only_gets_the_env_line() -> None:
    text = make([f("singleuser-app-env", Status.WARN)], debian())
    assert "ENV JUPYTERHUB_SINGLEUSER_APP=jupyter_server.serverapp.ServerApp" in text
    assert "jhiv-server" not in text and "apt-get" not in text
    assert "FROM prepared AS builder" not in text


def test_the_original_user_is_kept_when_not_fixed() -> None:
    text = make([f("singleuser-app-env", Status.WARN)], debian(user="1000:100"))
    assert text.rstrip().endswith("USER 1000:100")


@pytest.mark.parametrize(
    ("entrypoint", "asked", "kept"),
    [
        (("/entry.sh",), {}, ("/entry.sh",)),
        (("/entry.sh",), {"entrypoint-form": Status.FAIL}, ()),
        (("tini", "--", "/entry.sh"), {}, ("/entry.sh",)),
        (("jupyter", "lab"), {}, ()),
        (("/entry.sh", "--ip=127.0.0.1"), {}, ()),
        ((), {}, ()),
    ],
)
def test_kept_entrypoint(
    entrypoint: tuple[str, ...], asked: dict[str, Status], kept: tuple[str, ...]
) -> None:
    assert kept_entrypoint(debian(entrypoint=entrypoint), asked) == kept


def test_a_baked_localhost_cmd_is_replaced() -> None:
    found = debian(cmd=("jupyterhub-singleuser", "--ip=127.0.0.1"), user="1000")
    chosen, _ = choose([f("port-not-pinned")], found)
    assert [c.remedy.id for c in chosen] == ["start-command"]
    assert 'CMD ["jupyterhub-singleuser"]' in make([f("port-not-pinned")], found)
