"""Reading a profile file without trusting it.

A profile path may name anything: a FIFO that never sends, ``/dev/zero``, a directory, a
file of secrets, a billion-laughs document. So a profile is read only when it is a
regular file of at most ``MAX_BYTES``, decoded as strict UTF-8, and parsed by a YAML
loader that refuses anchors and aliases (the expansion a billion-laughs file relies on)
and nesting deeper than ``MAX_DEPTH``. Errors name the path, a line and a reason, never
a piece of the file: the file may be one the user may not show (``/etc/shadow``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from validator.errors import ProfileError
from validator.userfile import UnreadableFile, read_regular

# The built-in profiles are 3-4 kB; a megabyte is far beyond any real one.
MAX_BYTES = 1 << 20
# A profile is a mapping of scalars, lists and one mapping (sources): depth 3.
MAX_DEPTH = 8


@dataclass
class ProfileDocument:
    """A profile's fields and the line each top-level field was written on."""

    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)


def _refuse(path: Path, reason: str) -> ProfileError:
    return ProfileError(f"cannot read profile {str(path)!r}: {reason}")


def read_text(path: Path) -> str:
    """The text of a regular file of at most MAX_BYTES, or a ProfileError."""
    try:
        raw = read_regular(path, MAX_BYTES)
    except UnreadableFile as exc:
        raise _refuse(path, str(exc)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(path, f"it is not UTF-8 text (byte {exc.start})") from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader without anchors or aliases and with a depth limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# A problem text quotes the characters it stumbled on; those are the file's.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|#x[0-9a-f]+")


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
    return f"not valid YAML{at}: {_QUOTED.sub('…', str(problem))}"


def _check_keys(node: Node) -> str | None:
    """The first repeated key in any mapping, as a reason (PyYAML keeps the last)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, ScalarNode):
                    if key.value in seen:
                        return f"a key is repeated at line {key.start_mark.line + 1}"
                    seen.add(key.value)
                stack += [key, value]
        elif isinstance(current, SequenceNode):
            stack += current.value
    return None


def parse(path: Path, text: str) -> ProfileDocument:
    """A mapping of fields from a profile's text, or a ProfileError naming the path."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and (repeated := _check_keys(node)) is not None:
            raise ProfileError(f"profile {str(path)!r} is invalid: {repeated}")
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {str(path)!r} is {_yaml_reason(exc)}") from None
    except (ValueError, OverflowError, TypeError, RecursionError):
        # The constructor's own failures: a 5 000-digit integer, a date like 2024-13-45.
        raise ProfileError(f"profile {str(path)!r} holds a value YAML cannot represent") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProfileError(f"profile {str(path)!r} must be a mapping of fields")
    lines: dict[str, int] = {}
    if isinstance(node, MappingNode):
        for key, _ in node.value:
            if isinstance(key, ScalarNode):
                lines.setdefault(key.value, key.start_mark.line + 1)
    return ProfileDocument(data, lines)


def load(path: Path) -> ProfileDocument:
    """Read and parse one profile file."""
    return parse(path, read_text(path))
