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
