"""Markdown that shows text from an image as itself: escaped inline text, code spans and
fenced blocks that nothing inside them can close early."""

from __future__ import annotations

import re

from validator.report.common import strip_ansi

# Markdown punctuation that could turn text from an image (its CMD, its logs) into
# links, emphasis or table columns; a backslash makes each one literal.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|~])")


def markdown_text(text: str) -> str:
    """``text`` as inline Markdown that renders as itself: no HTML, links or emphasis."""
    text = strip_ansi(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def code(text: str) -> str:
    """An inline code span that holds ``text`` whatever backticks it contains."""
    text = " ".join(strip_ansi(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def block(text: str) -> list[str]:
    """A fenced code block that no line of ``text`` can close early."""
    body = strip_ansi(text).expandtabs(4).strip("\n")
    longest = max((len(run) for run in re.findall(r"`{3,}|~{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *body.splitlines(), fence]
