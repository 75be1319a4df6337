"""How to run a validation, as opposed to what to validate against (the Profile).

Each knob carries its description next to its default, and the enumerated ones are
``Literal`` types whose values also feed the command line's ``click.Choice``, so the
CLI, mypy and the library agree on one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from validator.registry.client import RegistryAccess

PullPolicy = Literal["always", "missing", "never"]
ProgressMode = Literal["bar", "lines", "none"]

PULL_POLICIES: tuple[str, ...] = get_args(PullPolicy)
PROGRESS_MODES: tuple[str, ...] = get_args(ProgressMode)


def _no_login() -> RegistryAccess:
    # Imported here: the registry client needs requests, and the CLI reads this module
    # (for the option help) before it knows whether a registry is involved.
    from validator.registry.client import RegistryAccess

    return RegistryAccess()


def _about(description: str) -> dict[str, str]:
    return {"description": description}


@dataclass(frozen=True)
class Options:
    pull: PullPolicy = field(
        default="missing",
        metadata=_about("When to pull: always, only when the image is not local, or never."),
    )
    keep: bool = field(
        default=False, metadata=_about("Leave containers and networks behind for debugging.")
    )
    static_only: bool = field(
        default=False, metadata=_about("Stop after the static and exec checks (no server start).")
    )
    allow_egress: bool = field(
        default=False, metadata=_about("Let the candidate reach the internet.")
    )
    stable_window: float = field(
        default=10.0,
        metadata=_about(
            "Seconds after its first answer the server must keep running; the other "
            "probes run inside this window."
        ),
    )
    max_wait: float = field(
        default=300.0,
        metadata=_about(
            "The longest the validator waits for one step (the version command, the first "
            "answer, a kernel), whatever the profile's http_timeout allows."
        ),
    )
    registry: RegistryAccess = field(
        default_factory=_no_login,
        metadata=_about("Registry login, CA certificate and plain-HTTP hosts."),
    )
    no_cache: bool = field(
        default=False,
        metadata=_about("Validate again even when a result is cached (the new result is stored)."),
    )
    progress: ProgressMode = field(
        default="none", metadata=_about("Pull progress on stderr: a bar, lines, or none.")
    )


def describe(name: str) -> str:
    """The description declared next to the default of ``Options.<name>``."""
    return str(Options.__dataclass_fields__[name].metadata["description"])


def wait_limit(http_timeout: float, options: Options) -> float:
    """How long the validator waits for a step the hub would give ``http_timeout``."""
    return min(float(http_timeout), options.max_wait)
