"""What an image (or a container) has at a path, read from the engine's archive API.

Nothing of the image runs and no shell is needed in it: the engine streams a tar of
the path (``docker cp``'s source). An image is untrusted, so the stream is read with
a bound on entries and bytes; a directory of gigabytes costs at most that bound.
"""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import docker.errors
from docker.models.containers import Container

__all__ = ["Entry", "Listing", "list_path", "read_listing"]

MAX_ENTRIES = 200
MAX_BYTES = 8 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Entry:
    """One archive member, its path relative to the listed directory ('' for itself)."""

    path: str
    is_dir: bool
    size: int
    uid: int
    gid: int
    mode: int  # permission bits with setuid/setgid/sticky

    @property
    def owner(self) -> str:
        return f"{self.uid}:{self.gid}"

    @property
    def octal_mode(self) -> str:
        return f"{self.mode & 0o7777:04o}"


@dataclass(frozen=True)
class Listing:
    """The directory itself (``root``), what is under it, and whether that is all of it."""

    root: Entry | None
    entries: tuple[Entry, ...]
    complete: bool


class _Exhausted(Exception):
    """The byte bound was reached."""


class _BoundedStream:
    """A read-only file over byte chunks that stops at ``limit`` bytes."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            if len(chunk) > self._left:
                raise _Exhausted
            self._left -= len(chunk)
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def read_listing(
    chunks: Iterable[bytes], *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
) -> Listing:
    """The members of a tar stream, reading no more than the bounds allow."""
    root: Entry | None = None
    entries: list[Entry] = []
    complete = True
    # The first member is the directory itself ("." for "<path>/.", else its base name);
    # the others are named below it.
    base: str | None = None
    try:
        with tarfile.open(fileobj=_BoundedStream(chunks, max_bytes), mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                name = member.name.rstrip("/")
                if base is None and member.isdir():
                    base = name + "/"
                    root = Entry("", True, 0, member.uid, member.gid, member.mode)
                    continue
                if base is not None:
                    name = name.removeprefix(base)
                entry = Entry(
                    name, member.isdir(), member.size, member.uid, member.gid, member.mode
                )
                if len(entries) == max_entries:
                    complete = False
                    break
                entries.append(entry)
    except (_Exhausted, tarfile.TarError):
        complete = False
    return Listing(root, tuple(entries), complete)


def list_path(
    container: Container,
    path: str,
    *,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
) -> Listing | None:
    """What ``container`` (created, not necessarily started) has at ``path``; None if nothing.

    Symbolic links on the way are followed, as a mount at that path would follow them.
    """
    # "/." archives what the directory holds, through a link if the path is one.
    try:
        stream, _ = container.get_archive(path.rstrip("/") + "/.", chunk_size=_CHUNK)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        if "not a directory" not in str(exc):
            raise
        # A file where a directory is mounted: the listing is that one file.
        stream, _ = container.get_archive(path, chunk_size=_CHUNK)
    try:
        return read_listing(stream, max_entries=max_entries, max_bytes=max_bytes)
    finally:
        # Dropping the generator closes its HTTP response: the engine stops sending.
        with contextlib.suppress(Exception):
            stream.close()
