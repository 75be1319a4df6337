"""Which TCP sockets listen inside a container, read from /proc/net/tcp{,6}.

Reading the kernel's table needs only ``cat`` in the image, no netstat or ss.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

_LISTEN = "0A"
# Docker's embedded DNS resolver listens here in every container on a user network.
_DOCKER_DNS = "127.0.0.11"


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    uid: int

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port} (uid {self.uid})"


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6 is four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """Listening sockets from the concatenated contents of /proc/net/tcp and tcp6."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] == "sl" or fields[3] != _LISTEN:
            continue
        hex_addr, _, hex_port = fields[1].partition(":")
        try:
            listener = Listener(_address(hex_addr), int(hex_port, 16), int(fields[7]))
        except ValueError:
            continue
        if listener.address != _DOCKER_DNS:
            found.append(listener)
    return found
