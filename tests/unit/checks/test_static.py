"""Static checks are pure functions of the image configuration and the profile."""

from __future__ import annotations

import pytest

from validator.checks.command import check_command, check_entrypoint_form
from validator.checks.environment import check_home_path
from validator.checks.platform import check_platform
from validator.checks.ports import check_port_not_pinned
from validator.checks.size import check_image_size
from validator.checks.user import check_image_user, is_root
from validator.findings import Status
from validator.image import ImageInfo
from validator.profiles import load_profile

J4N = load_profile("jupyter4nfdi")
DOCKER = load_profile("dockerspawner")
Z2JH = load_profile("z2jh")


def image(**kw: object) -> ImageInfo:
    base: dict[str, object] = {
        "id": "sha256:" + "0" * 64,
        "os": "linux",
        "architecture": "amd64",
        "user": "1000",
        "cmd": ("jupyterhub-singleuser",),
        "env": {"PATH": "/opt/venv/bin:/usr/bin", "HOME": "/home/jovyan"},
    }
    base.update(kw)
    return ImageInfo(**base)  # type: ignore[arg-type]


def test_platform_mismatch_fails_and_aliases_match() -> None:
    assert check_platform(image(architecture="arm64"), J4N).status is Status.FAIL
    assert check_platform(image(architecture="x86_64"), J4N).status is Status.PASS


@pytest.mark.parametrize("user", ["", "root", "0", "0:0"])
def test_root_user_warns_when_hub_keeps_image_user(user: str) -> None:
    assert is_root(user)
    assert check_image_user(image(user=user), DOCKER).status is Status.WARN
    assert check_image_user(image(user=user), Z2JH).status is Status.PASS  # z2jh sets uid 1000


def test_no_cmd_fails_under_dockerspawner_only_when_entrypoint_exists() -> None:
    ep_only = image(cmd=None, entrypoint=("/entrypoint.sh",))
    assert check_command(ep_only, DOCKER).status is Status.FAIL
    assert check_command(ep_only, Z2JH).status is Status.PASS
    assert check_command(image(cmd=(), entrypoint=None), J4N).status is Status.FAIL


def test_shell_form_entrypoint() -> None:
    shell = image(entrypoint=("/bin/sh", "-c", "jupyter lab"))
    assert check_entrypoint_form(shell, Z2JH).status is Status.FAIL
    assert check_entrypoint_form(shell, DOCKER).status is Status.WARN
    forwards = image(entrypoint=("/bin/sh", "-c", 'setup && exec "$0" "$@"'))
    assert check_entrypoint_form(forwards, Z2JH).status is Status.PASS
    exec_form = image(entrypoint=("tini", "--", "start.sh"))
    assert check_entrypoint_form(exec_form, Z2JH).status is Status.PASS


@pytest.mark.parametrize(
    ("cmd", "profile", "status"),
    [
        (("jupyterhub-singleuser", "--port=8888"), DOCKER, Status.WARN),  # matches by luck
        (("jupyterhub-singleuser", "--port=8888"), J4N, Status.FAIL),  # hub uses 48123
        (("jupyterhub-singleuser", "--port", "9999"), DOCKER, Status.FAIL),
        (("jupyterhub-singleuser", "--ip=127.0.0.1"), DOCKER, Status.FAIL),
        (("jupyterhub-singleuser", "--ip=0.0.0.0"), DOCKER, Status.WARN),
        (("jupyter", "lab", "--ServerApp.base_url=/x/"), DOCKER, Status.FAIL),
        (("jupyterhub-singleuser",), J4N, Status.PASS),
        # Under cmd=jupyterhub-singleuser the image CMD is replaced: its pins do not count.
        (("jupyterhub-singleuser", "--ip=127.0.0.1"), Z2JH, Status.PASS),
    ],
)
def test_pinned_flags(cmd: tuple[str, ...], profile: object, status: Status) -> None:
    assert check_port_not_pinned(image(cmd=cmd), profile).status is status  # type: ignore[arg-type]


def test_home_and_path() -> None:
    assert check_home_path(image(env={"PATH": "/usr/bin"}), Z2JH).status is Status.WARN
    assert check_home_path(image(env={"PATH": "/usr/bin"}), DOCKER).status is Status.PASS
    assert check_home_path(image(env={}), DOCKER).status is Status.WARN


def test_size_budget() -> None:
    assert check_image_size(image(size_bytes=20_000_000_000), J4N).status is Status.WARN
    assert check_image_size(image(size_bytes=500_000_000), J4N).status is Status.PASS


def test_failing_findings_carry_a_fix() -> None:
    finding = check_platform(image(architecture="arm64"), J4N)
    assert finding.fix and "linux/amd64" in finding.fix
