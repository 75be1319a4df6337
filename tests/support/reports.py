"""Reports built in memory for the renderer tests, from the same stock profile fields."""

from __future__ import annotations

from typing import Any

from validator.findings import Finding, Report


def make_report(
    *findings: Finding, reference: str, error: str | None = None, **fields: Any
) -> Report:
    """A jupyter4nfdi report on hub 5.4.6 holding ``findings``; ``fields`` set the rest."""
    report = Report(
        reference=reference,
        profile="jupyter4nfdi",
        hub_version="5.4.6",
        validator_version="0.1.0",
        error=error,
        **fields,
    )
    for finding in findings:
        report.add(finding)
    return report


def findings_by_id(report: dict[str, Any], variant: str = "image CMD") -> dict[str, dict[str, Any]]:
    """A JSON report's findings by check id, for one spawn: the unlabelled (static)
    findings and those of ``variant``. Profiles with several command modes (jupyter4nfdi:
    the image CMD and its advisory job mode) report every exec and runtime check once per
    mode, so a plain ``{id: finding}`` would keep whichever mode came last."""
    return {f["id"]: f for f in report["findings"] if f.get("variant") in (None, variant)}
