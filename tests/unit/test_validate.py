"""How one validation puts each command mode's findings together (pure logic)."""

from __future__ import annotations

from validator.checks.base import advisory
from validator.checks.singleuser import INSTALLED, evidence_only
from validator.findings import Finding, Status
from validator.image import ImageInfo
from validator.options import Options, wait_limit
from validator.profiles import CommandMode, load_profile
from validator.runtime.stage import for_mode
from validator.validate import _borne_out, _unbuildable

J4N = load_profile("jupyter4nfdi")  # image CMD decides, job API advisory
DOCKER = load_profile("dockerspawner")


def failed(message: str = "jupyterhub-singleuser was not found") -> Finding:
    return INSTALLED.failed(message, fix="add it", evidence="exit 127")


def test_an_advisory_modes_failure_is_a_warning_naming_that_use() -> None:
    (found,) = for_mode([failed()], J4N, CommandMode.JOB)
    assert found.status is Status.WARN
    assert found.message == (
        "the platform's job API (bash -lc) would fail: jupyterhub-singleuser was not found"
    )
    assert (found.fix, found.evidence) == ("add it", "exit 127")
    assert found.variant == "job: bash -lc jupyterhub-singleuser"


def test_a_deciding_modes_failure_stays_and_is_labelled_only_among_several() -> None:
    (found,) = for_mode([failed()], J4N, CommandMode.IMAGE)
    assert found.status is Status.FAIL and found.variant == "image CMD"
    (alone,) = for_mode([failed()], DOCKER, CommandMode.IMAGE)
    assert alone.variant is None


def test_advisory_leaves_everything_but_failures_alone() -> None:
    skipped = INSTALLED.skipped("not asked")
    assert advisory(skipped, CommandMode.JOB) is skipped


def test_the_exec_timeout_is_bounded_by_max_wait() -> None:
    assert wait_limit(J4N.http_timeout, Options(max_wait=300)) == 300  # http_timeout is 7200 s
    assert wait_limit(DOCKER.http_timeout, Options(max_wait=300)) == 30


def test_an_evidence_only_failure_is_confirmed_when_the_server_did_not_start() -> None:
    why = "the image's CMD ['bash'] does not run jupyterhub-singleuser directly"
    exec_found = [evidence_only(failed(), why)]
    starts = Finding("server-starts", Status.FAIL, "the container exited with code 2")
    borne = _borne_out(exec_found, [starts])
    assert borne is not None and borne[0].status is Status.FAIL
    assert "exited with code 2" in borne[0].message
    up = Finding("server-starts", Status.PASS, "answered 200")
    assert _borne_out(exec_found, [up]) is None


def test_a_command_the_spawner_cannot_build_is_not_spawned() -> None:
    entrypoint_only = ImageInfo(
        id="sha256:" + "0" * 64,
        os="linux",
        architecture="amd64",
        entrypoint=("jupyterhub-singleuser",),
    )
    assert _unbuildable(entrypoint_only, DOCKER, CommandMode.IMAGE)  # no CMD to build from
    assert not _unbuildable(entrypoint_only, J4N, CommandMode.IMAGE)  # runs it as it is
    assert _unbuildable(entrypoint_only, J4N, CommandMode.JOB)  # bash -lc becomes its args
