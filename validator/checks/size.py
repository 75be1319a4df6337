"""Image size against the profile's budget."""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile


def check_image_size(image: ImageInfo, profile: Profile) -> Finding:
    size_mb = image.size_bytes / 1_000_000
    shown = f"{size_mb:,.0f} MB (budget {profile.size_budget_mb:,} MB)"
    if size_mb > profile.size_budget_mb:
        return IMAGE_SIZE.warned(f"image is {shown}")
    return IMAGE_SIZE.passed(f"image is {shown}")


IMAGE_SIZE = Check(
    id="image-size",
    title="The image is small enough to pull within the start timeout",
    stage=Stage.STATIC,
    detection="Reads the image size and compares it with the profile's size_budget_mb.",
    cause=(
        "Each node pulls the image on first spawn; a large image can exceed the "
        "spawner's start_timeout (60 s, 300 s on z2jh) and the spawn fails."
    ),
    fix=(
        "Slim the image: multi-stage builds, pip/conda --no-cache, remove build tools; "
        "or ask the platform to pre-pull it."
    ),
    evidence=("jupyterhub#2083",),
    probe=check_image_size,
)
