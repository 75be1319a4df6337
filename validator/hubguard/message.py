"""What a user reads when the guard refuses a spawn: pure functions of the service's
answer. The text goes to the progress stream and the API; the HTML to the hub's
spawn-failure page, where the report link can be clicked."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

LINE_CHARS = 200
FIX_LINES = 12


@dataclass(frozen=True)
class Refusal:
    """The failing checks and their fix, ready to show."""

    image: str
    profile: str
    checks: tuple[str, ...]  # one line each
    more: int  # failing checks left out of ``checks``
    fix: tuple[str, ...]  # the lines of the fixes, deduplicated
    report_url: str | None

    @property
    def count(self) -> int:
        return len(self.checks) + self.more


def _line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= LINE_CHARS else flat[: LINE_CHARS - 1] + "…"


def refusal(
    image: str, document: dict[str, Any], report_url: str | None, max_checks: int = 5
) -> Refusal:
    """The refusal for an incompatible verdict in ``document`` (the service's answer)."""
    report = document.get("report") or {}
    findings = [f for f in report.get("findings") or () if f.get("status") == "fail"]
    checks = tuple(
        _line(f"{f.get('title') or f.get('id')}: {f.get('message') or 'failed'}")
        for f in findings[:max_checks]
    )
    fix: list[str] = []
    for finding in findings:
        for line in str(finding.get("fix") or "").splitlines():
            if line.strip() and line not in fix:
                fix.append(line.rstrip())
    profile = str(report.get("profile") or document.get("profile") or "")
    return Refusal(
        image, profile, checks, max(0, len(findings) - max_checks), tuple(fix), report_url
    )


def _fix_lines(found: Refusal) -> list[str]:
    lines = list(found.fix[:FIX_LINES])
    if len(found.fix) > FIX_LINES:
        lines.append(f"… {len(found.fix) - FIX_LINES} more lines in the report")
    return lines


def _headline(found: Refusal) -> str:
    problems = "a problem" if found.count == 1 else f"{found.count} problems"
    judged = f" (profile {found.profile})" if found.profile else ""
    return (
        f"The image {found.image} cannot be used on this hub: "
        f"the image validator found {problems}{judged}."
    )


def as_text(found: Refusal) -> str:
    lines = [_headline(found)]
    lines += [f"- {check}" for check in found.checks]
    if found.more:
        lines.append(f"- … and {found.more} more")
    if found.fix:
        lines.append("How to fix it (Dockerfile):")
        lines += [f"    {line}" for line in _fix_lines(found)]
    if found.report_url:
        lines.append(f"Report: {found.report_url}")
    return "\n".join(lines)


def as_html(found: Refusal) -> str:
    """Phrasing content only: the hub puts it inside a ``<p>`` of its failure page."""
    esc = html.escape
    lines = [esc(_headline(found))]
    lines += [f"• {esc(check)}" for check in found.checks]
    if found.more:
        lines.append(f"• … and {found.more} more")
    if found.fix:
        lines.append("How to fix it (Dockerfile):")
        lines += [
            f'<code style="white-space: pre">{esc(line)}</code>' for line in _fix_lines(found)
        ]
    if found.report_url:
        lines.append(f'<a href="{esc(found.report_url, quote=True)}">The full report</a>')
    return "<br>\n".join(lines)
