"""The GitHub Actions report: workflow commands for the step log, Markdown for the job summary.

``render_github`` is the ``--format github`` document for stdout: the text report, then
``::error``/``::warning``/``::notice`` annotations for the findings that matter most.
``render_summary`` is the Markdown a workflow appends to ``$GITHUB_STEP_SUMMARY``: the
verdict, a table of every check, and the fix for each failure and warning.

GitHub's limits shape both: a step shows at most 10 annotations per level (the rest are
dropped without a word), and a step's summary may hold at most 1 MiB.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from validator.findings import Finding, Report, Status, Verdict
from validator.report.text import (
    counts_line,
    excerpt,
    finding_label,
    render_text,
    strip_ansi,
    verdict_line,
)

# GitHub shows this many annotations per level and step and drops the rest silently.
ANNOTATIONS_PER_LEVEL = 10
# A step's summary larger than 1 MiB is rejected whole; keep room for other writers.
SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024
ANNOTATION_CHARS = 4000
TITLE_CHARS = 200
CELL_CHARS = 300
SUMMARY_EVIDENCE_LINES = 40
EVIDENCE_LINE_CHARS = 300

_LEVEL = {Status.FAIL: "error", Status.ERROR: "error", Status.WARN: "warning"}
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

# Markdown punctuation that could turn text from an image (its CMD, its logs) into
# links, emphasis or table columns; a backslash makes each one literal.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")


# --- workflow commands -----------------------------------------------------------------


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


@dataclass(frozen=True)
class Annotation:
    level: str  # error, warning or notice
    title: str
    message: str

    def command(self) -> str:
        # The runner trims the properties, so a title's outer whitespace would not survive.
        title = _clip(self.title.strip(), TITLE_CHARS)
        return workflow_command(self.level, _clip(self.message, ANNOTATION_CHARS), title=title)


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


def render_github_many(
    reports: Sequence[Report], color: bool = False, *, token: str | None = None
) -> str:
    """The step-log document for several reports: their text reports, then annotations.

    The text reports quote the image's own output (its logs, its CMD), and the runner
    would obey any line of it that looks like a workflow command (``::add-mask::``,
    ``::error::``...). They are therefore printed between ``::stop-commands::`` and the
    resume marker, under a token the image cannot guess.
    """
    token = token or secrets.token_hex(16)
    lines = [f"::stop-commands::{token}"]
    lines += [render_text(r, color) for r in reports]
    lines.append(f"::{token}::")
    lines += [a.command() for a in select_annotations(reports)]
    return "\n".join(lines)


def render_github(report: Report, color: bool = False, *, token: str | None = None) -> str:
    """``--format github`` for one report; see ``render_github_many``."""
    return render_github_many([report], color, token=token)


# --- job summary -----------------------------------------------------------------------


def markdown_text(text: str) -> str:
    """``text`` as inline Markdown that renders as itself: no HTML, links or emphasis."""
    text = strip_ansi(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def _cell(text: str) -> str:
    first = strip_ansi(text).strip().split("\n", 1)[0]
    return markdown_text(_clip(first, CELL_CHARS))


def _code(text: str) -> str:
    """An inline code span that holds ``text`` whatever backticks it contains."""
    text = " ".join(strip_ansi(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(text: str) -> list[str]:
    """A fenced code block that no line of ``text`` can close early."""
    body = strip_ansi(text).expandtabs(4).strip("\n")
    longest = max((len(run) for run in re.findall(r"`{3,}|~{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *body.splitlines(), fence]


def _evidence(text: str) -> str:
    lines = excerpt(text, SUMMARY_EVIDENCE_LINES)
    return "\n".join(_clip(line, EVIDENCE_LINE_CHARS) for line in lines)


def _heading(report: Report) -> list[str]:
    icon = _VERDICT_ICON[report.verdict]
    lines = [
        f"### {icon} {_code(report.reference)} {_VERDICT_PHRASE[report.verdict]}",
        "",
        f"**{markdown_text(verdict_line(report))}** ({markdown_text(counts_line(report))})",
        "",
    ]
    facts = [f"profile {_code(report.profile)} (JupyterHub {markdown_text(report.hub_version)})"]
    if report.platform:
        facts.append(markdown_text(report.platform))
    if report.digest:
        facts.append(f"digest {_code(report.digest)}")
    elif report.image_id:
        facts.append(f"image id {_code(report.image_id)}")
    facts.append(f"validate-image {markdown_text(report.validator_version)}")
    return [*lines, " · ".join(facts)]


def _table(report: Report) -> list[str]:
    if not report.findings:
        return []
    rows = ["| Result | Check | Details |", "|---|---|---|"]
    for finding in report.findings:
        result = f"{_ICON[finding.status]} {finding.status.value}"
        rows.append(f"| {result} | {_code(finding_label(finding))} | {_cell(finding.message)} |")
    return ["", *rows]


def _fix_section(finding: Finding, with_evidence: bool) -> list[str]:
    head = f"##### {_ICON[finding.status]} {_code(finding_label(finding))}"
    if finding.title:
        head += f": {markdown_text(finding.title)}"
    lines = ["", head, "", markdown_text(strip_ansi(finding.message).strip())]
    if finding.fix:
        lines += ["", "**Fix:**", "", *_block(finding.fix)]
    if with_evidence and finding.evidence and finding.evidence.strip():
        # HTML blocks need blank lines around Markdown inside them.
        lines += ["", "<details><summary>Evidence</summary>", ""]
        lines += [*_block(_evidence(finding.evidence)), "", "</details>"]
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


def render_summary_many(reports: Sequence[Report], limit: int = SUMMARY_LIMIT) -> str:
    """Summaries of several reports, each within an equal share of ``limit``."""
    if not reports:
        return ""
    share = limit // len(reports) - 1
    return "\n".join(render_summary(r, share) for r in reports)


__all__ = [
    "ANNOTATIONS_PER_LEVEL",
    "SUMMARY_LIMIT",
    "Annotation",
    "escape_data",
    "escape_property",
    "markdown_text",
    "render_github",
    "render_github_many",
    "render_summary",
    "render_summary_many",
    "select_annotations",
    "workflow_command",
]
