"""JSON from a request body, with bounds: what a hostile sender can put in valid JSON
must end in a 400 with a short message, not in an exception deep inside the service.

``json.loads`` alone lets through documents that break later: a 5 000-digit integer
(``int`` refuses beyond 4 300 digits, with a ValueError), nesting deep enough to exhaust
the recursion limit, ``NaN``/``Infinity`` (not JSON at all), and ``"\\ud800"``, a lone
surrogate that decodes to a ``str`` no database or response can encode. Each is refused
here, before any field is looked at.
"""

from __future__ import annotations

import json
import math
from typing import Any

from validator.service.events import PayloadError

# Registry payloads nest 4-6 levels; GitHub's package events about 8.
MAX_DEPTH = 32
# Sizes, counts and ids in payloads are at most 20 digits (2^64).
MAX_NUMBER_CHARS = 40


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise PayloadError(
            f"the body holds a number of {len(text)} digits (at most {MAX_NUMBER_CHARS})"
        )
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise PayloadError(
            f"the body holds a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})"
        )
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"the body holds the number {text[:20]}, too large to represent")
    return value


def _constant(name: str) -> Any:
    raise PayloadError(f"the body holds {name}, which is not JSON")


def _check_text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("the body holds a lone surrogate (\\ud800-\\udfff), not text") from None


def check_tree(document: Any, max_depth: int = MAX_DEPTH) -> None:
    """Depth and text of a parsed document, walked without recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > max_depth:
            raise PayloadError(f"the body nests deeper than {max_depth} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def decode(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body, or PayloadError saying in one line why it is refused."""
    if not body.strip():
        raise PayloadError("the body is empty; a JSON document was expected")
    try:
        # JSON between systems is UTF-8 (RFC 8259); json.loads would guess UTF-16/32 too.
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8 text") from None
    try:
        document = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError(f"the body nests deeper than {max_depth} levels") from None
    check_tree(document, max_depth)
    return document
