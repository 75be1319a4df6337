"""Targets: parents first, one per hub version, foundation shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.images.catalogue import load_catalogue
from validator.images.errors import CatalogueError
from validator.images.plan import EnvKind, parent_target, plan

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "base-images", REPO / "templates")


def test_base_for_one_hub_brings_the_foundation_first() -> None:
    keys = [t.key for t in plan(CATALOGUE, ["base"], hubs=["5.4.6"])]
    assert keys == ["foundation", "base-hub-5.4.6"]


def test_everything_is_ordered_parents_first() -> None:
    targets = plan(CATALOGUE, [])
    seen: set[str] = set()
    for target in targets:
        parent = parent_target(CATALOGUE, target)
        assert parent is None or parent.key in seen, target.key
        seen.add(target.key)
    assert sum(1 for t in targets if t.image.name == "foundation") == 1
    assert {t.hub_version for t in targets if t.image.name == "scientific"} == {
        "4.1.6",
        "5.4.6",
        "6.1.1",
    }


def test_conda_targets_have_their_own_names() -> None:
    target = plan(CATALOGUE, ["base"], hubs=["6.1.1"], env=EnvKind.CONDA)[-1]
    assert target.key == "base-conda-hub-6.1.1"
    assert target.repository_name == "base-conda"
    assert target.env.env_dir == "/opt/conda"


def test_unknown_hub_version_is_refused_with_the_choices() -> None:
    with pytest.raises(CatalogueError) as caught:
        plan(CATALOGUE, ["base"], hubs=["9.9.9"])
    assert caught.value.hint and "5.4.6" in caught.value.hint


def test_unknown_image_is_refused() -> None:
    with pytest.raises(CatalogueError, match=r"no image 'nope'"):
        plan(CATALOGUE, ["nope"])
