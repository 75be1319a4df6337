"""Rendezvous hashing: stable, spread, and only a departed worker's keys move."""

from __future__ import annotations

from collections import Counter

from validator.service.engines.rendezvous import pick, rank, score

NODES = ["host-a", "host-b", "host-c"]
KEYS = [f"sha256:{i:064x}" for i in range(600)]


def test_no_node_no_pick() -> None:
    assert pick([], "sha256:" + "a" * 64) is None


def test_the_choice_is_stable_and_independent_of_order() -> None:
    for key in KEYS[:50]:
        assert pick(NODES, key) == pick(list(reversed(NODES)), key)
        assert rank(NODES, key)[0] == pick(NODES, key)
    assert score("host-a", KEYS[0]) == score("host-a", KEYS[0])


def test_keys_spread_over_the_nodes() -> None:
    counts = Counter(pick(NODES, key) for key in KEYS)
    assert set(counts) == set(NODES)
    # 600 keys over 3 nodes: each gets a fair share (200 expected; far from 0 or 600).
    assert all(120 < n < 280 for n in counts.values()), counts


def test_only_the_departed_nodes_keys_move_each_to_its_runner_up() -> None:
    before = {key: rank(NODES, key) for key in KEYS}
    survivors = ["host-a", "host-c"]
    moved = 0
    for key, ranked in before.items():
        after = pick(survivors, key)
        if ranked[0] == "host-b":
            moved += 1
            assert after == ranked[1]
        else:
            assert after == ranked[0]
    assert moved > 0
