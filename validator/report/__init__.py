"""Renderers: reports in, one document out. Nothing here runs a check or decides a
verdict; the Report owns that.

Every format is one function ``(Sequence[Report], RenderOptions) -> str`` registered in
``FORMATS``; the document has no trailing newline (the writer adds one). To add a format,
write its module with a ``render`` function and add one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from validator.choices import STDOUT_FORMATS
from validator.findings import Report
from validator.report import json, junit, sarif, text
from validator.report.common import RenderOptions
from validator.report.github import annotations as github_annotations
from validator.report.github import summary as github_summary

Renderer = Callable[[Sequence[Report], RenderOptions], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json.render,
    "github": github_annotations.render,
    "junit": junit.render,
    "summary": github_summary.render,
    "sarif": sarif.render,
}


def render(reports: Sequence[Report], fmt: str, options: RenderOptions | None = None) -> str:
    """``reports`` in format ``fmt`` (a key of FORMATS)."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    return renderer(reports, options or RenderOptions())


__all__ = ["FORMATS", "STDOUT_FORMATS", "RenderOptions", "Renderer", "render"]
