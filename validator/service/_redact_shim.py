"""Stand-in for ``validator.redact`` until that module lands (same signatures).

Credentials typed into a URL (``https://user:pass@host/...``) must not reach a log line,
an error message or an API answer. Only the service imports from here; the shared module
replaces this file when both are merged.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# "scheme://userinfo@" anywhere in a text; userinfo stops at the first character a URL's
# authority cannot hold before the "@".
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#'\"<>]+@")
SHOWN = "***"


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` replaced by ``***@``; other parts as given."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unparseable URL is still text: fall back to the pattern
        return redact_text(url)
    if "@" not in parts.netloc:
        return redact_text(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{SHOWN}@{host}"))


def redact_text(text: str) -> str:
    """``text`` with the userinfo of every URL in it replaced by ``***``."""
    return _USERINFO.sub(rf"\1{SHOWN}@", text)
