"""Pieces several renderers share: the options every renderer takes, cleaning text that
came from the image, and the one-line verdict and counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from validator.findings import Finding, Report, Status, Verdict

EVIDENCE_LINES = 12
# A step's summary larger than 1 MiB is rejected whole; keep room for other writers.
SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer may be told besides the reports; formats ignore what they lack."""

    color: bool = False
    # The ``::stop-commands::`` token of the github format; random when None.
    token: str | None = None
    # UTF-8 bytes the job summary may take.
    summary_limit: int = SUMMARY_LIMIT


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


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def verdict_line(report: Report) -> str:
    """One line saying what the report means, e.g. ``incompatible: 2 checks failed``."""
    verdict = report.verdict
    if verdict is Verdict.INCOMPATIBLE:
        return (
            f"incompatible: {plural(len(report.by_status(Status.FAIL)), 'check', 'checks')} failed"
        )
    if verdict is Verdict.ERROR:
        if report.error is not None:
            return f"error: {report.error}"
        errored = len(report.by_status(Status.ERROR))
        return f"error: {plural(errored, 'check', 'checks')} could not run"
    return "compatible"


def counts_line(report: Report) -> str:
    """``5 passed, 1 warning, 2 failed in 12.3s``; zero counts are left out."""
    counts = report.counts()
    parts = [plural(counts[s.value], one, many) for s, one, many in _COUNT_WORDS if counts[s.value]]
    summary = ", ".join(parts) if parts else "no checks ran"
    return f"{summary} in {report.duration_s:.1f}s"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def settings_line(report: Report) -> str:
    """One line naming what the verdict was judged under; '' for reports without it."""
    return "; ".join(f"{key} {value}" for key, value in report.settings.items())
