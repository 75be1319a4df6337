"""Runs inside a built image, with the image's own python3, and prints its facts.

``manifest.collect_facts`` reads this file's source and passes it to ``python3 -c``,
so it is a real module only for ruff and mypy. Standard library only, and syntax an
old Python accepts: it must work in every image of the chain, the foundation included.
"""

from __future__ import annotations

import glob
import json
import platform
import sys
from importlib import metadata
from typing import Any

MARKER = "JHIV-FACTS "


def os_release() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.rstrip("\n").partition("=")
                if key:
                    fields[key] = value.strip('"')
    except OSError:
        pass
    return fields


def apt_packages() -> list[list[str]]:
    packages: list[list[str]] = []
    entry: dict[str, str] = {}
    try:
        with open("/var/lib/dpkg/status", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return packages
    # A blank line ends each stanza; the extra one ends the last.
    for line in [*lines, ""]:
        if not line:
            if entry.get("Status", "").endswith(" installed"):
                packages.append([entry.get("Package", ""), entry.get("Version", "")])
            entry = {}
        elif not line.startswith(" ") and ":" in line:
            key, _, value = line.partition(":")
            entry[key] = value.strip()
    return sorted(packages)


def conda_packages() -> list[list[str]]:
    found: list[list[str]] = []
    for path in glob.glob(sys.prefix + "/conda-meta/*.json"):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        found.append([data.get("name", ""), data.get("version", ""), data.get("channel", "")])
    return sorted(found)


def facts() -> dict[str, Any]:
    python_packages = sorted(
        {(d.metadata["Name"] or "", d.version) for d in metadata.distributions()},
        key=lambda p: p[0].lower(),
    )
    return {
        "python_version": platform.python_version(),
        "python_executable": sys.executable,
        "prefix": sys.prefix,
        "os_release": os_release(),
        "python_packages": [list(p) for p in python_packages],
        "conda_packages": conda_packages(),
        "apt_packages": apt_packages(),
    }


if __name__ == "__main__":
    print(MARKER + json.dumps(facts()), flush=True)
