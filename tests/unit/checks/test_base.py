"""How a stage runs its tuple: needs, skip reasons, order and filled-in texts."""

from __future__ import annotations

import dataclasses

from validator.checks import CATALOG, EXEC, RUNTIME, STATIC
from validator.checks.base import Observed, Outcomes
from validator.checks.runtime.api import SERVER_API
from validator.checks.runtime.server import SERVER_STARTS, STARTUP_TIME
from validator.checks.singleuser import IMPORTS, INSTALLED, VERSION
from validator.findings import Status
from validator.image import ImageInfo
from validator.profiles import load_profile

PROFILE = load_profile("jupyter4nfdi")
ALL = (*STATIC, *EXEC, *RUNTIME)


def _image(architecture: str) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "0" * 64,
        os="linux",
        architecture=architecture,
        user="1000",
        cmd=("jupyterhub-singleuser",),
        env={"PATH": "/usr/bin", "HOME": "/home/jovyan"},
    )


def test_a_foreign_platform_skips_the_later_stages_in_the_one_order() -> None:
    # The same steps as validate(): the static tuple, then the exec stage's needs.
    outcomes = Outcomes(PROFILE, ALL)
    for check in STATIC:
        outcomes.run(check, _image("arm64"), PROFILE)
    why = outcomes.unmet(EXEC[0])
    assert why == "the image cannot run on this platform"
    outcomes.skip_all((*EXEC, *RUNTIME), why)
    assert [f.check_id for f in outcomes.findings] == [c.id for c in ALL] == list(CATALOG)
    later = outcomes.findings[len(STATIC) :]
    assert {(f.status, f.message) for f in later} == {(Status.SKIP, why)}


def test_static_probes_are_timed() -> None:
    outcomes = Outcomes(PROFILE, ALL)
    for check in STATIC:
        outcomes.run(check, _image("amd64"), PROFILE)
    assert all(f.duration_s >= 0 for f in outcomes.findings)
    assert outcomes.unmet(EXEC[0]) is None


def test_a_missing_singleuser_blocks_the_runtime_stage() -> None:
    outcomes = Outcomes(PROFILE, ALL)
    outcomes.add(INSTALLED.failed("not found"))
    outcomes.add(IMPORTS.skipped("jupyterhub-singleuser is not installed"))
    assert outcomes.unmet(SERVER_STARTS) == "jupyterhub-singleuser cannot start"


def test_a_slow_version_run_does_not_block_the_runtime_stage() -> None:
    # The exec probe's own skips (it could not tell) leave the decision to the spawn.
    outcomes = Outcomes(PROFILE, ALL)
    outcomes.add(INSTALLED.warned("did not finish"))
    outcomes.add(IMPORTS.skipped("the command did not finish"))
    outcomes.add(VERSION.skipped("the command did not finish"))
    assert outcomes.unmet(SERVER_STARTS) is None


def test_a_probe_that_knows_how_it_failed_names_the_reason_for_the_rest() -> None:
    outcomes = Outcomes(PROFILE, RUNTIME)

    def refused() -> Observed:
        return Observed((SERVER_STARTS.failed("exited"),), blocks="the server did not start")

    starts = dataclasses.replace(SERVER_STARTS, needs=(), probe=refused)
    outcomes.run(starts)
    for check in RUNTIME:
        outcomes.run(check)
    assert [f.check_id for f in outcomes.findings] == [c.id for c in RUNTIME]
    assert outcomes.findings[1].check_id == STARTUP_TIME.id
    assert {f.message for f in outcomes.findings[1:]} == {"the server did not start"}


def test_titles_and_fixes_are_filled_in_for_the_profile() -> None:
    assert "{prefix}" in SERVER_API.title  # the docs keep the placeholder
    outcomes = Outcomes(PROFILE, RUNTIME)
    finding = outcomes.add(SERVER_API.failed("no version"))
    assert finding.title == f"{PROFILE.service_prefix}api answers with the server and hub versions"
    assert SERVER_API.format(PROFILE).title == finding.title
    fix = Outcomes(PROFILE, EXEC).add(INSTALLED.failed("not found")).fix
    assert fix and f"jupyterhub=={PROFILE.hub_version}" in fix
