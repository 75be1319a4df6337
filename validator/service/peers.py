"""Which address a request comes from, for rate limits and lock-outs.

``X-Forwarded-For`` is whatever the sender wrote, so it is believed only when the
peer is a configured trusted proxy (``JHIV_SERVICE_TRUSTED_PROXIES``). Each proxy appends
the address it received from, so the list is read from the right: trusted proxies are
skipped and the first address no trusted proxy holds is the client. Entries to its left
were written by that client and mean nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from validator.service.settings import Network

# A rate-limit key made of an entry we could not parse is cut to this length.
SHOWN = 64


def _address(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = entry.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in proxies)


def source(peer: str | None, forwarded: Iterable[str], proxies: Sequence[Network]) -> str:
    """The client's address: the peer's own unless the peer is a trusted proxy."""
    address = peer or "-"
    if not proxies or not _trusted(address, proxies):
        return address
    entries = [e.strip() for header in forwarded for e in header.split(",") if e.strip()]
    for entry in reversed(entries):
        if not _trusted(entry, proxies):
            parsed = _address(entry)
            return str(parsed) if parsed is not None else entry[:SHOWN]
    # Every hop is one of ours (a health check from the proxy itself): its left-most.
    return str(_address(entries[0])) if entries else address
