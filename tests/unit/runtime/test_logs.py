"""The bounded window a container's output is kept in (validator.runtime.logs)."""

from __future__ import annotations

from validator.runtime.logs import LogWindow


def test_short_output_is_kept_whole() -> None:
    window = LogWindow(head=16, tail=32)
    window.feed(b"hello\n")
    window.feed(b"world\n")
    assert window.text() == "hello\nworld\n"
    assert window.total == 12


def test_a_flood_keeps_only_its_head_and_tail() -> None:
    window = LogWindow(head=64, tail=256)
    window.feed(b"first line\n")
    for _ in range(100_000):
        window.feed(b"x" * 99 + b"\n")
    window.feed(b"last words\n")
    text = window.text()
    assert window.total == 11 + 100_000 * 100 + 11
    assert text.startswith("first line\n")
    assert text.endswith("last words\n")
    assert "bytes of output not kept" in text
    # head + tail + the marker line: nothing else of the 10 MB
    assert len(text) < 64 + 256 + 80


def test_the_kept_tail_starts_at_a_line() -> None:
    window = LogWindow(head=4, tail=20)
    window.feed(b"head")
    window.feed(b"aaaaaaaaaa\nbbbb\nccccc\n")
    tail = window.text().split("not kept ...]\n", 1)[1]
    assert tail == "bbbb\nccccc\n"


def test_a_chunk_larger_than_the_tail_is_cut() -> None:
    window = LogWindow(head=0, tail=10)
    window.feed(b"0123456789abcdefghij")
    assert window.text().endswith("abcdefghij")


def test_a_watched_string_split_across_chunks_is_seen() -> None:
    window = LogWindow(head=8, tail=8)
    window.watch("is running at")
    window.feed(b"Jupyter Server is run")
    assert not window.seen("is running at")
    window.feed(b"ning at http://x/")
    assert window.seen("is running at")


def test_a_watched_string_in_the_skipped_middle_is_still_seen() -> None:
    window = LogWindow(head=8, tail=8)
    window.watch("banner")
    window.feed(b"x" * 1000)
    window.feed(b"the banner")
    window.feed(b"y" * 1000)
    assert "banner" not in window.text()
    assert window.seen("banner")


def test_watching_late_looks_at_what_is_kept() -> None:
    window = LogWindow()
    window.feed(b"Jupyter Server 2.14 is running at http://0.0.0.0:8888/\n")
    assert window.seen("is running at")
    assert not window.seen("never printed")


def test_output_that_is_not_utf8_is_replaced() -> None:
    window = LogWindow()
    window.feed(b"\xff\xfe ok\n")
    assert window.text().endswith(" ok\n")
