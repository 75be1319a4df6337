"""The machine report: one JSON object, versioned, described by docs/report.schema.json.

Compatibility contract (docs/report-format.md): adding a field keeps ``schema_version``;
renaming, removing or retyping one bumps it. Consumers must ignore fields they do not
know.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from validator.findings import Finding, Report, Status
from validator.report.common import RenderOptions

SCHEMA_VERSION = 1


def _finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.check_id,
        "title": finding.title,
        "status": finding.status.value,
        "message": finding.message,
        "fix": finding.fix,
        "evidence": finding.evidence,
        "duration_s": finding.duration_s,
        "variant": finding.variant,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON types, keys in schema order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "validator_version": report.validator_version,
        "reference": report.reference,
        "digest": report.digest,
        "image_id": report.image_id,
        "platform": report.platform,
        "profile": report.profile,
        "hub_version": report.hub_version,
        "settings": dict(report.settings),
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        # The model uses "" for "not recorded"; JSON says that with null.
        "started_at": report.started_at or None,
        "duration_s": report.duration_s,
        "cached": report.cached,
        "error": report.error,
        "counts": report.counts(),
        "findings": [_finding_to_dict(f) for f in report.findings],
    }


def report_from_dict(data: dict[str, Any]) -> Report:
    """The Report that ``report_to_dict`` wrote (the result cache stores that dict).

    Verdict, exit code and counts are not read back: the Report derives them.
    """
    return Report(
        reference=data["reference"],
        profile=data["profile"],
        hub_version=data["hub_version"],
        validator_version=data["validator_version"],
        findings=[
            Finding(
                check_id=f["id"],
                status=Status(f["status"]),
                message=f["message"],
                title=f.get("title") or "",
                fix=f.get("fix"),
                evidence=f.get("evidence"),
                duration_s=float(f.get("duration_s") or 0.0),
                variant=f.get("variant"),
            )
            for f in data.get("findings") or []
        ],
        settings={str(k): str(v) for k, v in (data.get("settings") or {}).items()},
        image_id=data.get("image_id"),
        digest=data.get("digest"),
        platform=data.get("platform"),
        started_at=data.get("started_at") or "",
        duration_s=float(data.get("duration_s") or 0.0),
        error=data.get("error"),
        cached=bool(data.get("cached", False)),
    )


def render_json(report: Report) -> str:
    """The report as indented JSON, without a trailing newline.

    Non-ASCII text is escaped so the bytes are the same whatever the locale of the
    terminal or CI runner that captures them.
    """
    return json.dumps(report_to_dict(report), indent=2)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """One report as an object, several as an array (the documented JSON shapes)."""
    if len(reports) == 1:
        return render_json(reports[0])
    return json.dumps([report_to_dict(r) for r in reports], indent=2)
