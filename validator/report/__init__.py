"""Renderers: one Report in, one document out. Nothing here runs a check or decides a
verdict; the Report owns that.

Every renderer returns the document without a trailing newline (``click.echo`` adds
one). ``render`` picks a stdout format by name; to add one, write ``render_<fmt>`` in
its own module and add it to ``_RENDERERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from validator.findings import Report
from validator.report.github import render_github, render_github_many, render_summary_many
from validator.report.json import SCHEMA_VERSION, render_json, report_to_dict
from validator.report.junit import render_junit, render_junit_many
from validator.report.text import render_text

# Every entry takes (report, color); formats without colour ignore the flag.
Renderer = Callable[[Report, bool], str]


def _json(report: Report, color: bool) -> str:
    return render_json(report)


_RENDERERS: dict[str, Renderer] = {
    "text": render_text,
    "json": _json,
    "github": render_github,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(report: Report, fmt: str, color: bool = False) -> str:
    """``report`` in format ``fmt`` (one of FORMATS)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    return renderer(report, color)


__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "Renderer",
    "render",
    "render_github",
    "render_github_many",
    "render_json",
    "render_junit",
    "render_junit_many",
    "render_summary_many",
    "render_text",
    "report_to_dict",
]
