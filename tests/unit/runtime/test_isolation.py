"""The fence's pure parts: the rules it writes, how it reads them back, which are stale."""

from __future__ import annotations

import pytest

from validator.errors import ValidatorError
from validator.runtime.isolation import (
    REQUIRE_ENV,
    Bridge,
    Family,
    Fence,
    allow_rule,
    base_rules,
    has_net_admin,
    parse_rules,
    require_isolation,
    stale,
)

RUN = "0123456789ab"
OTHER = "ba9876543210"

# `iptables -S INPUT` as iptables-nft 1.8.9 prints it with one fence and another tool's rule.
LISTING = f"""-P INPUT ACCEPT
-A INPUT -i br-3605a0dd3499 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment jhiv-{RUN} -j ACCEPT
-A INPUT -d 172.18.0.1/32 -i br-3605a0dd3499 -p tcp -m tcp --dport 41235 -m comment --comment jhiv-{RUN} -j ACCEPT
-A INPUT -i br-3605a0dd3499 -m comment --comment jhiv-{RUN} -j REJECT --reject-with icmp-port-unreachable
-A INPUT -i br-77aa00000000 -m comment --comment "jhiv-{OTHER}" -j REJECT --reject-with icmp-port-unreachable
-A INPUT -i eth0 -p tcp -m tcp --dport 22 -m comment --comment "ssh from anywhere" -j ACCEPT
-A INPUT -i eth1 -m comment --comment jhiv-not-a-run-id -j DROP
-A INPUT -m comment --comment "unbalanced -j ACCEPT
"""


def test_the_bridge_comes_from_the_inspected_network() -> None:
    attrs = {
        "Id": "3605a0dd349955ec46bc2a627a7e3c3243c5977845cd98ac06584faa6648b565",
        "Options": {},
        "IPAM": {
            "Config": [{"Subnet": "fd00::/64", "Gateway": "fd00::1"}, {"Gateway": "172.18.0.1"}]
        },
        "EnableIPv6": True,
    }
    assert Bridge.of(attrs) == Bridge("br-3605a0dd3499", "172.18.0.1", ipv6=True)
    named = {**attrs, "Options": {"com.docker.network.bridge.name": "jhiv0"}, "EnableIPv6": False}
    assert Bridge.of(named).interface == "jhiv0"
    assert Bridge.of({"Id": "ab" * 32}) == Bridge("br-abababababab", "", ipv6=False)


def test_replies_pass_then_everything_else_is_rejected() -> None:
    established, reset, reject = base_rules("br-x", RUN)
    assert established[:2] == ["-i", "br-x"]
    assert "RELATED,ESTABLISHED" in established and established[-2:] == ["-j", "ACCEPT"]
    assert reset[reset.index("-p") + 1] == "tcp" and reset[-1] == "tcp-reset"
    # No protocol match: UDP, ICMP and the rest all end here.
    assert reject == ["-i", "br-x", "-m", "comment", "--comment", f"jhiv-{RUN}", "-j", "REJECT"]


def test_a_stub_hub_port_is_opened_on_the_gateway_only() -> None:
    rule = allow_rule("br-x", "172.18.0.1", 41235, RUN)
    assert rule[rule.index("-d") + 1] == "172.18.0.1/32"
    assert rule[rule.index("-p") + 1] == "tcp"
    assert rule[rule.index("--dport") + 1] == "41235"
    assert rule[rule.index("--comment") + 1] == f"jhiv-{RUN}"
    for bad in (0, -1, 65536):
        with pytest.raises(ValueError, match="port"):
            allow_rule("br-x", "172.18.0.1", bad, RUN)


def test_rules_written_are_read_back_with_their_run_and_bridge() -> None:
    rules = parse_rules(LISTING, Family.IPV4)
    assert [(r.run_id, r.interface) for r in rules] == [
        (RUN, "br-3605a0dd3499"),
        (RUN, "br-3605a0dd3499"),
        (RUN, "br-3605a0dd3499"),
        (OTHER, "br-77aa00000000"),
    ]
    # What follows `-A INPUT` is what `-D INPUT` needs to delete the rule.
    assert rules[2].spec[-4:] == ("-j", "REJECT", "--reject-with", "icmp-port-unreachable")
    assert all(r.family is Family.IPV4 for r in rules)


def test_stale_rules_are_of_dead_runs_or_of_bridges_that_are_gone() -> None:
    rules = parse_rules(LISTING, Family.IPV4)
    live_bridges = {"br-3605a0dd3499", "br-77aa00000000", "eth0"}
    assert stale(rules, dead_runs=set(), interfaces=live_bridges) == []
    assert {r.run_id for r in stale(rules, {OTHER}, live_bridges)} == {OTHER}
    gone = stale(rules, set(), {"br-77aa00000000"})
    assert {r.run_id for r in gone} == {RUN} and len(gone) == 3


@pytest.mark.parametrize(
    ("cap_eff", "expected"),
    [("000001ffffffffff", True), ("0000000000001000", True), ("0000000000000000", False)],
)
def test_net_admin_is_read_from_the_effective_capabilities(cap_eff: str, expected: bool) -> None:
    status = f"Name:\tpython3\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff}\n"
    assert has_net_admin(status) is expected
    assert has_net_admin("Name:\tpython3\n") is False


def test_requiring_isolation_takes_a_clear_yes_or_no_only() -> None:
    assert require_isolation({}) is False
    assert require_isolation({REQUIRE_ENV: "0"}) is False
    assert require_isolation({REQUIRE_ENV: "1"}) is True
    assert require_isolation({REQUIRE_ENV: " TRUE "}) is True
    with pytest.raises(ValidatorError, match=REQUIRE_ENV) as info:
        require_isolation({REQUIRE_ENV: "sometimes"})
    assert info.value.exit_code == 2


def test_an_unfenced_network_says_why_and_opens_nothing() -> None:
    fence = Fence(
        Bridge("br-x", "172.18.0.1", ipv6=False), RUN, reason="not root and no CAP_NET_ADMIN"
    )
    assert not fence.active
    assert fence.state == "none (not root and no CAP_NET_ADMIN)"
    # No firewall call is made: this would fail on a machine without iptables otherwise.
    with fence.allowing(8081):
        pass
    fence.remove()
    assert Fence(Bridge("br-x", "172.18.0.1", ipv6=False), RUN).state == "firewall"
