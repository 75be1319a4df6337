"""What a job runs with: the profile, the options and the login, and the key under which
its result is stored (the result cache's: digest + effective profile and options +
validator version, so a digest is validated once per profile)."""

from __future__ import annotations

from functools import lru_cache

from validator import __version__
from validator.cache import CacheKey
from validator.options import Options
from validator.profiles import Profile, load_profile
from validator.registry.client import RegistryAccess
from validator.registry.credentials import Credentials
from validator.service.store import WatchAccess

# Validations by digest: a local copy with that digest is the same image, so "missing".
SERVICE_OPTIONS = Options(pull="missing", progress="none")


@lru_cache(maxsize=64)
def profile(name: str) -> Profile:
    """A built-in profile, parsed once per process (500 events need not read 500 files)."""
    return load_profile(name)


def validation_key(digest: str, prof: Profile) -> str:
    return CacheKey.for_run(digest, prof, SERVICE_OPTIONS, __version__).id


def registry_access(access: WatchAccess | None) -> RegistryAccess:
    """The watch's login for its registry, and plain HTTP when the watch allows it."""
    if access is None:
        return RegistryAccess()
    logins: tuple[Credentials, ...] = ()
    if access.username and access.password:
        logins = (Credentials(access.registry, access.username, access.password, "the watch"),)
    insecure = frozenset({access.registry}) if access.insecure else frozenset()
    return RegistryAccess(logins=logins, insecure=insecure)


def run_options(access: WatchAccess | None) -> Options:
    return Options(
        pull=SERVICE_OPTIONS.pull,
        progress=SERVICE_OPTIONS.progress,
        registry=registry_access(access),
    )
