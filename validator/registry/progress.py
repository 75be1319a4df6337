"""How a pull looks to the person waiting: a bar on a terminal, a few lines in CI.

The engine streams one event per layer step (``Downloading`` with bytes, ``Pull complete``,
``Already exists``, ``Digest: sha256:...``). :class:`PullState` folds them into totals
(pure); the observers only draw those totals.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

_DONE = {"Pull complete", "Already exists"}
_DOWNLOADED = {"Download complete", "Verifying Checksum", "Extracting", *_DONE}


@dataclass
class Layer:
    status: str = ""
    current: int = 0
    total: int = 0
    reused: bool = False


@dataclass
class PullState:
    """Totals of one pull, from the engine's progress events."""

    layers: dict[str, Layer] = field(default_factory=dict)
    digest: str | None = None
    up_to_date: bool = False

    def apply(self, event: dict[str, Any]) -> None:
        status = str(event.get("status") or "")
        if status.startswith("Digest: "):
            self.digest = status.removeprefix("Digest: ").strip()
            return
        if status.startswith("Status: Image is up to date"):
            self.up_to_date = True
            return
        layer_id = event.get("id")
        # Layer ids are short hex; the first "Pulling from" event carries the tag instead.
        if not layer_id or status.startswith("Pulling from"):
            return
        layer = self.layers.setdefault(str(layer_id), Layer())
        layer.status = status
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            layer.current, layer.total = int(detail.get("current") or 0), int(detail["total"])
        elif status in _DOWNLOADED and layer.total:
            layer.current = layer.total
        if status == "Already exists":
            layer.reused = True

    @property
    def layer_count(self) -> int:
        return len(self.layers)

    @property
    def layers_done(self) -> int:
        return sum(1 for layer in self.layers.values() if layer.status in _DONE)

    @property
    def layers_reused(self) -> int:
        return sum(1 for layer in self.layers.values() if layer.reused)

    @property
    def bytes_done(self) -> int:
        return sum(layer.current for layer in self.layers.values())

    @property
    def bytes_total(self) -> int:
        return sum(layer.total for layer in self.layers.values())

    def fraction(self) -> float:
        """Share done: bytes while sizes are known, else finished layers."""
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        return self.layers_done / self.layer_count if self.layers else 0.0


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def summary(name: str, state: PullState, seconds: float) -> str:
    """The one line a finished pull leaves behind."""
    if state.up_to_date:
        what = "up to date"
    elif not state.layers:
        what = "all layers were already here"
    else:
        new = state.layer_count - state.layers_reused
        what = f"{state.layer_count} layers ({new} new, {megabytes(state.bytes_total)})"
    digest = f", {state.digest}" if state.digest else ""
    return f"Pulled {name} in {seconds:.1f} s: {what}{digest}"


def progress_line(name: str, state: PullState, width: int = 24) -> str:
    filled = int(state.fraction() * width)
    bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
    sizes = f" {state.bytes_done / 1e6:.1f}/{megabytes(state.bytes_total)}"
    counts = f"{state.layers_done}/{state.layer_count} layers{sizes if state.bytes_total else ''}"
    return f"Pulling {name} [{bar}] {counts}"


def fit(name: str, state: PullState, columns: int) -> str:
    """The progress line within ``columns``: the name gives way, the counts stay."""
    line = progress_line(name, state)
    excess = len(line) - (columns - 1)
    if excess > 0:
        line = progress_line("..." + name[excess + 3 :], state)
    return line[: columns - 1]


class PullObserver(Protocol):
    def start(self, name: str, platform: str) -> None: ...
    def update(self, state: PullState) -> None: ...
    def finish(self, name: str, state: PullState, seconds: float) -> None: ...
    def abort(self) -> None: ...


class Silent:
    """For library callers: no output (validate() logs the summary)."""

    def start(self, name: str, platform: str) -> None:
        pass

    def update(self, state: PullState) -> None:
        pass

    def finish(self, name: str, state: PullState, seconds: float) -> None:
        pass

    def abort(self) -> None:
        pass


class Lines:
    """CI logs: a line at the start and the end, and one every ``every`` seconds between,
    so a long pull neither floods the log nor looks hung."""

    def __init__(self, stream: TextIO, every: float = 30.0) -> None:
        self.stream = stream
        self.every = every
        self._name = ""
        self._last = 0.0

    def start(self, name: str, platform: str) -> None:
        self._name = name
        self._last = time.monotonic()
        self._write(f"Pulling {name} for {platform}")

    def update(self, state: PullState) -> None:
        now = time.monotonic()
        if now - self._last >= self.every and state.layers:
            self._last = now
            sizes = f", {megabytes(state.bytes_done)} of {megabytes(state.bytes_total)}"
            self._write(
                f"Pulling {self._name}: {state.layers_done}/{state.layer_count} layers"
                + (sizes if state.bytes_total else "")
            )

    def finish(self, name: str, state: PullState, seconds: float) -> None:
        self._write(summary(name, state, seconds))

    def abort(self) -> None:
        pass

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class Bar:
    """A terminal: one line redrawn in place, at most ten times a second."""

    def __init__(self, stream: TextIO, columns: int = 100) -> None:
        self.stream = stream
        self.columns = columns
        self._name = ""
        self._drawn = 0.0

    def start(self, name: str, platform: str) -> None:
        self._name = name
        self.stream.write(f"\r\x1b[K{f'Pulling {name} for {platform}'[: self.columns - 1]}")
        self.stream.flush()

    def update(self, state: PullState) -> None:
        now = time.monotonic()
        if now - self._drawn < 0.1:
            return
        self._drawn = now
        if state.layers:
            self.stream.write(f"\r\x1b[K{fit(self._name, state, self.columns)}")
        self.stream.flush()

    def finish(self, name: str, state: PullState, seconds: float) -> None:
        self.stream.write(f"\r\x1b[K{summary(name, state, seconds)}\n")
        self.stream.flush()

    def abort(self) -> None:
        # Leave the terminal on a fresh line for the error that follows.
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def observer_for(mode: str, stream: TextIO) -> PullObserver:
    """``bar`` (a terminal), ``lines`` (CI, pipes) or ``none``."""
    if mode == "bar":
        return Bar(stream, columns=shutil.get_terminal_size().columns)
    if mode == "lines":
        return Lines(stream)
    return Silent()
