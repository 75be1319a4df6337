"""The human report: a header, one line per check, details for what needs attention.

Laid out for a 100-column terminal. Colour is the caller's decision (a TTY and no
NO_COLOR); with ``color=False`` the output holds no escape sequences at all.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import click

from validator.findings import Finding, Report, Status, Verdict
from validator.report.common import (
    RenderOptions,
    counts_line,
    excerpt,
    finding_label,
    settings_line,
    strip_ansi,
    verdict_line,
)

WIDTH = 100
# Room for an id plus its variant, e.g. "server-starts [cmd jupyterhub-singleuser]".
_ID_WIDTH = 44
_INDENT = "  "

_WORD = {
    Status.PASS: "PASS",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.SKIP: "SKIP",
    Status.ERROR: "ERROR",
}
# (foreground, bold). The words carry the meaning; colour only helps the eye.
_STYLE: dict[Status, tuple[str | None, bool]] = {
    Status.PASS: ("green", False),
    Status.WARN: ("yellow", True),
    Status.FAIL: ("red", True),
    Status.SKIP: ("bright_black", False),
    Status.ERROR: ("magenta", True),
}
_VERDICT_STYLE: dict[Verdict, tuple[str | None, bool]] = {
    Verdict.COMPATIBLE: ("green", True),
    Verdict.INCOMPATIBLE: ("red", True),
    Verdict.ERROR: ("magenta", True),
}
_BOLD: tuple[str | None, bool] = (None, True)
# The order findings are explained in: what blocks the image first.
_ATTENTION = (Status.FAIL, Status.ERROR, Status.WARN)


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 3, 1)] + "..."


def _paint(text: str, color: bool, style: tuple[str | None, bool]) -> str:
    fg, bold = style
    return click.style(text, fg=fg, bold=bold) if color else text


def _header(report: Report, color: bool, width: int) -> list[str]:
    target = f"profile {report.profile} (JupyterHub {report.hub_version})"
    if report.platform:
        target += f", {report.platform}"
    lines = [_paint(report.reference, color, _BOLD) + f"  {target}"]
    judged = settings_line(report)
    if judged:
        lines.append(f"{_INDENT}judged under: {judged}")
    if report.digest and report.digest not in report.reference:
        lines.append(f"{_INDENT}digest {report.digest}")
    if report.image_id and report.image_id != report.digest:
        lines.append(f"{_INDENT}image id {_clip(report.image_id, width - 11)}")
    return lines


def _summary_row(finding: Finding, id_width: int, color: bool, width: int) -> str:
    word = _paint(f"{_WORD[finding.status]:<5}", color, _STYLE[finding.status])
    room = width - len(_INDENT) - 5 - 2 - id_width - 2
    first = strip_ansi(finding.message).strip().split("\n", 1)[0]
    label = _clip(finding_label(finding), id_width)
    return f"{_INDENT}{word}  {label:<{id_width}}  {_clip(first, room)}".rstrip()


def _wrapped(text: str, indent: str, width: int) -> list[str]:
    out: list[str] = []
    for paragraph in strip_ansi(text).strip().split("\n"):
        out.extend(textwrap.wrap(paragraph, width - len(indent)) or [""])
    return [f"{indent}{line}".rstrip() for line in out]


def _detail(finding: Finding, color: bool, width: int) -> list[str]:
    word = _paint(_WORD[finding.status], color, _STYLE[finding.status])
    head = f"{word} {finding_label(finding)}"
    if finding.title:
        head += f" ({finding.title})"
    lines = [head, *_wrapped(finding.message, _INDENT, width)]
    if finding.fix:
        # Fix lines are often Dockerfile lines meant for copy-paste: never re-wrap them.
        fix = strip_ansi(finding.fix).strip().splitlines()
        label = _paint("fix:", color, _BOLD)
        if len(fix) == 1:
            lines.append(f"{_INDENT}{label} {fix[0]}")
        else:
            lines += [f"{_INDENT}{label}", *(f"{_INDENT * 2}{line}" for line in fix)]
    if finding.evidence and finding.evidence.strip():
        lines.append(f"{_INDENT}{_paint('evidence:', color, _BOLD)}")
        room = width - 2 * len(_INDENT) - 2
        lines += [
            f"{_INDENT * 2}| {_clip(line, room)}".rstrip() for line in excerpt(finding.evidence)
        ]
    return lines


def render_text(report: Report, color: bool, *, width: int = WIDTH) -> str:
    """The report for people, without a trailing newline."""
    lines = _header(report, color, width)
    if report.findings:
        id_width = min(max(len(finding_label(f)) for f in report.findings), _ID_WIDTH)
        lines.append("")
        lines += [_summary_row(f, id_width, color, width) for f in report.findings]
    for status in _ATTENTION:
        for finding in report.by_status(status):
            lines += ["", *_detail(finding, color, width)]
    # A run that stopped after a check already failed is still incompatible; say
    # why it stopped anyway, since the verdict line will not.
    if report.error is not None and report.verdict is not Verdict.ERROR:
        lines += ["", *_wrapped(f"the run stopped early: {report.error}", "", width)]
    verdict = _paint(verdict_line(report), color, _VERDICT_STYLE[report.verdict])
    lines += ["", verdict, counts_line(report)]
    return "\n".join(lines)


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """``--format text``: one report after another."""
    return "\n".join(render_text(r, options.color) for r in reports)
