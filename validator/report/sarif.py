"""``--format sarif``: the reports as one SARIF 2.1.0 log, the format GitHub code scanning,
GitLab and most CI dashboards import.

One rule per check of the catalogue (its title, its cause and fix as help, a link to its
section of docs/checks.md), one result per failed or warned finding. Findings that could
not run, and a run that stopped, are tool notifications rather than results: they say
nothing about the image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import metadata
from typing import Any
from urllib.parse import quote

from validator import __version__, exit_codes
from validator.checks import CATALOG
from validator.checks.base import Check
from validator.findings import Finding, Report, Status
from validator.report.common import RenderOptions, finding_label, strip_ansi

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {Status.FAIL: "error", Status.WARN: "warning"}


def _homepage() -> str | None:
    """The project's address from the installed metadata; SARIF wants absolute URIs."""
    try:
        urls: list[str] = (
            metadata.metadata("jupyterhub-image-validator").get_all("Project-URL") or []
        )
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"homepage", "source", "repository"}:
            return str(url.strip().rstrip("/"))
    return None


def _anchor(check: Check) -> str:
    """The fragment GitHub gives the check's heading in docs/checks.md."""
    heading = f"{check.id}: {check.title}".lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def _rule(check_id: str, finding: Finding | None, homepage: str | None) -> dict[str, Any]:
    check = CATALOG.get(check_id)
    title = check.title if check else (finding.title if finding else "") or check_id
    rule: dict[str, Any] = {"id": check_id, "shortDescription": {"text": title}}
    if check is not None:
        rule["fullDescription"] = {"text": check.detection}
        rule["help"] = {"text": f"Cause: {check.cause}\n\nFix: {check.fix}"}
        if homepage is not None:
            rule["helpUri"] = f"{homepage}/blob/main/docs/checks.md#{_anchor(check)}"
        rule["properties"] = {"stage": check.stage.value}
    return rule


def _location(report: Report) -> dict[str, Any]:
    # An image reference is not a file; as a relative URI (":" escaped so that a
    # registry port does not read as a scheme) it still names what the result is about.
    uri = quote(report.reference, safe="/@")
    return {
        "physicalLocation": {"artifactLocation": {"uri": uri}},
        "logicalLocations": [{"name": report.reference, "kind": "module"}],
    }


def _message(finding: Finding) -> str:
    text = strip_ansi(finding.message).strip() or finding_label(finding)
    if finding.fix:
        text += "\n\nFix: " + strip_ansi(finding.fix).strip()
    return text


def _result(report: Report, finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.status],
        "message": {"text": _message(finding)},
        "locations": [_location(report)],
        "properties": {
            "profile": report.profile,
            "hubVersion": report.hub_version,
            "settings": dict(report.settings),
        },
    }
    if finding.variant:
        result["properties"]["variant"] = finding.variant
    if report.digest:
        result["properties"]["digest"] = report.digest
    return result


def _notifications(report: Report) -> list[dict[str, Any]]:
    out = []
    if report.error is not None:
        out.append({"level": "error", "message": {"text": f"{report.reference}: {report.error}"}})
    for finding in report.by_status(Status.ERROR):
        text = f"{report.reference}: {finding_label(finding)}: {strip_ansi(finding.message)}"
        out.append({"level": "error", "message": {"text": text.strip()}})
    return out


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """The reports as one SARIF log with one run, indented, without a trailing newline."""
    homepage = _homepage()
    seen = {f.check_id: f for r in reports for f in r.findings}
    ids = [*CATALOG, *(i for i in seen if i not in CATALOG)]
    index = {check_id: n for n, check_id in enumerate(ids)}
    driver: dict[str, Any] = {
        "name": "validate-image",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_rule(i, seen.get(i), homepage) for i in ids],
    }
    if homepage is not None:
        driver["informationUri"] = homepage
    code = exit_codes.worst(r.exit_code for r in reports)
    notifications = [n for r in reports for n in _notifications(r)]
    invocation: dict[str, Any] = {
        "executionSuccessful": code != exit_codes.TOOL_ERROR,
        "exitCode": code,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    results = [
        _result(r, f, index[f.check_id]) for r in reports for f in r.findings if f.status in _LEVEL
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}],
    }
    return json.dumps(log, indent=2)
