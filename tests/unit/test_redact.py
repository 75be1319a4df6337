"""Credentials in URLs: hidden in one value and anywhere inside a text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validator.redact import MASK, has_userinfo, redact_text, redact_url

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://user:token@registry.example.com/img:tag",
            "https://***@registry.example.com/img:tag",
        ),
        ("http://token@localhost:5000/img", "http://***@localhost:5000/img"),
        # an unencoded '@' or '/' in the password: everything up to the last '@' goes
        ("https://u:p@ss@host/x", "https://***@host/x"),
        ("https://AKIA:ab/cd+ef@host/img", "https://***@host/img"),
        ("user:token@registry.example.com/img:tag", "***@registry.example.com/img:tag"),
        ("token@ghcr.io/org/img", "***@ghcr.io/org/img"),
        (f"https://u:p@host/img@{DIGEST}", f"https://***@host/img@{DIGEST}"),
    ],
)
def test_credentials_are_hidden(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert has_userinfo(url)


@pytest.mark.parametrize(
    "url",
    [
        "ubuntu",
        "docker.io/library/ubuntu:24.04",
        f"ubuntu@{DIGEST}",
        f"https://registry.example.com/team/img@{DIGEST}",
        "https://hooks.example.com/notify?to=me@example.com",
        "localhost:5000/img:1",
        "",
    ],
)
def test_urls_without_credentials_are_unchanged(url: str) -> None:
    assert redact_url(url) == url
    assert not has_userinfo(url)


def test_every_url_inside_a_text_is_redacted() -> None:
    text = "invalid image reference 'https://u:s3cret@h/x': bad; retry http://t0ken@h2/y failed"
    out = redact_text(text)
    assert "s3cret" not in out and "t0ken" not in out
    assert out == "invalid image reference 'https://***@h/x': bad; retry http://***@h2/y failed"


def test_a_long_hostile_text_is_scanned_in_linear_time() -> None:
    # Letters and dots (each dot a place a scheme could start) and many '://' without '@'.
    text = "a." * 200_000 + "a://" * 50_000 + "@" + ("x@" + DIGEST) * 2_000
    began = time.perf_counter()
    redact_text(text)
    redact_url(text)
    # Quadratic scanning would take minutes here; linear takes well under a second.
    assert time.perf_counter() - began < 10


secrets = st.text(
    alphabet=st.characters(
        codec="ascii", categories=("L", "N"), include_characters="-._~!$&()*+,;=%"
    ),
    min_size=4,
    max_size=40,
)
hosts = st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z]{2,5}){0,2}(:[0-9]{1,5})?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(user=secrets, password=secrets, host=hosts, prefix=st.text(max_size=30))
def test_no_secret_survives_in_any_surrounding_text(
    user: str, password: str, host: str, prefix: str
) -> None:
    url = f"https://{user}:{password}@{host}/team/img:1"
    out = redact_text(f"{prefix} {url} and more")
    assert f"https://{MASK}@{host}/team/img:1" in out
    assert f"{user}:{password}" not in out
