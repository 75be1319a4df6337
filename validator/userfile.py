"""Reading a file a user named, without trusting the name.

A path on a command line or in a profile may name anything: a FIFO that never sends,
``/dev/zero``, a directory, a file of secrets. Such a file is read only when it is a
regular file of at most the caller's limit; the check is made before the open (a FIFO
or a device is never opened) and again on the opened file (a FIFO swapped in between
cannot block the read either). Callers word the error; the reason never quotes the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(ValueError):
    """Why a file was not read, in words for an error message (``it is a directory``)."""


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, else UnreadableFile."""
    try:
        info = os.stat(path)
        _check_kind(info.st_mode)
        if info.st_size > max_bytes:
            raise UnreadableFile(f"it is larger than {_size(max_bytes)}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as stream:
            _check_kind(os.fstat(stream.fileno()).st_mode)
            raw = stream.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or type(exc).__name__) from None
    if len(raw) > max_bytes:
        raise UnreadableFile(f"it is larger than {_size(max_bytes)}")
    return raw


def _check_kind(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise UnreadableFile(f"it is {kind}")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n >> 10} KiB"
