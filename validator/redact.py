"""Credentials typed into a URL, hidden before the URL is shown anywhere.

Users paste ``https://user:token@registry.example.com/img:tag`` into an image field or a
``--registry`` flag, and services store callback URLs with a secret in them. Every error,
report and log line that quotes such a URL passes it through here first, so the userinfo
(the user name too: registries accept a token as the user name) reads ``***``.

Pure functions with no imports from the rest of the package, so every layer (reference
parsing, the CLI, the service) can use them. They scan in linear time: the service feeds
them text from requests.
"""

from __future__ import annotations

import re

MASK = "***"

# Bounded so a long run of letters and dots without '://' costs linear time to search.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://")
# Where a URL's userinfo can no longer go on. '/' is not among them: base64 secrets (AWS
# keys) contain it and users paste them unencoded. '?' and '#' are: query strings carry
# addresses (``?to=me@example.com``) far more often than a password an unencoded '?'.
_TOKEN_END = re.compile(r"[\s?#'\"<>`]")
# ``img@sha256:<hex>``: this '@' belongs to an image reference, it ends no userinfo.
_DIGEST = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._-]{0,31}:[0-9A-Fa-f]{32,}")


def _userinfo_end(text: str, start: int, end: int) -> int | None:
    """The last '@' in text[start:end] that is not a digest's, or None."""
    at = text.rfind("@", start, end)
    while at != -1:
        if not _DIGEST.match(text, at + 1):
            return at
        at = text.rfind("@", start, at)
    return None


def redact_text(text: str) -> str:
    """Every ``scheme://user[:password]@`` in ``text`` becomes ``scheme://***@``."""
    out: list[str] = []
    pos = 0
    while (scheme := _SCHEME.search(text, pos)) is not None:
        start = scheme.end()
        stop = _TOKEN_END.search(text, start)
        end = stop.start() if stop else len(text)
        at = _userinfo_end(text, start, end)
        if at is None:
            out.append(text[pos:end])
            pos = end
        else:
            out.append(text[pos:start] + MASK)
            pos = at
    out.append(text[pos:])
    return "".join(out)


def redact_url(url: str) -> str:
    """One URL or image reference with its credentials hidden, with or without a scheme.

    Without a scheme, ``x@rest`` is taken as credentials when ``x`` carries a password
    (``user:token@``) or ``rest`` names a host and path (``token@host/img``); a digest
    after the '@' (``img@sha256:...``) is kept.
    """
    if _SCHEME.search(url):
        return redact_text(url)
    stop = _TOKEN_END.search(url)
    at = _userinfo_end(url, 0, stop.start() if stop else len(url))
    if at is None:
        return url
    userinfo, rest = url[:at], url[at + 1 :]
    if ":" in userinfo or "/" in rest or "." in rest.partition("/")[0]:
        return f"{MASK}@{rest}"
    return url


def has_userinfo(url: str) -> bool:
    """Whether ``url`` carries credentials that ``redact_url`` would hide."""
    return redact_url(url) != url
