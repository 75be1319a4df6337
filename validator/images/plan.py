"""What to build: catalogue images expanded into targets, parents first.

A target is one image for one hub version (or for none: the foundation has no
Jupyter) and one environment kind. Images without a hub version are built once and
shared by every hub version's children.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from validator.images.catalogue import Catalogue, ImageSpec
from validator.images.errors import CatalogueError


class EnvKind(str, Enum):
    """Where the Python environment comes from.

    pip:   the root image's python3 in a venv at /opt/venv, packages from PyPI or a
           wheelhouse; builds wherever PyPI (or the wheelhouse) is reachable.
    conda: micromamba and conda-forge in /opt/conda, any Python version.
    """

    PIP = "pip"
    CONDA = "conda"

    @property
    def env_dir(self) -> str:
        return "/opt/venv" if self is EnvKind.PIP else "/opt/conda"


@dataclass(frozen=True)
class Target:
    image: ImageSpec
    hub_version: str | None
    env: EnvKind

    @property
    def key(self) -> str:
        """Unique and file-name safe: ``base-hub-5.4.6``, ``foundation``."""
        suffix = f"-hub-{self.hub_version}" if self.hub_version else ""
        env = "" if self.env is EnvKind.PIP else f"-{self.env.value}"
        return f"{self.image.name}{env}{suffix}"

    @property
    def repository_name(self) -> str:
        """The image's repository name; the conda variant is a repository of its own."""
        return self.image.name if self.env is EnvKind.PIP else f"{self.image.name}-conda"


def plan(
    catalogue: Catalogue,
    names: Iterable[str],
    *,
    hubs: Iterable[str] = (),
    env: EnvKind = EnvKind.PIP,
) -> list[Target]:
    """Targets for the named images and their ancestors, each parent before its children.

    ``hubs`` narrows the hub versions (default: every version the catalogue lists);
    asking for a version no requested image is built for is an error.
    """
    wanted_hubs = list(dict.fromkeys(hubs))
    names = list(names) or [spec.name for spec in catalogue]
    ordered = catalogue.with_ancestors(names)
    unknown = [
        hub for hub in wanted_hubs if not any(hub in catalogue.hub_versions(n) for n in ordered)
    ]
    if unknown:
        listed = sorted({h for n in ordered for h in catalogue.hub_versions(n)})
        raise CatalogueError(
            f"hub version(s) {', '.join(map(repr, unknown))} are not in the catalogue "
            f"for {', '.join(names)}",
            hint=f"choose from {', '.join(listed)} or add it to the image's hub_versions",
        )
    targets: list[Target] = []
    for name in ordered:
        spec = catalogue[name]
        image_hubs = catalogue.hub_versions(name)
        if not image_hubs:
            targets.append(Target(spec, None, env))
            continue
        for hub in image_hubs:
            if not wanted_hubs or hub in wanted_hubs:
                targets.append(Target(spec, hub, env))
    return targets


def parent_target(catalogue: Catalogue, target: Target) -> Target | None:
    """The target this one is built FROM (None: the root image)."""
    if target.image.parent is None:
        return None
    parent = catalogue[target.image.parent]
    hub = target.hub_version if catalogue.hub_versions(parent.name) else None
    return Target(parent, hub, target.env)
