"""The service's pure security pieces: signatures and tokens compared in constant time,
secrets encrypted with rotatable keys, a rate limit per source, settings that take
secrets only from the environment or files, log lines without URL tokens."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest

from validator.errors import (
    DockerUnavailable,
    ImageNotFound,
    PlatformUnavailable,
    RegistryAuthError,
    RegistryError,
    RegistryUnreachable,
)
from validator.registry.credentials import Secret
from validator.service import auth, badge
from validator.service.errors import SecretKeyError, SettingsError
from validator.service.events import Push
from validator.service.matching import WatchView, concerned, valid_repository_pattern
from validator.service.middleware import redact_path
from validator.service.ratelimit import RateLimiter, retry_after
from validator.service.retry import backoff, is_transient
from validator.service.secretbox import SecretBox, generate_key, parse_keys
from validator.service.settings import load_settings

# --- signatures and tokens ---------------------------------------------------------


def test_signature_matches_githubs_documented_test_vector() -> None:
    assert auth.sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_signature_covers_the_raw_body() -> None:
    body = b'{"action": "published"}'
    good = auth.sign("s3cret", body)
    assert auth.signature(good, "s3cret", body) is auth.Check.OK
    assert auth.signature(good, "s3cret", body + b" ") is auth.Check.WRONG
    assert auth.signature(good, "other", body) is auth.Check.WRONG
    assert auth.signature("sha1=" + good[7:], "s3cret", body) is auth.Check.WRONG
    assert auth.signature(None, "s3cret", body) is auth.Check.MISSING
    assert auth.signature("  ", "s3cret", body) is auth.Check.MISSING


@pytest.mark.parametrize(
    ("header", "check"),
    [
        ("Bearer tok-123", auth.Check.OK),
        ("bearer tok-123", auth.Check.OK),
        ("Token tok-123", auth.Check.OK),
        ("tok-123", auth.Check.OK),  # Harbor sends its Auth Header verbatim
        ("Bearer tok-124", auth.Check.WRONG),
        ("Basic dG9rLTEyMw==", auth.Check.WRONG),
        ("", auth.Check.MISSING),
        (None, auth.Check.MISSING),
    ],
)
def test_header_token(header: str | None, check: auth.Check) -> None:
    assert auth.header_token(header, "tok-123") is check


def test_admin_bearer_wants_the_bearer_scheme() -> None:
    assert auth.bearer("Bearer adm", "adm") is auth.Check.OK
    assert auth.bearer("adm", "adm") is auth.Check.WRONG
    assert auth.bearer(None, "adm") is auth.Check.MISSING


def test_every_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("validator.service.auth.hmac.compare_digest", spy)
    auth.header_token("Bearer x", "y")
    auth.bearer("Bearer x", "y")
    auth.signature("sha256=00", "k", b"body")
    auth.same("a", "b")
    assert len(calls) == 4


# --- secrets at rest -----------------------------------------------------------------


def test_secret_box_round_trip_and_the_ciphertext_hides_the_secret() -> None:
    box = SecretBox((Secret(generate_key()),))
    token = box.encrypt(Secret("hunter2-registry-token"))
    assert "hunter2" not in token
    assert box.decrypt(token).reveal() == "hunter2-registry-token"
    assert repr(box.decrypt(token)) == "Secret('********')"


def test_rotation_new_key_first_then_old_keys_can_go() -> None:
    old, new = Secret(generate_key()), Secret(generate_key())
    token = SecretBox((old,)).encrypt(Secret("pw"))
    both = SecretBox((new, old))
    assert both.decrypt(token).reveal() == "pw"
    rotated = both.rotate(token)
    assert SecretBox((new,)).decrypt(rotated).reveal() == "pw"
    with pytest.raises(SecretKeyError, match="not configured"):
        SecretBox((new,)).decrypt(token)


def test_no_key_means_no_secrets() -> None:
    box = SecretBox(())
    assert not box.ready
    with pytest.raises(SecretKeyError, match="no encryption key") as info:
        box.encrypt(Secret("x"))
    assert "generate-key" in (info.value.hint or "")


def test_parse_keys_accepts_lists_and_comments_and_never_quotes_a_bad_key() -> None:
    one, two = generate_key(), generate_key()
    text = f"# new key first\n{one}\n{two}  # old\n"
    assert [k.reveal() for k in parse_keys(text, source="file")] == [one, two]
    assert len(parse_keys(f"{one},{two}", source="env")) == 2
    with pytest.raises(SecretKeyError) as info:
        parse_keys(f"{one},not-a-key-at-all", source="JHIV_SERVICE_SECRET_KEYS")
    assert "key 2 in JHIV_SERVICE_SECRET_KEYS" in info.value.message
    assert "not-a-key" not in info.value.one_line()


# --- rate limit ----------------------------------------------------------------------


def test_rate_limit_per_source_with_burst_and_refill() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("10.0.0.1")
    assert wait == pytest.approx(0.5)
    assert retry_after(wait) == "1"
    assert limiter.acquire("10.0.0.2") == 0.0  # another source has its own bucket
    now[0] += 0.5
    assert limiter.acquire("10.0.0.1") == 0.0
    assert RateLimiter(rate=0, burst=1, clock=lambda: 0.0).acquire("x") == 0.0


# --- settings ------------------------------------------------------------------------


def test_settings_need_an_admin_token() -> None:
    with pytest.raises(SettingsError, match="JHIV_SERVICE_ADMIN_TOKEN is not set"):
        load_settings({})


def test_settings_read_secrets_from_files(tmp_path: Path) -> None:
    key = generate_key()
    (tmp_path / "admin").write_text("adm-token\n")
    (tmp_path / "keys").write_text(f"{key}\n")
    settings = load_settings(
        {
            "JHIV_SERVICE_ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
            "JHIV_SERVICE_SECRET_KEYS_FILE": str(tmp_path / "keys"),
            "JHIV_SERVICE_HOOK_TOKEN": "hook",
            "JHIV_SERVICE_CONCURRENCY": "3",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    assert settings.admin_token.reveal() == "adm-token"
    assert [k.reveal() for k in settings.secret_keys] == [key]
    assert settings.hook_token is not None and settings.github_secret is None
    assert settings.concurrency == 3
    assert settings.database_url.reveal().endswith(
        "data/jupyterhub-image-validator/service.sqlite3"
    )
    assert "adm-token" not in repr(settings)


def test_settings_refuse_ambiguity_and_nonsense(tmp_path: Path) -> None:
    (tmp_path / "admin").write_text("a")
    with pytest.raises(SettingsError, match="both"):
        load_settings(
            {
                "JHIV_SERVICE_ADMIN_TOKEN": "a",
                "JHIV_SERVICE_ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
            }
        )
    with pytest.raises(
        SettingsError, match=r"JHIV_SERVICE_RATE: input should be a valid number.*got 'lots'"
    ):
        load_settings({"JHIV_SERVICE_ADMIN_TOKEN": "a", "JHIV_SERVICE_RATE": "lots"})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({"JHIV_SERVICE_ADMIN_TOKEN_FILE": str(tmp_path / "missing")})


def test_access_log_paths_hide_url_tokens() -> None:
    assert redact_path("/hooks/dockerhub/s3cr3t") == "/hooks/dockerhub/***"
    assert redact_path("/hooks/quay/s3cr3t/") == "/hooks/quay/***/"
    assert redact_path("/hooks/distribution") == "/hooks/distribution"


# --- retries, matching, badges ---------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (RegistryUnreachable("down"), True),
        (RegistryError("HTTP 503"), True),
        (DockerUnavailable("no engine"), True),
        (ConnectionResetError(), True),
        (RegistryAuthError("401"), False),
        (ImageNotFound("no tag"), False),
        (PlatformUnavailable("arm64 only"), False),
        (ValueError("bug"), False),
    ],
)
def test_which_failures_are_retried(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 5, 30) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_watches_match_by_registry_repository_glob_and_tag_one_per_profile() -> None:
    watches = [
        WatchView(1, "reg.example", "team/*", "*", "z2jh"),
        WatchView(2, "reg.example", "team/nb", "v*", "z2jh"),
        WatchView(3, "reg.example", "team/nb", "v*", "dockerspawner"),
        WatchView(4, "other.example", "team/*", "*", "z2jh"),
    ]
    found = concerned(watches, Push("reg.example", "team/nb", "v1"))
    assert [w.id for w in found] == [1, 3]
    assert [w.id for w in concerned(watches, Push("reg.example", "team/nb", "dev"))] == [1]
    assert concerned(watches, Push("reg.example", "lab/nb", "v1")) == []
    assert valid_repository_pattern("team/*") and not valid_repository_pattern("Team//x")


def test_badge_says_hub_line_and_verdict() -> None:
    svg = badge.for_result("5.4.6", "compatible")
    assert svg.startswith("<svg") and "jupyterhub 5.4: compatible" in svg
    assert badge.COLORS["compatible"] in svg
    assert "jupyterhub: unknown" in badge.for_result(None, "unknown")
    assert "&lt;b&gt;" in badge.render("<b>", "x", "#fff")
