"""Reading an image's directory from a tar stream, within bounds on entries and bytes."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

from validator.runtime.imagefiles import read_listing


def _tar(members: list[tuple[str, int | None]], *, prefix: str = ".") -> bytes:
    """A tar as the engine streams ``<path>/.``: the directory, then its members
    (size None: a directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        root = tarfile.TarInfo(prefix)
        root.type, root.mode, root.uid, root.gid = tarfile.DIRTYPE, 0o2775, 0, 100
        tar.addfile(root)
        for name, size in members:
            info = tarfile.TarInfo(f"{prefix}/{name}")
            if size is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = size
                tar.addfile(info, io.BytesIO(b"x" * size))
    return buffer.getvalue()


class _Chunks:
    """The stream in chunks, counting how much of it was taken."""

    def __init__(self, data: bytes, size: int = 4096) -> None:
        self.data, self.size, self.taken = data, size, 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.size):
            self.taken += self.size
            yield self.data[start : start + self.size]


def test_members_relative_to_the_directory_and_its_root() -> None:
    data = _tar([("README.md", 18), ("examples", None), ("examples/intro.ipynb", 66)])
    listing = read_listing(_Chunks(data))
    assert listing.complete
    assert [(e.path, e.is_dir, e.size) for e in listing.entries] == [
        ("README.md", False, 18),
        ("examples", True, 0),
        ("examples/intro.ipynb", False, 66),
    ]
    assert listing.root is not None
    assert (listing.root.owner, listing.root.octal_mode) == ("0:100", "2775")


def test_an_archive_named_after_the_directory_is_read_the_same() -> None:
    listing = read_listing(_Chunks(_tar([("a.txt", 1)], prefix="work")))
    assert [e.path for e in listing.entries] == ["a.txt"]


def test_an_empty_directory_has_a_root_and_no_entries() -> None:
    listing = read_listing(_Chunks(_tar([])))
    assert listing.complete and listing.entries == () and listing.root is not None


def test_entries_beyond_the_bound_are_not_read() -> None:
    data = _tar([(f"f{i}", 0) for i in range(50)])
    listing = read_listing(_Chunks(data), max_entries=10)
    assert len(listing.entries) == 10 and not listing.complete


def test_a_huge_file_stops_the_read_at_the_byte_bound() -> None:
    data = _tar([("big.bin", 4 * 1024 * 1024), ("after.txt", 1)])
    chunks = _Chunks(data)
    listing = read_listing(chunks, max_bytes=256 * 1024)
    assert not listing.complete
    assert [e.path for e in listing.entries] == ["big.bin"]  # named before its data is read
    assert chunks.taken <= 256 * 1024 + chunks.size


def test_a_truncated_stream_is_incomplete_not_an_error() -> None:
    data = _tar([("a", 10_000), ("b", 1)])
    listing = read_listing(_Chunks(data[:3000]))
    assert not listing.complete
