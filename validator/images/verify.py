"""Validate a built image with the validator itself, for the hub it was built for.

The profile is the chosen deployment (jupyter4nfdi by default) with its hub version
replaced by the image's, so jupyterhub-singleuser is compared with the right hub.
"""

from __future__ import annotations

import docker

from validator.findings import Report
from validator.options import Options
from validator.profiles import load_profile
from validator.validate import validate


def verify(
    client: docker.DockerClient, reference: str, *, hub_version: str, profile_name: str
) -> Report:
    profile = load_profile(profile_name).with_overrides(hub_version=hub_version)
    # The image was just built here: never pull (there may be no registry at all).
    return validate(reference, profile, Options(pull="never"), client=client)
