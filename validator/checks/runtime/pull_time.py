"""Does the spawner's start timeout cover the pull and the container's start?

JupyterHub's start_timeout is "the timeout for start to return, not the timeout for the
server to respond" (Spawner.start_timeout): DockerSpawner's and KubeSpawner's start
return once the image is pulled and the container runs. The time to the first answer
counts against http_timeout, which startup-time judges. The pull is estimated (a node's
bandwidth is the profile's assumption, not a measurement); the container start is
measured on the candidate. ``estimate_pull`` and ``judge`` are pure, so the arithmetic
and the thresholds are unit-tested without an engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker.errors
import requests

from validator.checks.base import Check, Stage
from validator.checks.runtime import RuntimeContext
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile

# Above this share of start_timeout a slower node or a busier registry is enough to
# fail the spawn; the warning leaves room for both.
WARN_SHARE = 0.5
# Compressed / unpacked size for an image the registry was not asked about: an assumption
# (jhiv-test/good, Debian with a JupyterLab venv, gzips to 0.35), so a result built on it
# never fails and always says it is estimated.
COMPRESSION_RATIO = 0.4


@dataclass(frozen=True)
class PullEstimate:
    """What a node downloads for this image, and how long that takes at the profile's rate."""

    compressed_bytes: int
    seconds: float
    from_registry: bool  # the manifest's layer sizes, or estimated from the unpacked size
    unpacked_bytes: int = 0


def estimate_pull(image: ImageInfo, bandwidth_mbps: float) -> PullEstimate:
    """The pull's size and duration at ``bandwidth_mbps`` (megabits per second)."""
    if image.compressed_bytes is not None:
        size, exact = image.compressed_bytes, True
    else:
        size, exact = round(image.size_bytes * COMPRESSION_RATIO), False
    seconds = size * 8 / (bandwidth_mbps * 1e6)
    return PullEstimate(size, seconds, exact, image.size_bytes)


def _mb(count: int) -> str:
    return f"{count / 1e6:,.0f} MB"


def _pull_text(pull: PullEstimate, profile: Profile) -> str:
    rate = f"{profile.pull_bandwidth_mbps:g} Mbit/s"
    if pull.from_registry:
        return f"pull {pull.seconds:.0f} s ({_mb(pull.compressed_bytes)} compressed at {rate})"
    return (
        f"pull estimated at {pull.seconds:.0f} s ({_mb(pull.compressed_bytes)}: "
        f"{COMPRESSION_RATIO:g} x the {_mb(pull.unpacked_bytes)} unpacked size, at {rate}; "
        "the registry's layer sizes were not known)"
    )


def _who_pays(profile: Profile) -> str:
    if profile.pull_policy == "always":
        return "pull policy always: every start pays the pull"
    return "pull policy if-not-present: only the first start on each node pays the pull"


def judge(pull: PullEstimate, start_s: float, profile: Profile) -> Finding:
    """Pull + measured container start against ``profile.start_timeout``.

    Over the timeout fails when the sizes are the registry's; an estimate from the
    unpacked size only warns, since the ratio may be far off for this image.
    """
    limit = profile.start_timeout
    if profile.pull_policy == "never":
        total = start_s
        text = (
            f"container start {start_s:.1f} s of the {limit} s start timeout "
            "(pull policy never: no pull)"
        )
    else:
        total = pull.seconds + start_s
        text = (
            f"{_pull_text(pull, profile)} + container start {start_s:.1f} s = {total:.0f} s "
            f"of the {limit} s start timeout ({_who_pays(profile)})"
        )
    if total > limit:
        if pull.from_registry or profile.pull_policy == "never":
            return PULL_TIME.failed(f"over the start timeout: {text}")
        return PULL_TIME.warned(f"estimated over the start timeout: {text}")
    if total > WARN_SHARE * limit:
        return PULL_TIME.warned(f"more than {WARN_SHARE:.0%} of the start timeout: {text}")
    return PULL_TIME.passed(text)


def _image(ctx: RuntimeContext) -> ImageInfo | None:
    if ctx.image is not None:
        return ctx.image
    # Without validate()'s ImageInfo, the engine still knows the unpacked size.
    try:
        ctx.candidate.container.reload()
        image_id = ctx.candidate.container.attrs["Image"]
        attrs = ctx.candidate.container.client.api.inspect_image(image_id)
    except (docker.errors.APIError, requests.RequestException, KeyError):
        return None
    return ImageInfo.from_inspect(attrs)


def probe_pull_time(ctx: RuntimeContext) -> Finding:
    image = _image(ctx)
    if image is None:
        return PULL_TIME.skipped("the engine could not say how large the image is")
    # From the request for the container until it runs: what the spawner's start awaits.
    start_s = ctx.candidate.started_at - ctx.spawn_started
    return judge(estimate_pull(image, ctx.profile.pull_bandwidth_mbps), start_s, ctx.profile)


PULL_TIME = Check(
    id="pull-time",
    title="Start timeout covering the pull",
    stage=Stage.RUNTIME,
    detection=(
        "Estimates the pull from the compressed layer sizes in the registry's manifest (for "
        "an image the registry was not asked about: 0.4 x the unpacked size, said so) at the "
        "profile's pull_bandwidth_mbps, adds the measured time to create and start the "
        "container, and compares the sum with start_timeout, which ends when the spawner's "
        "start returns (the first answer is http_timeout's, see startup-time): a warning "
        "above 50 %, a failure above 100 % (a warning when the size was estimated)."
    ),
    cause=(
        "The spawner's start_timeout counts the image pull: a large image on a slow link "
        "makes the spawn fail ('pod ... did not start in 600 seconds', 'User ... is slow to "
        "start' while 'pulling image'). With pull policy always every start pulls; with "
        "if-not-present the first start on each node does, after every image update."
    ),
    fix=(
        "Make the image smaller (multi-stage builds, pip/conda --no-cache, drop build tools "
        "and unused environments), ask the platform to pre-pull it, or raise start_timeout "
        "where you run the hub."
    ),
    evidence=("dockerspawner#293", "2i2c-org/infrastructure#2128", "jupyterhub#2083"),
    needs=("server-starts",),
    probe=probe_pull_time,
)
