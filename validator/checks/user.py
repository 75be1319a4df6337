"""Which user the server will run as."""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile


def is_root(user: str) -> bool:
    """USER '', 'root', '0' and '0:<gid>' all mean uid 0."""
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def check_image_user(image: ImageInfo, profile: Profile) -> Finding:
    if profile.uid is not None:
        return IMAGE_USER.passed(
            f"the hub runs the container as uid {profile.uid} (image USER is "
            f"{image.user or 'root'!r})"
        )
    if is_root(image.user):
        return IMAGE_USER.warned(
            f"image USER is {image.user or 'unset (root)'!r} and this hub keeps the image USER;"
            " the server must drop privileges itself (the runtime probes show whether it does)",
        )
    return IMAGE_USER.passed(f"image USER is {image.user!r}")


IMAGE_USER = Check(
    id="image-user",
    title="The server does not run as root",
    stage=Stage.STATIC,
    detection="Reads Config.User: warns when it is root and the profile keeps the image USER (the runtime probes then show whether the server drops privileges).",
    cause=(
        "jupyter_server refuses to start as root without --allow-root "
        "('[C] Running as root is not recommended'), and hubs often forbid root."
    ),
    fix=(
        "End the Dockerfile with a non-root user, e.g.\n"
        "  RUN useradd --create-home --uid 1000 --gid 100 jovyan\n"
        "  USER 1000"
    ),
    evidence=("dockerspawner#241", "z2jh#2177", "z2jh PR#2810"),
    probe=check_image_user,
)
