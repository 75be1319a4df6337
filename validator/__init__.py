"""jupyterhub-image-validator: will a JupyterHub be able to spawn this image?

The data flows one way: reference -> profile -> image -> checks -> findings -> report.
"""

from validator.findings import Finding, Report, Status, Verdict
from validator.profiles import Profile, load_profile
from validator.reference import ImageRef, parse_reference

__version__ = "0.1.0"

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
