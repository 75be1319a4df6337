"""What is in a built image, and how it was made: one Markdown and one JSON file.

``collect_facts`` runs one short container (through the image's own ENTRYPOINT, so
the environment is the one users get) that reports the Python version, the Python
and apt packages and the OS. Everything else here is pure: the facts plus the build
inputs become a ``Manifest``, which renders itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import docker

from validator.errors import ValidatorError
from validator.images.facts import MARKER as _MARKER
from validator.runtime.sandbox import Sandbox

MANIFEST_SCHEMA_VERSION = 1


def _facts_script() -> str:
    """The source of ``facts.py``, run in the image as ``python3 -c``: the image need
    not have this package installed."""
    return resources.files("validator.images").joinpath("facts.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ImageFacts:
    python_version: str
    prefix: str
    os_release: dict[str, str]
    python_packages: list[tuple[str, str]]
    conda_packages: list[tuple[str, str, str]]
    apt_packages: list[tuple[str, str]]

    @property
    def os_name(self) -> str:
        return self.os_release.get("PRETTY_NAME", "unknown")

    def version_of(self, package: str) -> str | None:
        wanted = package.lower().replace("_", "-")
        for name, version in self.python_packages:
            if name.lower().replace("_", "-") == wanted:
                return version
        return None


def parse_facts(output: str) -> ImageFacts:
    """The facts line among the container's output (start.sh logs around it)."""
    for line in output.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            return ImageFacts(
                python_version=data["python_version"],
                prefix=data["prefix"],
                os_release=dict(data["os_release"]),
                python_packages=[(n, v) for n, v in data["python_packages"]],
                conda_packages=[(n, v, c) for n, v, c in data["conda_packages"]],
                apt_packages=[(n, v) for n, v in data["apt_packages"]],
            )
    raise ValueError("the container printed no facts line")


def collect_facts(client: docker.DockerClient, image: str, timeout: float = 120) -> ImageFacts:
    with Sandbox(client) as sandbox:
        run = sandbox.run_to_end(image, ["python3", "-c", _facts_script()], timeout=timeout)
    if run.start_error or run.exit_code != 0:
        raise ValidatorError(
            f"cannot read the packages of {image}: "
            f"{run.start_error or f'exit code {run.exit_code}'}: {run.output[-2000:]}"
        )
    try:
        return parse_facts(run.output)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidatorError(f"cannot read the packages of {image}: {exc}") from None


@dataclass(frozen=True)
class Validation:
    profile: str
    hub_version: str
    verdict: str
    counts: dict[str, int]
    report_file: str


@dataclass(frozen=True)
class Manifest:
    """Everything the Markdown and JSON manifests say about one image."""

    key: str
    repository: str
    tags: list[str]
    image_id: str
    digest: str | None
    size_bytes: int
    built_at: str
    hub_version: str | None
    env: str
    inputs: dict[str, Any]
    facts: ImageFacts
    validation: Validation | None = None
    jupyter_versions: dict[str, str] = field(default_factory=dict)

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1_000_000, 1)

    def to_dict(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "image": self.key,
            "repository": self.repository,
            "tags": self.tags,
            "image_id": self.image_id,
            "digest": self.digest,
            "size_bytes": self.size_bytes,
            "built_at": self.built_at,
            "hub_version": self.hub_version,
            "env": self.env,
            "python_version": facts.python_version,
            "os": facts.os_name,
            "jupyter": self.jupyter_versions,
            "inputs": self.inputs,
            "validation": asdict(self.validation) if self.validation else None,
            "python_packages": [{"name": n, "version": v} for n, v in facts.python_packages],
            "conda_packages": [
                {"name": n, "version": v, "channel": c} for n, v, c in facts.conda_packages
            ],
            "apt_packages": [{"name": n, "version": v} for n, v in facts.apt_packages],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_markdown(self) -> str:
        facts = self.facts
        ref = f"{self.repository}:{self.tags[0]}" if self.tags else self.repository
        lines = [
            f"# {ref}",
            "",
            "## Build",
            "",
            "| | |",
            "|---|---|",
            f"| Image id | `{self.image_id}` |",
            f"| Digest | {f'`{self.digest}`' if self.digest else '(not pushed)'} |",
            f"| Tags | {', '.join(f'`{t}`' for t in self.tags) or '(none)'} |",
            f"| Size | {self.size_mb} MB |",
            f"| Built | {self.built_at} |",
            f"| JupyterHub | {self.hub_version or '(no Jupyter)'} |",
            f"| Python | {facts.python_version} ({self.env} environment, {facts.prefix}) |",
            f"| OS | {facts.os_name} |",
        ]
        lines += [f"| {k} | {v} |" for k, v in self.jupyter_versions.items()]
        lines += ["", "## Build inputs", "", "| | |", "|---|---|"]
        # The catalogue entry is nested data: in full in the JSON manifest only.
        lines += [f"| {k} | {_cell(v)} |" for k, v in self.inputs.items() if k != "catalogue_entry"]
        if self.validation is not None:
            v = self.validation
            counts = ", ".join(f"{n} {s}" for s, n in v.counts.items() if n)
            lines += [
                "",
                "## Validation",
                "",
                f"`validate-image --profile {v.profile} --hub-version {v.hub_version}`: "
                f"**{v.verdict}** ({counts}); report: `{v.report_file}`",
            ]
        lines += ["", "## Python packages", "", "| Package | Version |", "|---|---|"]
        lines += [f"| {n} | {v} |" for n, v in facts.python_packages]
        if facts.conda_packages:
            lines += ["", "## Conda packages", "", "| Package | Version | Channel |"]
            lines += ["|---|---|---|"]
            lines += [f"| {n} | {v} | {c} |" for n, v, c in facts.conda_packages]
        lines += ["", "## Apt packages", "", "| Package | Version |", "|---|---|"]
        lines += [f"| {n} | {v} |" for n, v in facts.apt_packages]
        return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"`{v}`" for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return f"`{value}`" if isinstance(value, str) and value else str(value)
