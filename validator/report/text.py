"""The human report: a header, one line per check, details for what needs attention.

Laid out for a 100-column terminal. Colour is the caller's decision (a TTY and no
NO_COLOR); with ``color=False`` the output holds no escape sequences at all.
"""

from __future__ import annotations

import re
import textwrap

import click

from validator.findings import Finding, Report, Status, Verdict

WIDTH = 100
EVIDENCE_LINES = 12
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
_COUNT_WORDS = (
    (Status.PASS, "passed", "passed"),
    (Status.WARN, "warning", "warnings"),
    (Status.FAIL, "failed", "failed"),
    (Status.ERROR, "error", "errors"),
    (Status.SKIP, "skipped", "skipped"),
)

# CSI and OSC sequences: container logs carry them, and replaying them would recolour
# or retitle the user's terminal (and break XML in the JUnit report).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tabs kept).

    Carriage returns become line breaks: progress bars in logs redraw a line with them.
    """
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def excerpt(text: str, max_lines: int = EVIDENCE_LINES) -> list[str]:
    """At most ``max_lines`` lines of ``text``: its head and its tail around a marker.

    Logs end with the error that matters and start with what ran, so both ends stay.
    """
    lines = strip_ansi(text).expandtabs(4).strip("\n").splitlines()
    if len(lines) <= max_lines:
        return lines
    head = max(1, (max_lines - 1) // 3)
    tail = max_lines - 1 - head
    omitted = len(lines) - head - tail
    return [*lines[:head], f"... ({omitted} more lines) ...", *lines[len(lines) - tail :]]


def finding_label(finding: Finding) -> str:
    """The check id, plus the spawn variant when the same check ran more than once."""
    return f"{finding.check_id} [{finding.variant}]" if finding.variant else finding.check_id


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 3, 1)] + "..."


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _paint(text: str, color: bool, style: tuple[str | None, bool]) -> str:
    fg, bold = style
    return click.style(text, fg=fg, bold=bold) if color else text


def _header(report: Report, color: bool, width: int) -> list[str]:
    target = f"profile {report.profile} (JupyterHub {report.hub_version})"
    if report.platform:
        target += f", {report.platform}"
    lines = [_paint(report.reference, color, _BOLD) + f"  {target}"]
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


def verdict_line(report: Report) -> str:
    """One line saying what the report means, e.g. ``incompatible: 2 checks failed``."""
    verdict = report.verdict
    if verdict is Verdict.INCOMPATIBLE:
        return (
            f"incompatible: {_plural(len(report.by_status(Status.FAIL)), 'check', 'checks')} failed"
        )
    if verdict is Verdict.ERROR:
        if report.error is not None:
            return f"error: {report.error}"
        errored = len(report.by_status(Status.ERROR))
        return f"error: {_plural(errored, 'check', 'checks')} could not run"
    return "compatible"


def counts_line(report: Report) -> str:
    """``5 passed, 1 warning, 2 failed in 12.3s``; zero counts are left out."""
    counts = report.counts()
    parts = [
        _plural(counts[s.value], one, many) for s, one, many in _COUNT_WORDS if counts[s.value]
    ]
    summary = ", ".join(parts) if parts else "no checks ran"
    return f"{summary} in {report.duration_s:.1f}s"


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
