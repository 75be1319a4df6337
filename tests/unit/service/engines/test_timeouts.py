"""The task limits come from the profiles' timeouts and the validator's waits."""

from __future__ import annotations

from validator.options import Options
from validator.profiles import list_profiles, load_profile
from validator.service.engines import timeouts
from validator.service.jobs import SERVICE_OPTIONS


def test_one_validation_is_bounded_by_its_profiles_waits() -> None:
    profile = load_profile("dockerspawner").with_overrides()
    options = Options(max_wait=300.0, stable_window=10.0)
    # start_timeout 60 (the pull included) + 3 steps of min(http_timeout 30, 300) + 10.
    assert timeouts.longest_validation(profile, options) == 60 + 3 * 30 + 10


def test_max_wait_caps_a_profile_whose_hub_waits_for_hours() -> None:
    j4n = load_profile("jupyter4nfdi")
    assert j4n.http_timeout == 7200
    assert timeouts.longest_validation(j4n, Options(max_wait=300.0, stable_window=10.0)) == (
        j4n.start_timeout + 3 * 300 + 10
    )


def test_the_longest_profile_sets_every_limit_in_order() -> None:
    profiles = list_profiles()
    limits = timeouts.derive(profiles, SERVICE_OPTIONS)
    longest = max(timeouts.longest_validation(p, SERVICE_OPTIONS) for p in profiles)
    assert limits.hard_s == longest + timeouts.MARGIN_S
    assert limits.soft_s < limits.hard_s < limits.visibility_s
    # A message must never come back from Redis while its first worker may still run it.
    assert limits.visibility_s >= 2 * limits.hard_s


def test_a_longer_profile_raises_the_limits() -> None:
    base = load_profile("z2jh")
    slow = base.model_copy(update={"start_timeout": base.start_timeout + 1000})
    assert timeouts.derive([base, slow], SERVICE_OPTIONS).hard_s == (
        timeouts.derive([base], SERVICE_OPTIONS).hard_s + 1000
    )
