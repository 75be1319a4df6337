"""How to run a validation, as opposed to what to validate against (the Profile)."""

from __future__ import annotations

from dataclasses import dataclass, field

from validator.registry.client import RegistryAccess


@dataclass(frozen=True)
class Options:
    pull: str = "missing"  # always | missing | never
    keep: bool = False  # leave containers behind for debugging
    static_only: bool = False  # stop after the static and exec checks
    allow_egress: bool = False  # let the candidate reach the internet
    stable_window: float = 3.0  # seconds the server must stay up after it first answered
    registry: RegistryAccess = field(default_factory=RegistryAccess)  # login, CA, HTTP hosts
    no_cache: bool = False  # validate again even when a result is cached (and store it)
    progress: str = "none"  # pull progress on stderr: bar | lines | none
