"""pull-time: the pull estimate and the thresholds against start_timeout (pure logic)."""

from __future__ import annotations

import pytest

from validator.checks.runtime.pull_time import (
    COMPRESSION_RATIO,
    WARN_SHARE,
    PullEstimate,
    estimate_pull,
    judge,
)
from validator.findings import Status
from validator.image import ImageInfo
from validator.profiles import Profile, load_profile

J4N = load_profile("jupyter4nfdi")  # pull always, 200 Mbit/s, start_timeout 600
DOCKERSPAWNER = load_profile("dockerspawner")  # if-not-present, 100 Mbit/s, 60 s


def image(size: int, compressed: int | None = None) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "0" * 64,
        os="linux",
        architecture="amd64",
        size_bytes=size,
        compressed_bytes=compressed,
    )


def with_(profile: Profile, **fields: object) -> Profile:
    return profile.model_copy(update=fields)


def test_registry_sizes_give_the_pull_at_the_profile_bandwidth() -> None:
    # 1 GB at 200 Mbit/s = 8e9 bits / 2e8 bit/s = 40 s.
    pull = estimate_pull(image(3_000_000_000, compressed=1_000_000_000), 200)
    assert pull.from_registry
    assert pull.compressed_bytes == 1_000_000_000
    assert pull.seconds == pytest.approx(40.0)


def test_a_local_image_is_estimated_from_its_unpacked_size() -> None:
    pull = estimate_pull(image(1_000_000_000), 100)
    assert not pull.from_registry
    assert pull.compressed_bytes == round(1_000_000_000 * COMPRESSION_RATIO)
    assert pull.seconds == pytest.approx(1_000_000_000 * COMPRESSION_RATIO * 8 / 1e8)


def test_well_inside_the_timeout_passes_and_says_who_pays() -> None:
    finding = judge(PullEstimate(1_000_000_000, 40.0, True, 3_000_000_000), 10.0, J4N)
    assert finding.status is Status.PASS
    assert (
        "pull 40 s (1,000 MB compressed at 200 Mbit/s) + container start 10.0 s = 50 s"
        in finding.message
    )
    assert "600 s start timeout" in finding.message
    assert "every start pays the pull" in finding.message


def test_above_half_the_timeout_warns() -> None:
    seconds = WARN_SHARE * 600 + 1
    finding = judge(PullEstimate(5_000_000_000, seconds, True), 5.0, J4N)
    assert finding.status is Status.WARN
    assert "more than 50% of the start timeout" in finding.message
    assert finding.fix and "pre-pull" in finding.fix


def test_over_the_timeout_with_registry_sizes_fails() -> None:
    finding = judge(PullEstimate(20_000_000_000, 800.0, True), 10.0, J4N)
    assert finding.status is Status.FAIL
    assert finding.message.startswith("over the start timeout")


def test_over_the_timeout_on_an_estimate_only_warns_and_says_estimated() -> None:
    finding = judge(PullEstimate(2_000_000_000, 160.0, False, 5_000_000_000), 5.0, DOCKERSPAWNER)
    assert finding.status is Status.WARN
    assert finding.message.startswith("estimated over the start timeout")
    assert "pull estimated at 160 s" in finding.message
    assert "5,000 MB unpacked size" in finding.message
    assert "only the first start on each node pays the pull" in finding.message


def test_pull_policy_never_judges_the_start_alone() -> None:
    profile = with_(DOCKERSPAWNER, pull_policy="never")
    assert judge(PullEstimate(10**10, 999.0, True), 5.0, profile).status is Status.PASS
    slow = judge(PullEstimate(10**10, 999.0, True), 61.0, profile)
    assert slow.status is Status.FAIL
    assert "no pull" in slow.message


def test_the_boundary_is_strictly_above() -> None:
    # Exactly half warns only above it; exactly the timeout fails only above it.
    assert judge(PullEstimate(1, 290.0, True), 10.0, J4N).status is Status.PASS
    assert judge(PullEstimate(1, 590.0, True), 10.0, J4N).status is Status.WARN
