"""The command check judges CMD and ENTRYPOINT under each command mode of the profile."""

from __future__ import annotations

from validator.checks.command import check_command
from validator.findings import Status
from validator.image import ImageInfo
from validator.profiles import load_profile

J4N = load_profile("jupyter4nfdi")  # KubeSpawner, image CMD, advisory job mode
DOCKER = load_profile("dockerspawner")  # image CMD
Z2JH = load_profile("z2jh")  # cmd jupyterhub-singleuser


def image(cmd: tuple[str, ...] | None, entrypoint: tuple[str, ...] | None) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "0" * 64,
        os="linux",
        architecture="amd64",
        user="1000",
        cmd=cmd,
        entrypoint=entrypoint,
        env={"PATH": "/usr/bin"},
    )


SINGLEUSER_ENTRYPOINT = image(None, ("jupyterhub-singleuser",))


def test_dockerspawner_needs_a_cmd_kubespawner_runs_the_entrypoint_as_it_is() -> None:
    docker = check_command(SINGLEUSER_ENTRYPOINT, DOCKER)
    assert docker.status is Status.FAIL
    assert "DockerSpawner" in docker.message and "no CMD" in docker.message
    assert docker.evidence == "Cmd: None; Entrypoint: ['jupyterhub-singleuser']"
    kube = load_profile("jupyter4nfdi").with_overrides(advisory_command_modes=[])
    found = check_command(SINGLEUSER_ENTRYPOINT, kube)
    assert found.status is Status.PASS
    assert "as it is" in found.message


def test_an_entrypoint_of_jupyterhub_singleuser_takes_the_policys_command_as_arguments() -> None:
    found = check_command(SINGLEUSER_ENTRYPOINT, Z2JH)
    assert found.status is Status.FAIL
    assert "becomes its arguments" in found.message
    assert found.fix and 'CMD ["jupyterhub-singleuser"]' in found.fix
    # Through tini it is the same: the last element is what receives the arguments.
    tini = image(None, ("tini", "--", "/opt/venv/bin/jupyterhub-singleuser"))
    assert check_command(tini, Z2JH).status is Status.FAIL


def test_an_advisory_modes_problem_only_warns_and_says_which_use_it_concerns() -> None:
    found = check_command(SINGLEUSER_ENTRYPOINT, J4N)
    assert found.status is Status.WARN
    assert found.message.startswith("the platform's job API (bash -lc) would fail: ")
    assert found.fix


def test_neither_cmd_nor_entrypoint_fails_only_where_the_image_command_is_used() -> None:
    bare = image(None, None)
    assert check_command(bare, DOCKER).status is Status.FAIL
    assert check_command(bare, J4N).status is Status.FAIL
    # z2jh passes its own command; with no ENTRYPOINT the engine runs it as given.
    assert check_command(bare, Z2JH).status is Status.PASS


def test_an_ordinary_cmd_passes_everywhere() -> None:
    good = image(("jupyterhub-singleuser",), None)
    for profile in (DOCKER, Z2JH, J4N):
        assert check_command(good, profile).status is Status.PASS
    script = image(("start.sh",), ("tini", "--"))
    assert check_command(script, J4N).status is Status.PASS
