"""Keep a candidate from reaching the host's own services through its network.

An internal bridge network has no route out, but a packet a container sends to one of the
host's own addresses (its gateway, docker0, the LAN address) is delivered locally through
the host's INPUT chain: whatever listens on 0.0.0.0 answers it, a database or the Docker
API included. Where the tool may change the host firewall, each sandbox network gets a
``Fence``: rules on its bridge interface that let in replies to connections the host
opened (the validator's probes) and the stub hubs' ports (``allow``), and reject the
rest, TCP, UDP and ICMP alike.

Where it may not (not root, no iptables, an engine whose bridges are not in this network
namespace: remote, rootless or the tool in a container), the run goes on unfenced, says
so once in the log and in the report's settings, and ``JHIV_REQUIRE_ISOLATION=1`` makes
that a tool error instead.

Every rule carries the comment ``jhiv-<run id>``: a closed sandbox removes its fences,
``sweep`` removes those of runs that are gone.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError

__all__ = [
    "REQUIRE_ENV",
    "Bridge",
    "Family",
    "Fence",
    "IsolationUnavailable",
    "Rule",
    "allow_rule",
    "base_rules",
    "fence",
    "has_net_admin",
    "parse_rules",
    "require_isolation",
    "stale",
    "sweep",
    "tag",
]

log = logging.getLogger(__name__)

REQUIRE_ENV = "JHIV_REQUIRE_ISOLATION"
_TAG_RE = re.compile(r"jhiv-([0-9a-f]{12})")
_CHAIN = "INPUT"
_SYS_NET = Path("/sys/class/net")
_CAP_NET_ADMIN = 12
# Docker and other runs hold the xtables lock briefly; waiting beats failing a rule.
_LOCK_WAIT_S = "5"
_CALL_TIMEOUT_S = 30.0


class IsolationUnavailable(ValidatorError):
    """JHIV_REQUIRE_ISOLATION is set and the host firewall cannot fence a network."""


class FirewallError(Exception):
    """An iptables call failed; the message is its first line of output."""


class Family(enum.Enum):
    """The address families the host filters, by the binary that edits each."""

    IPV4 = "iptables"
    IPV6 = "ip6tables"


@dataclass(frozen=True)
class Bridge:
    """What the fence needs of a Docker bridge network."""

    interface: str
    gateway: str  # IPv4; the stub hubs bind it
    ipv6: bool

    @classmethod
    def of(cls, attrs: Mapping[str, Any]) -> Bridge:
        """From ``network.attrs`` (an inspected network)."""
        options = attrs.get("Options") or {}
        # The engine names a network's bridge br-<id> unless the creator chose a name.
        interface = options.get("com.docker.network.bridge.name") or f"br-{attrs['Id'][:12]}"
        configs = (attrs.get("IPAM") or {}).get("Config") or []
        gateways = [str(c.get("Gateway") or "") for c in configs]
        gateway = next((g for g in gateways if g and ":" not in g), "")
        return cls(str(interface), gateway, bool(attrs.get("EnableIPv6")))


def tag(run_id: str) -> str:
    """The comment every rule of a run carries."""
    return f"jhiv-{run_id}"


# -- the rules, as iptables arguments after the chain name ---------------------------


def _tagged(run_id: str) -> list[str]:
    return ["-m", "comment", "--comment", tag(run_id)]


def base_rules(interface: str, run_id: str) -> list[list[str]]:
    """A bridge's fence without any port, in the order the chain evaluates them."""
    return [
        # Replies to the validator's own connections to the candidate.
        [
            "-i",
            interface,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            *_tagged(run_id),
            "-j",
            "ACCEPT",
        ],
        # REJECT rather than DROP: the candidate's connect fails at once instead of
        # timing out, which keeps a probing image from slowing its own validation. TCP
        # gets a reset: the kernel rate-limits ICMP errors, to one a second per peer.
        [
            "-i",
            interface,
            "-p",
            "tcp",
            *_tagged(run_id),
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ],
        # Everything else, UDP and ICMP included.
        ["-i", interface, *_tagged(run_id), "-j", "REJECT"],
    ]


def allow_rule(interface: str, gateway: str, port: int, run_id: str) -> list[str]:
    """New TCP connections to one stub hub: that port on the gateway only."""
    if not 0 < port <= 65535:
        raise ValueError(f"port must be 1..65535, got {port!r}")
    return [
        "-i",
        interface,
        "-d",
        f"{gateway}/32",
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        str(port),
        *_tagged(run_id),
        "-j",
        "ACCEPT",
    ]


@dataclass(frozen=True)
class Rule:
    """One of our rules as the firewall lists it."""

    family: Family
    spec: tuple[str, ...]  # what follows ``-A INPUT``; ``-D INPUT *spec`` deletes it
    run_id: str
    interface: str


def _after(words: list[str], flag: str) -> str:
    with contextlib.suppress(ValueError, IndexError):
        return words[words.index(flag) + 1]
    return ""


def parse_rules(listing: str, family: Family) -> list[Rule]:
    """The rules tagged ``jhiv-<run id>`` in ``iptables -S INPUT`` output."""
    found = []
    for line in listing.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words[:2] != ["-A", _CHAIN]:
            continue
        match = _TAG_RE.fullmatch(_after(words, "--comment"))
        if match is None:
            continue
        found.append(Rule(family, tuple(words[2:]), match.group(1), _after(words, "-i")))
    return found


def stale(
    rules: Iterable[Rule], dead_runs: Collection[str], interfaces: Collection[str]
) -> list[Rule]:
    """Rules of runs that are gone, or of bridges that are gone (a network is removed
    before its rules, so a missing interface means nothing is left to fence)."""
    return [r for r in rules if r.run_id in dead_runs or r.interface not in interfaces]


def has_net_admin(proc_status: str) -> bool:
    """Whether /proc/self/status grants CAP_NET_ADMIN (the right to edit the firewall)."""
    for line in proc_status.splitlines():
        if line.startswith("CapEff:"):
            with contextlib.suppress(ValueError):
                return bool(int(line.split()[1], 16) >> _CAP_NET_ADMIN & 1)
    return False


def require_isolation(environ: Mapping[str, str]) -> bool:
    """JHIV_REQUIRE_ISOLATION as a boolean; anything but a clear yes or no is an error."""
    raw = environ.get(REQUIRE_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValidatorError(
        f"{REQUIRE_ENV} must be 1 or 0, got {environ[REQUIRE_ENV]!r}",
        hint=f"set {REQUIRE_ENV}=1 to refuse to run candidates without a host firewall fence",
    )


# -- the host ---------------------------------------------------------------------


def _call(family: Family, *args: str) -> str:
    try:
        done = subprocess.run(
            [family.value, "-w", _LOCK_WAIT_S, *args],
            capture_output=True,
            text=True,
            timeout=_CALL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(str(exc)) from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise FirewallError(lines[0] if lines else f"{family.value} exited {done.returncode}")
    return done.stdout


def _privileged() -> bool:
    if os.geteuid() == 0:
        return True
    try:
        return has_net_admin(Path("/proc/self/status").read_text())
    except OSError:
        return False


def _interfaces() -> set[str]:
    try:
        return {p.name for p in _SYS_NET.iterdir()}
    except OSError:
        return set()


def _why_not(bridge: Bridge) -> str | None:
    """Why this process cannot fence ``bridge``; None when it can try."""
    if bridge.interface not in _interfaces():
        return (
            f"the engine's bridge {bridge.interface} is not in this network namespace;"
            " a remote, rootless or containerised engine"
        )
    if shutil.which(Family.IPV4.value) is None:
        return "no iptables binary on PATH"
    if not _privileged():
        return "not root and no CAP_NET_ADMIN"
    if not bridge.gateway:
        return "the network has no IPv4 gateway"
    return None


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(reason: str) -> None:
    with _warned_lock:
        if reason in _warned:
            return
        _warned.add(reason)
    log.warning(
        "Candidates are not fenced off from the host's ports: %s (see docs/security.md;"
        " %s=1 makes this an error)",
        reason,
        REQUIRE_ENV,
    )


class Fence:
    """The host firewall's rules for one sandbox network; inactive where it cannot be set.

    Thread-safe: the spawns of several command modes share one network.
    """

    def __init__(self, bridge: Bridge, run_id: str, reason: str | None = None) -> None:
        self.bridge, self.run_id, self.reason = bridge, run_id, reason
        self._lock = threading.Lock()
        self._installed: list[tuple[Family, list[str]]] = []
        self._closed = False

    @property
    def active(self) -> bool:
        return self.reason is None

    @property
    def state(self) -> str:
        """For the report: ``firewall`` or ``none (why)``."""
        return "firewall" if self.active else f"none ({self.reason})"

    def _insert(self, family: Family, spec: list[str]) -> None:
        # At the top: an ACCEPT further down the chain (another tool's) must not win.
        _call(family, "-I", _CHAIN, "1", *spec)
        self._installed.append((family, spec))

    def install(self) -> None:
        """Put the base rules in place, or none of them (FirewallError)."""
        try:
            for spec in reversed(base_rules(self.bridge.interface, self.run_id)):
                self._insert(Family.IPV4, spec)
            self._install_ipv6()
        except FirewallError:
            self.remove()
            raise

    def _install_ipv6(self) -> None:
        # Without IPv6 on the network the engine disables it in the container; a fence
        # is still cheap insurance, and only a failure where IPv6 is on is fatal.
        if shutil.which(Family.IPV6.value) is None:
            if self.bridge.ipv6:
                raise FirewallError("no ip6tables binary for an IPv6 network")
            return
        try:
            for spec in reversed(base_rules(self.bridge.interface, self.run_id)):
                self._insert(Family.IPV6, spec)
        except FirewallError as exc:
            if self.bridge.ipv6:
                raise
            log.debug("No IPv6 fence on %s: %s", self.bridge.interface, exc)

    def allow(self, port: int) -> None:
        """Let the candidates open TCP connections to ``port`` on the gateway."""
        spec = allow_rule(self.bridge.interface, self.bridge.gateway, port, self.run_id)
        with self._lock:
            if self.active and not self._closed:
                self._insert(Family.IPV4, spec)

    def revoke(self, port: int) -> None:
        spec = allow_rule(self.bridge.interface, self.bridge.gateway, port, self.run_id)
        with self._lock:
            if (Family.IPV4, spec) in self._installed:
                self._installed.remove((Family.IPV4, spec))
                _delete(Family.IPV4, spec)

    @contextlib.contextmanager
    def allowing(self, port: int) -> Iterator[None]:
        """``allow(port)`` for the block: a stub hub's port is open while it serves."""
        self.allow(port)
        try:
            yield
        finally:
            self.revoke(port)

    def remove(self) -> None:
        """Remove every rule this fence put in place. Idempotent."""
        with self._lock:
            self._closed = True
            installed, self._installed = self._installed, []
        for family, spec in installed:
            _delete(family, spec)


def _delete(family: Family, spec: Iterable[str]) -> bool:
    try:
        _call(family, "-D", _CHAIN, *spec)
    except FirewallError as exc:
        # A sweep in another process may have removed it once the bridge was gone.
        log.debug("Could not remove %s rule %s: %s", family.value, list(spec), exc)
        return False
    return True


def fence(attrs: Mapping[str, Any], run_id: str) -> Fence:
    """Fence the network ``attrs`` describes, where this process may.

    Raises IsolationUnavailable where it may not and JHIV_REQUIRE_ISOLATION says so.
    """
    required = require_isolation(os.environ)  # a bad value is an error either way
    bridge = Bridge.of(attrs)
    reason = _why_not(bridge)
    fenced = Fence(bridge, run_id, reason)
    if reason is None:
        try:
            fenced.install()
        except FirewallError as exc:
            fenced = Fence(bridge, run_id, f"iptables failed: {exc}")
    if not fenced.active:
        if required:
            raise IsolationUnavailable(
                f"cannot fence the candidates' network off from the host: {fenced.reason}",
                hint=f"run as root on the engine's host with iptables, or unset {REQUIRE_ENV}",
            )
        _warn_once(str(fenced.reason))
    else:
        log.debug(
            "Fenced %s (run %s): only stub hub ports reach the host", bridge.interface, run_id
        )
    return fenced


def sweep(dead_runs: Collection[str]) -> int:
    """Remove rules of runs that are gone or whose bridge is gone; how many were removed.

    Quiet where the firewall cannot be read: then this process made no rules either.
    """
    if not _privileged():
        return 0
    removed = 0
    for family in Family:
        if shutil.which(family.value) is None:
            continue
        try:
            listing = _call(family, "-S", _CHAIN)
        except FirewallError as exc:
            log.debug("Cannot list %s rules: %s", family.value, exc)
            continue
        # Read after the listing: a rule listed was made after its bridge existed, so a
        # run that is just starting cannot lose its fence to this sweep.
        interfaces = _interfaces()
        for rule in stale(parse_rules(listing, family), dead_runs, interfaces):
            removed += _delete(family, rule.spec)
    if removed:
        log.info("Removed %d firewall rule(s) of ended runs", removed)
    return removed
