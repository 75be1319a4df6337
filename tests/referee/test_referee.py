"""The validator's verdict must agree with what a real JupyterHub does with the image.

For each image and each referee configuration (tests/referee/hub.py ``CONFIGS``), a real
JupyterHub 5.4.6 with DockerSpawner 14.0.0 spawns it, and the validator judges it under
the profile that describes that hub: ``dockerspawner`` for the plain hub,
``profiles/referee-ssl.yaml`` for the one configured like Jupyter4NFDI (internal SSL,
port 8443, a random named server, an identity user name, an empty user directory
bind-mounted at /home/jovyan/work).

"Usable" on the hub side means: the spawn became ready, ``{prefix}api`` answered through
the proxy with the hub header, a kernel ran code, a file could be saved into the user
directory (where one is mounted), and the server still answered 10 s after it first
did. Each case first asserts that ground truth, with the cause in the hub's or the
container's words, so a broken fixture is not blamed on the validator; then that the
validator says compatible exactly when the hub's server was usable and names the cause
(catalogue numbers from the contract notes, §6).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.cli import CliResult

from .conftest import AgreementRow
from .hub import PLAIN, SSL, HubOutcome
from .pool import CaseKey, CasePool

pytestmark = [pytest.mark.referee, pytest.mark.docker]


@dataclass(frozen=True)
class Case:
    image: str
    config: str
    usable: bool
    hub_words: tuple[str, ...] = ()
    """The hub's evidence (failure, probe problems, container log) says one of these."""
    slow_stop: bool = False
    """The hub's stop waited out Docker's grace period."""
    fail: frozenset[str] = frozenset()
    """The validator must fail at least one of these ..."""
    warn: frozenset[str] = frozenset()
    """... or, for a cause that does not stop users, warn with at least one of these ..."""
    words: tuple[str, ...] = ()
    """... and say one of these (case-insensitive) in that finding's message."""
    spurious: frozenset[str] = frozenset()
    """Checks the cause does not explain: they must not fail."""

    @property
    def id(self) -> str:
        return f"{self.config}-{self.image}"


def case(
    image: str,
    config: str,
    usable: bool,
    *fail: str,
    words: tuple[str, ...] | str = (),
    hub: tuple[str, ...] | str = (),
    warn: tuple[str, ...] = (),
    spurious: tuple[str, ...] = (),
    slow_stop: bool = False,
) -> Case:
    return Case(
        image=image,
        config=config,
        usable=usable,
        hub_words=(hub,) if isinstance(hub, str) else hub,
        slow_stop=slow_stop,
        fail=frozenset(fail),
        warn=frozenset(warn),
        words=(words,) if isinstance(words, str) else words,
        spurious=frozenset(spurious),
    )


def both(image: str, usable: bool, *fail: str, **kwargs: Any) -> list[Case]:
    """The same expectation under both configurations."""
    return [case(image, c.name, usable, *fail, **kwargs) for c in (PLAIN, SSL)]


P, S = PLAIN.name, SSL.name
# A server died after it had answered: the hub's proxy then answers 503 for it, to a
# request or to a kernel's websocket handshake (whichever the probe was making).
GONE = ("HTTP 503", "Handshake status 503")
# A container that exits before it answers: the hub says so in one of two ways,
# depending on when it looks (see test_hub_smoke.py).
EXITED = ("Spawn failed", "Container not found")
# Or the container is gone before the hub polls its address, and with spawns running
# side by side Docker has given that address to another case's server, which answers
# 404 for this user's prefix: the hub calls the spawn ready, and it is still unusable.
EXITED_AT_ONCE = (*EXITED, "HTTP 404")
ENTRYPOINT_CHECKS = ("singleuser-imports",)

CASES: list[Case] = [
    # The plain hub's catalogue, kept from before the second configuration.
    case("port-hardcoded", P, True),  # --port=8888 happens to be DockerSpawner's port
    case("buggy-singleuser", P, True),  # 4.1.2 spawns; XSRF bugs are only a warning (#5)
    case("plain", P, False, "singleuser-installed", hub=EXITED_AT_ONCE),  # no Python (#1)
    case("hub-only", P, False, "singleuser-imports", hub=EXITED_AT_ONCE),  # (#2)
    case("old-singleuser", P, False, "singleuser-version"),  # 1.5: no hub-2 token auth (#4)
    case("root-no-allow", P, False, "server-starts", words="root"),  # (#6)
    case("home-not-writable", P, False, "server-starts", words="home"),  # (#7)
    case("localhost-only", P, False, "listen-address", words="127.0.0.1"),  # (#9)
    case("wrong-entrypoint", P, False, "singleuser-installed", words="ENTRYPOINT"),  # (#11)
    case("no-cmd", P, False, "command", hub=EXITED_AT_ONCE),  # (#12)
    case("jupyter-lab-cmd", P, False, "server-api", "hub-auth", "hub-contact"),  # (#13)
    case("slow-start", P, False, "server-starts", "startup-time", hub="didn't respond"),  # (#15)
    case("no-ipykernel", P, False, "kernel-runs", words="kernel", hub="kernel"),
    case("exits-immediately", P, False, "server-starts", words="exited", hub=EXITED_AT_ONCE),
    # Both configurations.
    *both("good", True),
    *both("good-entrypoint", True),  # entrypoint does setup, then exec "$@"
    # jupyter_server + ipykernel, no UI: the hub serves it and runs kernels (#11 class 1).
    *both("server-no-ui", True, spurious=("hub-auth",)),
    # The image CMD names the server by its absolute path: both hubs run that CMD
    # (class 2; only a `jupyterhub-singleuser` cmd policy would fail it).
    *both("abs-path-cmd", True, spurious=("singleuser-installed",)),
    # Runs the server in the background and exits 1 six seconds after launch: the hub
    # sees it ready, then it is gone (class 3).
    *both(
        "entrypoint-background",
        False,
        "stability",
        "server-starts",
        "kernel-runs",
        # On a loaded machine the entrypoint also exits before `--version` answers:
        # the exec stage then quotes the exit, as for entrypoint-needs-var.
        "singleuser-installed",
        words=("exited", "post-start task failed"),
        # On a loaded machine it dies before its first answer: then the hub says so.
        hub=(*GONE, "post-start task failed", *EXITED),
        spurious=ENTRYPOINT_CHECKS,
    ),
    # Exits 3 with its own message before running anything: DockerSpawner finds no
    # container to ask for an address. The container log (caught when it lives long
    # enough) has the message; the validator must quote it (class 3).
    *both(
        "entrypoint-needs-var",
        False,
        "server-starts",
        "entrypoint-form",
        "command",
        # The exec stage runs the entrypoint first and may quote it there.
        "singleuser-installed",
        words="LAB_LICENSE_KEY",
        hub=EXITED,
        spurious=ENTRYPOINT_CHECKS,
    ),
    # ENTRYPOINT jupyterhub-singleuser and no CMD: DockerSpawner builds its command
    # from the image's CMD and fails on None (class 3).
    *both(
        "entrypoint-singleuser",
        False,
        "command",
        words="CMD",
        hub="unsupported operand",
        spurious=ENTRYPOINT_CHECKS,
    ),
    # Drops the SSL environment: harmless on the plain hub; with internal SSL the hub's
    # TLS connection never gets an answer.
    case("ignores-ssl", P, True),
    case(
        "ignores-ssl",
        S,
        False,
        "server-starts",
        "internal-ssl",
        "server-tls",
        "listen-address",
        words=("ssl", "tls", "https"),
        # After the http_timeout the hub removes the container; under load DockerSpawner
        # may find it still running and say that instead.
        hub=("didn't respond", "Spawn failed"),
    ),
    # PID 1 ignores SIGTERM: usable, but every stop waits for SIGKILL (a warning).
    *both(
        "sigterm-ignored",
        True,
        warn=("stops-promptly",),
        words=("SIGTERM", "exec"),
        slow_stop=True,
    ),
    # Ships files where the user directory is mounted: the server works, the files
    # vanish under the mount (a warning where a mount is configured).
    case("mount-hides-content", P, True),
    case(
        "mount-hides-content",
        S,
        True,
        warn=("mount-hides-content", "mount-hides", "mount-writable"),
        words=("hide", "hidden", "README.md", "examples"),
    ),
    # uid 1001 cannot write into a 1000:100 0755 directory: nothing can be saved.
    case("other-uid", P, True),
    case(
        "other-uid",
        S,
        False,
        "mount-writable",
        words=("writ", "permission", "1001"),
        hub="Permission denied",
    ),
    # Answers, then dies 7 s (3 s) after its wrapper saw it answer (over TLS with the
    # hub's certificates where it has them): inside the window.
    *both("dies-within-10s", False, "stability", words="exited", hub=GONE),
    *both("crash-after-start", False, "stability", words="exited", hub=GONE),
]


def _hub_summary(hub: HubOutcome) -> str:
    if hub.usable:
        return f"usable (ready in {hub.seconds_to_ready or 0:.0f} s, stop {hub.seconds_to_stop or 0:.0f} s)"
    if not hub.ready:
        return f"not ready: {hub.failure}"
    return f"ready, then: {'; '.join(hub.problems) or 'no reason'}"


def _validator_summary(result: CliResult, failed: dict[str, str], warned: dict[str, str]) -> str:
    if result.exit_code == 0:
        return "compatible" + (f" (warn {', '.join(sorted(warned))})" if warned else "")
    if result.exit_code == 1:
        return f"incompatible: {', '.join(sorted(failed)) or '?'}"
    return f"exit {result.exit_code}: {result.stderr.strip().splitlines()[-1:]}"


def _short(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validator_agrees_with_the_real_hub(
    case: Case,
    prefetched_pool: CasePool,
    build_image: Callable[[str], str],
    agreement: list[AgreementRow],
) -> None:
    key = CaseKey(build_image(case.image), case.config)
    hub = prefetched_pool.outcome(key)
    result = prefetched_pool.verdict(key)
    report = json.loads(result.stdout) if result.exit_code in (0, 1) else {"findings": []}
    failed = {f["id"]: f["message"] for f in report["findings"] if f["status"] == "fail"}
    warned = {f["id"]: f["message"] for f in report["findings"] if f["status"] == "warn"}
    agreement.append(
        AgreementRow(
            image=case.image,
            config=case.config,
            hub=_short(_hub_summary(hub)),
            validator=_short(_validator_summary(result, failed, warned)),
            agree=result.exit_code in (0, 1) and (result.exit_code == 0) is hub.usable,
        )
    )
    hub_said = (
        f"hub: usable={hub.usable} ready={hub.ready} after={hub.seconds_to_ready}"
        f" (load {os.getloadavg()[0]:.1f}) failure={hub.failure}"
        f" problems={hub.problems} data_writable={hub.data_writable}"
        f" stop={hub.seconds_to_stop}\ncontainer log tail: {hub.container_log[-1500:]}"
    )

    # (a) The ground truth the image was built for, in the hub's own words.
    assert hub.usable is case.usable, hub_said
    if case.hub_words:
        evidence = " ".join([hub.failure or "", *hub.problems, hub.container_log]).lower()
        assert any(w.lower() in evidence for w in case.hub_words), hub_said
    if case.usable:
        assert hub.seconds_watched is not None and hub.seconds_watched >= 10.0, hub_said
    if case.slow_stop:
        # Docker's grace period is 10 s; a server that stops on SIGTERM may also take
        # long on a loaded machine, so only the slow side is asserted.
        assert hub.seconds_to_stop is not None and hub.seconds_to_stop >= 8.0, hub_said

    # (b) The measure of the product: the same verdict as the real hub, for the cause.
    assert result.exit_code in (0, 1), result.stderr
    assert (result.exit_code == 0) is hub.usable, f"{hub_said}\nvalidator failed: {failed}"
    if case.fail:
        named = case.fail & failed.keys()
        assert named, f"expected one of {sorted(case.fail)} to fail, got {failed}"
        _says(case, {c: failed[c] for c in named})
        for check in named:
            finding = next(f for f in report["findings"] if f["id"] == check)
            assert finding["fix"], f"{check} fails without a fix"
    if case.warn:
        named = case.warn & warned.keys()
        assert named, f"expected one of {sorted(case.warn)} to warn, got {warned}"
        _says(case, {c: warned[c] for c in named})
    wrongly = case.spurious & failed.keys()
    assert not wrongly, f"{sorted(wrongly)} fail, which the cause does not explain: {failed}"


def _says(case: Case, messages: dict[str, str]) -> None:
    if case.words:
        assert any(w.lower() in m.lower() for w in case.words for m in messages.values()), (
            f"none of {case.words} in {messages}"
        )
