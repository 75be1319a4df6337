"""jupyterhub-image-validator: will a JupyterHub be able to spawn this image?

The data flows one way: reference -> profile -> image -> checks -> findings -> report.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from validator.findings import Finding, Report, Status, Verdict
    from validator.profiles import Profile, load_profile
    from validator.reference import ImageRef, parse_reference

# Resolved on first use (PEP 562): every ``validator.*`` import runs this file, and the
# profiles pull in pydantic, which ``validate-image --version`` must not pay for.
_LAZY = {
    "Finding": "validator.findings",
    "Report": "validator.findings",
    "Status": "validator.findings",
    "Verdict": "validator.findings",
    "Profile": "validator.profiles",
    "load_profile": "validator.profiles",
    "ImageRef": "validator.reference",
    "parse_reference": "validator.reference",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'validator' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "Finding",
    "ImageRef",
    "Profile",
    "Report",
    "Status",
    "Verdict",
    "__version__",
    "load_profile",
    "parse_reference",
]
