"""The validator's verdict must agree with what a real JupyterHub does with the image.

For each image, a real JupyterHub 5.4.6 with DockerSpawner (the referee) spawns it, and
the validator judges it under the matching `dockerspawner` profile. "Usable" on the hub
side means: the spawn became ready, `{prefix}api` answered through the proxy with the hub
header, a kernel ran code, and the server was still up after a short window. The
validator must say compatible exactly when the hub's server was usable, and must name the
cause we built into each broken image (catalogue numbers from the contract notes, §6).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.support.cli import run_cli

from .hub import RealHub

pytestmark = [pytest.mark.referee, pytest.mark.docker]

# Seconds the server must stay up after the probes, on both sides.
STABLE_WINDOW = 3.0


@dataclass(frozen=True)
class Case:
    image: str
    usable: bool
    cause: frozenset[str] = frozenset()  # the validator must fail at least one of these
    words: str = ""  # and say this in that check's message (the named cause)


def case(image: str, usable: bool, *cause: str, words: str = "") -> Case:
    return Case(image, usable, frozenset(cause), words)


CASES = [
    case("good", True),
    case("good-entrypoint", True),  # entrypoint does setup, then exec "$@"
    case("port-hardcoded", True),  # --port=8888 happens to be DockerSpawner's port
    case("buggy-singleuser", True),  # 4.1.2 spawns; XSRF bugs are only a warning (#5)
    case("plain", False, "singleuser-installed"),  # no Python (#1)
    case("hub-only", False, "singleuser-imports"),  # no jupyter_server (#2)
    case("old-singleuser", False, "singleuser-version"),  # 1.5: no hub-2 token auth (#4)
    case("root-no-allow", False, "server-starts", words="root"),  # (#6)
    case("home-not-writable", False, "server-starts", words="home"),  # (#7)
    case("localhost-only", False, "listen-address", words="127.0.0.1"),  # (#9)
    case("wrong-entrypoint", False, "singleuser-installed", words="ENTRYPOINT"),  # (#11)
    case("no-cmd", False, "command"),  # (#12)
    case("jupyter-lab-cmd", False, "server-api", "hub-auth", "hub-contact"),  # (#13)
    case("slow-start", False, "server-starts", "startup-time"),  # (#15)
    case("no-ipykernel", False, "kernel-runs", words="kernel"),
    case("exits-immediately", False, "server-starts", words="exited"),
    case("crash-after-start", False, "stability", words="exited"),
]


@pytest.mark.parametrize("expected", CASES, ids=[c.image for c in CASES])
def test_validator_agrees_with_the_real_hub(
    expected: Case, real_hub: RealHub, build_image: Callable[[str], str]
) -> None:
    image = build_image(expected.image)
    hub = real_hub.spawn_outcome(image, "referee", stable_window=STABLE_WINDOW)
    result = run_cli(
        image,
        "--profile",
        "dockerspawner",
        "--format",
        "json",
        "--stable-window",
        str(STABLE_WINDOW),
    )
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    failed = {f["id"]: f["message"] for f in report["findings"] if f["status"] == "fail"}
    hub_said = (
        f"hub: usable={hub.usable} ready={hub.ready} failure={hub.failure} problems={hub.problems}"
    )

    # First the ground truth we built the image for, so a broken fixture is not blamed
    # on the validator.
    assert hub.usable is expected.usable, hub_said
    # The measure of the product: the same verdict as the real hub.
    assert (result.exit_code == 0) is hub.usable, f"{hub_said}\nvalidator failed: {failed}"
    if not expected.usable:
        named = expected.cause & failed.keys()
        assert named, f"expected one of {sorted(expected.cause)} to fail, got {failed}"
        if expected.words:
            assert any(expected.words in failed[c] for c in named), failed
        for check in named:
            finding = next(f for f in report["findings"] if f["id"] == check)
            assert finding["fix"], f"{check} fails without a fix"
