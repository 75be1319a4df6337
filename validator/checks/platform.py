"""Does the image run on the hub's nodes at all?"""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile


def _normalise(platform: str) -> tuple[str, str]:
    parts = platform.lower().split("/")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(parts[1], parts[1])
    return parts[0], arch


def check_platform(image: ImageInfo, profile: Profile) -> Finding:
    if _normalise(image.platform) == _normalise(profile.platform):
        return PLATFORM.passed(f"image is {image.platform}")
    return PLATFORM.failed(
        f"image is {image.platform}, the hub runs {profile.platform}",
        fix=f"Rebuild with: docker buildx build --platform {profile.platform} ...",
    )


PLATFORM = Check(
    id="platform",
    title="OS and architecture match the hub's nodes",
    stage=Stage.STATIC,
    detection="Compares the image's Os/Architecture/Variant with the profile's platform (linux/amd64 by default).",
    cause="An image built for another architecture dies at once with 'exec format error'.",
    fix="Build for the hub's platform: docker buildx build --platform linux/amd64 ...",
    evidence=("z2jh#2253", "z2jh#2844", "docker-stacks#842"),
    blocks="the image cannot run on this platform",
    probe=check_platform,
)
