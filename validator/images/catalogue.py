"""The catalogue of known-good images: ``base-images/*.yaml``, one image a file.

Each file names the image, its parent (``null`` for the root of a chain), the template
it renders, and what varies: the Python version (root only), the hub versions to build
for, version pins of the template's own packages, extra packages. Loading checks every
file and the relations between them, and reports all problems at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from validator.images.errors import CatalogueError

_NAME_RE = r"^[a-z0-9][a-z0-9-]*$"
_HUB_RE = re.compile(r"^\d+\.\d+\.\d+$")
_PYTHON_RE = re.compile(r"^3\.\d+$")
# jupyterhub 6 requires Python 3.10 or later (its python_requires).
_HUB_MIN_PYTHON = {6: (3, 10), 5: (3, 8), 4: (3, 8)}
_PACKAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*([<>=!~]=?[A-Za-z0-9.*+-]+)?$")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class Packages(BaseModel):
    """Extra packages, per installer; the env decides whether pip or conda names apply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    apt: tuple[str, ...] = Field(
        default=(), description="Debian/Ubuntu packages (apt-get install)."
    )
    pip: tuple[str, ...] = Field(default=(), description="Requirement specs for pip (pip env).")
    conda: tuple[str, ...] = Field(default=(), description="conda-forge specs (conda env).")

    @field_validator("apt", "pip", "conda")
    @classmethod
    def _specs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [spec for spec in value if not _PACKAGE_RE.match(spec)]
        if bad:
            raise ValueError(f"not a package name or simple spec: {', '.join(map(repr, bad))}")
        return value


class ImageSpec(BaseModel):
    """One catalogue entry (one file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME_RE, description="Image name; also the file name.")
    description: str = Field(min_length=1, description="One line: what the image adds.")
    template: str = Field(pattern=_NAME_RE, description="Directory under templates/.")
    parent: str | None = Field(description="Image this one is built FROM; null: a root image.")
    python: str | None = Field(
        None, description="Root only: Python version of the conda env (3.X)."
    )
    hub_versions: tuple[str, ...] | None = Field(
        None,
        description="JupyterHub versions to build for; children inherit, and may narrow.",
    )
    default_hub: str | None = Field(
        None, description="The hub version that gets the unprefixed tags (latest, ...)."
    )
    pins: dict[str, str] = Field(
        default_factory=dict, description="Versions of the template's own packages."
    )
    packages: Packages = Field(default_factory=Packages)

    @field_validator("python")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        if value is not None and not _PYTHON_RE.match(value):
            raise ValueError(f"expected 3.X, got {value!r}")
        return value

    @field_validator("hub_versions")
    @classmethod
    def _hubs(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        bad = [v for v in value if not _HUB_RE.match(v)]
        if bad:
            raise ValueError(f"expected X.Y.Z versions, got {', '.join(map(repr, bad))}")
        if not value:
            raise ValueError("list at least one hub version, or leave the field out")
        return tuple(sorted(set(value), key=_version_key))


@dataclass(frozen=True)
class Catalogue:
    """All images, with the relations resolved: inherited hub versions, chains."""

    images: dict[str, ImageSpec]
    source: Path

    def __getitem__(self, name: str) -> ImageSpec:
        try:
            return self.images[name]
        except KeyError:
            raise CatalogueError(
                f"no image {name!r} in the catalogue {str(self.source)!r}",
                hint=f"choose one of {', '.join(self.images)}",
            ) from None

    def chain(self, name: str) -> list[ImageSpec]:
        """The image and its ancestors, root first."""
        chain: list[ImageSpec] = []
        current: str | None = name
        while current is not None:
            spec = self[current]
            chain.insert(0, spec)
            current = spec.parent
        return chain

    def root(self, name: str) -> ImageSpec:
        return self.chain(name)[0]

    def python(self, name: str) -> str:
        python = self.root(name).python
        assert python is not None  # checked at load time
        return python

    def hub_versions(self, name: str) -> tuple[str, ...]:
        """The hub versions this image is built for; () for images without Jupyter."""
        for spec in reversed(self.chain(name)):
            if spec.hub_versions is not None:
                return spec.hub_versions
        return ()

    def default_hub(self, name: str) -> str | None:
        for spec in reversed(self.chain(name)):
            if spec.default_hub is not None:
                return spec.default_hub
        hubs = self.hub_versions(name)
        return hubs[-1] if hubs else None

    def pins(self, name: str) -> dict[str, str]:
        """Pins of the whole chain; a child's pin wins over its parent's."""
        merged: dict[str, str] = {}
        for spec in self.chain(name):
            merged.update(spec.pins)
        return merged

    def with_ancestors(self, names: Iterable[str]) -> list[str]:
        """The named images and all their ancestors, parents first, each once."""
        ordered: list[str] = []
        for name in names:
            for spec in self.chain(name):
                if spec.name not in ordered:
                    ordered.append(spec.name)
        return sorted(ordered, key=lambda n: len(self.chain(n)))

    def __iter__(self) -> Iterator[ImageSpec]:
        return iter(self.images.values())


def _format(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return problems


def _read(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [f"cannot read it: {exc.strerror}"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        return None, [f"not valid YAML{at}: {getattr(exc, 'problem', None) or exc}"]
    if not isinstance(data, dict):
        return None, ["must be a mapping of fields"]
    return data, []


def _relations(images: dict[str, ImageSpec], templates: Path | None) -> list[str]:
    """Problems between entries: parents, cycles, inherited fields, templates."""
    problems: list[str] = []
    for spec in images.values():
        where = f"{spec.name}.yaml"
        if spec.parent is not None and spec.parent not in images:
            problems.append(f"{where}: parent {spec.parent!r} is not in the catalogue")
            continue
        seen = [spec.name]
        parent = spec.parent
        while parent is not None and parent in images:
            if parent in seen:
                problems.append(f"{where}: parents form a cycle: {' -> '.join([*seen, parent])}")
                break
            seen.append(parent)
            parent = images[parent].parent
        if templates is not None and not (templates / spec.template / "Dockerfile.j2").is_file():
            problems.append(
                f"{where}: template {spec.template!r} has no {spec.template}/Dockerfile.j2 "
                f"in {str(templates)!r}"
            )
        if spec.parent is None:
            if spec.python is None:
                problems.append(f"{where}: a root image must set python (3.X)")
            if spec.packages.pip or spec.packages.conda:
                problems.append(f"{where}: a root image installs apt packages only")
        elif spec.python is not None:
            problems.append(
                f"{where}: python is set by the root of the chain, not by a child image"
            )
    if problems:
        return problems
    catalogue = Catalogue(images, Path("."))
    for spec in images.values():
        where = f"{spec.name}.yaml"
        if spec.parent is not None and spec.hub_versions is not None:
            inherited = set(catalogue.hub_versions(spec.parent))
            extra = [v for v in spec.hub_versions if inherited and v not in inherited]
            if extra:
                problems.append(
                    f"{where}: hub_versions {', '.join(extra)} are not built for parent "
                    f"{spec.parent!r}"
                )
        hubs = catalogue.hub_versions(spec.name)
        if spec.default_hub is not None and spec.default_hub not in hubs:
            problems.append(f"{where}: default_hub {spec.default_hub!r} is not in hub_versions")
        python = _version_key(catalogue.python(spec.name))
        for hub in hubs:
            needed = _HUB_MIN_PYTHON.get(_version_key(hub)[0])
            if needed is not None and python < needed:
                problems.append(
                    f"{where}: JupyterHub {hub} needs Python >= {needed[0]}.{needed[1]}, "
                    f"the chain has {catalogue.python(spec.name)}"
                )
    return problems


def load_catalogue(directory: Path, templates: Path | None = None) -> Catalogue:
    """Read ``directory/*.yaml``; raise CatalogueError listing every problem found."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogueError(
            f"no catalogue files (*.yaml) in {str(directory)!r}",
            hint="pass --catalogue DIR, the base-images/ directory of a clone",
        )
    images: dict[str, ImageSpec] = {}
    problems: list[str] = []
    for path in files:
        data, errors = _read(path)
        problems += [f"{path.name}: {e}" for e in errors]
        if data is None:
            continue
        try:
            spec = ImageSpec.model_validate(data)
        except ValidationError as exc:
            problems += [f"{path.name}: {p}" for p in _format(exc)]
            continue
        if spec.name != path.stem:
            problems.append(f"{path.name}: name {spec.name!r} differs from the file name")
            continue
        images[spec.name] = spec
    if not problems:
        problems = _relations(images, templates)
    if problems:
        raise CatalogueError(
            f"the catalogue {str(directory)!r} is invalid: " + "; ".join(problems),
            hint="see docs/base-images.md for the schema",
        )
    return Catalogue(images, directory)
