"""Manifests: the facts line is found among log lines, and both renderings say what
is in the image and how it was built."""

from __future__ import annotations

import json

import pytest

from validator.images.manifest import Manifest, Validation, parse_facts

FACTS_LINE = "JHIV-FACTS " + json.dumps(
    {
        "python_version": "3.11.2",
        "python_executable": "/opt/venv/bin/python3",
        "prefix": "/opt/venv",
        "os_release": {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian"},
        "python_packages": [["jupyterhub", "5.4.6"], ["jupyter_server", "2.21.1"]],
        "conda_packages": [],
        "apt_packages": [["tini", "0.19.0-1"]],
    }
)


def manifest() -> Manifest:
    facts = parse_facts(f"start.sh INFO: something\n{FACTS_LINE}\n")
    return Manifest(
        key="base-hub-5.4.6",
        repository="jhiv/base",
        tags=["hub-5.4.6", "latest"],
        image_id="sha256:abc",
        digest=None,
        size_bytes=495_000_000,
        built_at="2026-11-26T01:00:00+00:00",
        hub_version="5.4.6",
        env="pip",
        inputs={"root_image": "jhiv/debian-root:bookworm", "commit": None},
        facts=facts,
        validation=Validation("jupyter4nfdi", "5.4.6", "compatible", {"pass": 30}, "r.json"),
        jupyter_versions={"jupyterhub": "5.4.6"},
    )


def test_facts_are_found_among_log_lines() -> None:
    facts = manifest().facts
    assert facts.python_version == "3.11.2"
    assert facts.version_of("jupyter-server") == "2.21.1"
    assert facts.os_name.startswith("Debian")
    with pytest.raises(ValueError, match="no facts line"):
        parse_facts("start.sh WARNING: nothing else\n")


def test_markdown_has_build_validation_and_package_sections() -> None:
    text = manifest().to_markdown()
    assert text.startswith("# jhiv/base:hub-5.4.6\n")
    for heading in ("## Build", "## Build inputs", "## Validation", "## Python packages"):
        assert f"\n{heading}\n" in text
    assert "| Size | 495.0 MB |" in text
    assert "| jupyterhub | 5.4.6 |" in text and "| tini | 0.19.0-1 |" in text
    assert "**compatible**" in text


def test_json_is_versioned_and_complete() -> None:
    data = json.loads(manifest().to_json())
    assert data["schema_version"] == 1
    assert data["python_version"] == "3.11.2"
    assert data["apt_packages"] == [{"name": "tini", "version": "0.19.0-1"}]
    assert data["validation"]["verdict"] == "compatible"
    assert data["inputs"]["root_image"] == "jhiv/debian-root:bookworm"
