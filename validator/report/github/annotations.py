"""``--format github``: the text report for the step log, then workflow commands
(``::error``/``::warning``/``::notice`` annotations) for the findings that matter most.

GitHub shows at most 10 annotations per level and step and drops the rest without a word,
so the selection keeps the most important and says what it left out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from validator.findings import Finding, Report, Status
from validator.report.common import (
    RenderOptions,
    counts_line,
    finding_label,
    shorten,
    strip_ansi,
    verdict_line,
)
from validator.report.text import render_text

# GitHub shows this many annotations per level and step and drops the rest silently.
ANNOTATIONS_PER_LEVEL = 10
ANNOTATION_CHARS = 4000
TITLE_CHARS = 200

_LEVEL = {Status.FAIL: "error", Status.ERROR: "error", Status.WARN: "warning"}
# Failures first: they are the reason for the red X; errors next; warnings last.
_ATTENTION = (Status.FAIL, Status.ERROR, Status.WARN)


def escape_data(text: str) -> str:
    """``text`` as the message of a workflow command: one line, read back verbatim."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """``text`` as a property value (``title=...``): ``:`` and ``,`` delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    """``::command key=value,...::message`` with every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass(frozen=True)
class Annotation:
    level: str  # error, warning or notice
    title: str
    message: str

    def command(self) -> str:
        # The runner trims the properties, so a title's outer whitespace would not survive.
        title = shorten(self.title.strip(), TITLE_CHARS)
        return workflow_command(self.level, shorten(self.message, ANNOTATION_CHARS), title=title)


def _finding_annotation(finding: Finding, image: str | None) -> Annotation:
    title = finding_label(finding) + (f": {finding.title}" if finding.title else "")
    parts = [strip_ansi(finding.message).strip()]
    if finding.fix:
        parts.append("Fix:\n" + strip_ansi(finding.fix).strip())
    if image is not None:
        parts.insert(0, image)
    return Annotation(_LEVEL[finding.status], title, "\n".join(parts))


def _report_annotations(report: Report, image: str | None) -> list[Annotation]:
    """One report's annotations, the most important first."""
    out: list[Annotation] = []
    if report.error is not None:
        prefix = f"{image}\n" if image is not None else ""
        out.append(Annotation("error", "validate-image stopped", prefix + strip_ansi(report.error)))
    for status in _ATTENTION:
        out += [_finding_annotation(f, image) for f in report.by_status(status)]
    verdict = f"{report.reference}: {verdict_line(report)} ({counts_line(report)})"
    out.append(Annotation("notice", f"validate-image: {report.verdict.value}", verdict))
    return out


def _overflow(level: str, dropped: list[Annotation]) -> Annotation:
    titles = ", ".join(a.title.split(":", 1)[0] for a in dropped)
    return Annotation(
        level,
        f"{len(dropped)} more ({level})",
        f"GitHub shows {ANNOTATIONS_PER_LEVEL} annotations per level; the job summary "
        f"and the JSON report have the rest: {titles}",
    )


def select_annotations(
    reports: Sequence[Report], per_level: int = ANNOTATIONS_PER_LEVEL
) -> list[Annotation]:
    """The annotations to emit for ``reports``: at most ``per_level`` of each level.

    When a level has more, its last slot says how many were left out and names them,
    rather than GitHub dropping them without a trace.
    """
    many = len(reports) > 1
    by_level: dict[str, list[Annotation]] = {}
    for report in reports:
        for annotation in _report_annotations(report, report.reference if many else None):
            by_level.setdefault(annotation.level, []).append(annotation)
    out: list[Annotation] = []
    for level, found in by_level.items():
        if len(found) <= per_level:
            out += found
        else:
            out += [*found[: per_level - 1], _overflow(level, found[per_level - 1 :])]
    return out


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """The step-log document: the reports: their text reports, then annotations.

    The text reports quote the image's own output (its logs, its CMD), and the runner
    would obey any line of it that looks like a workflow command (``::add-mask::``,
    ``::error::``...). They are therefore printed between ``::stop-commands::`` and the
    resume marker, under a token the image cannot guess.
    """
    token = options.token or secrets.token_hex(16)
    lines = [f"::stop-commands::{token}"]
    lines += [render_text(r, options.color) for r in reports]
    lines.append(f"::{token}::")
    lines += [a.command() for a in select_annotations(reports)]
    return "\n".join(lines)
