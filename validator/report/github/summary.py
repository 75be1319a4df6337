"""The GitHub job summary: Markdown a workflow appends to ``$GITHUB_STEP_SUMMARY`` with
the verdict, a table of every check, and the fix for each failure and warning.

A step's summary may hold at most 1 MiB, so a summary too large loses its evidence first,
then is cut at a line with a note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from validator.findings import Finding, Report, Status, Verdict
from validator.report.common import (
    SUMMARY_LIMIT,
    RenderOptions,
    counts_line,
    excerpt,
    finding_label,
    settings_line,
    shorten,
    strip_ansi,
    verdict_line,
)
from validator.report.markdown import block, code, markdown_text

CELL_CHARS = 300
SUMMARY_EVIDENCE_LINES = 40
EVIDENCE_LINE_CHARS = 300

# Failures first: they are the reason for the red X; errors next; warnings last.
_ATTENTION = (Status.FAIL, Status.ERROR, Status.WARN)
_ICON = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
    Status.SKIP: "⏭️",
    Status.ERROR: "❗",
}
_VERDICT_ICON = {Verdict.COMPATIBLE: "✅", Verdict.INCOMPATIBLE: "❌", Verdict.ERROR: "❗"}
_VERDICT_PHRASE = {
    Verdict.COMPATIBLE: "is compatible",
    Verdict.INCOMPATIBLE: "is incompatible",
    Verdict.ERROR: "could not be validated",
}


def _cell(text: str) -> str:
    first = strip_ansi(text).strip().split("\n", 1)[0]
    return markdown_text(shorten(first, CELL_CHARS))


def _evidence(text: str) -> str:
    lines = excerpt(text, SUMMARY_EVIDENCE_LINES)
    return "\n".join(shorten(line, EVIDENCE_LINE_CHARS) for line in lines)


def _heading(report: Report) -> list[str]:
    icon = _VERDICT_ICON[report.verdict]
    lines = [
        f"### {icon} {code(report.reference)} {_VERDICT_PHRASE[report.verdict]}",
        "",
        f"**{markdown_text(verdict_line(report))}** ({markdown_text(counts_line(report))})",
        "",
    ]
    facts = [f"profile {code(report.profile)} (JupyterHub {markdown_text(report.hub_version)})"]
    if report.platform:
        facts.append(markdown_text(report.platform))
    if report.digest:
        facts.append(f"digest {code(report.digest)}")
    elif report.image_id:
        facts.append(f"image id {code(report.image_id)}")
    facts.append(f"validate-image {markdown_text(report.validator_version)}")
    lines.append(" · ".join(facts))
    judged = settings_line(report)
    if judged:
        lines += ["", f"Judged under: {markdown_text(judged)}"]
    return lines


def _table(report: Report) -> list[str]:
    if not report.findings:
        return []
    rows = ["| Result | Check | Details |", "|---|---|---|"]
    for finding in report.findings:
        result = f"{_ICON[finding.status]} {finding.status.value}"
        rows.append(f"| {result} | {code(finding_label(finding))} | {_cell(finding.message)} |")
    return ["", *rows]


def _fix_section(finding: Finding, with_evidence: bool) -> list[str]:
    head = f"##### {_ICON[finding.status]} {code(finding_label(finding))}"
    if finding.title:
        head += f": {markdown_text(finding.title)}"
    lines = ["", head, "", markdown_text(strip_ansi(finding.message).strip())]
    if finding.fix:
        lines += ["", "**Fix:**", "", *block(finding.fix)]
    if with_evidence and finding.evidence and finding.evidence.strip():
        # HTML blocks need blank lines around Markdown inside them.
        lines += ["", "<details><summary>Evidence</summary>", ""]
        lines += [*block(_evidence(finding.evidence)), "", "</details>"]
    return lines


def _attention(report: Report, with_evidence: bool) -> list[str]:
    lines: list[str] = []
    if report.error is not None:
        lines += ["", f"**The run stopped:** {markdown_text(report.error)}"]
    needs = [f for status in _ATTENTION for f in report.by_status(status)]
    if needs:
        lines += ["", "#### What to fix" if report.by_status(Status.FAIL) else "#### Details"]
        for finding in needs:
            lines += _fix_section(finding, with_evidence)
    return lines


def _summary(report: Report, with_evidence: bool) -> str:
    lines = [*_heading(report), *_table(report), *_attention(report, with_evidence)]
    return "\n".join(lines) + "\n"


def _closing(lines: list[str]) -> list[str]:
    """The lines that close a code block or ``<details>`` left open at the end of ``lines``."""
    fence: str | None = None
    for line in lines:
        if fence is None and re.fullmatch(r"`{3,}", line):
            fence = line
        elif line == fence:
            fence = None
    closing = [fence] if fence else []
    if sum(line.startswith("<details>") for line in lines) > lines.count("</details>"):
        closing += ["", "</details>"]
    return closing


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes of ``text``, cut at a line, with a note saying so.

    A cut inside a code block or ``<details>`` would swallow the note, so those are closed.
    """
    note = "\n\n*The summary was cut to fit GitHub's limit; the JSON report has everything.*\n"
    room = limit - len(note.encode("utf-8"))
    head = text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
    lines = head.split("\n")[:-1]  # the last line may be cut in the middle
    while lines:
        out = "\n".join([*lines, *_closing(lines)])
        if len(out.encode("utf-8")) <= room:
            return out + note
        lines.pop()
    return note.lstrip("\n")


def render_summary(report: Report, limit: int = SUMMARY_LIMIT) -> str:
    """The job summary of one report, in at most ``limit`` UTF-8 bytes.

    When the whole summary is too large the evidence goes first (the JSON report keeps
    it); only then is the rest cut.
    """
    full = _summary(report, with_evidence=True)
    if len(full.encode("utf-8")) <= limit:
        return full
    lean = _summary(report, with_evidence=False)
    if len(lean.encode("utf-8")) <= limit:
        return lean
    return _truncate(lean, limit)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """Summaries of the reports, each within an equal share of ``options.summary_limit``."""
    if not reports:
        return ""
    share = options.summary_limit // len(reports) - 1
    return "\n".join(render_summary(r, share) for r in reports)
