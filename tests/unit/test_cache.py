"""The result cache: keyed by digest + effective settings + validator version, conclusive
results only, and a stored report that comes back marked as cached."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from validator.cache import CacheKey, ResultCache, cacheable, default_path
from validator.findings import Finding, Report, Status
from validator.options import Options
from validator.profiles import load_profile
from validator.report.json import report_from_dict, report_to_dict

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def _report(*statuses: Status, digest: str | None = DIGEST, error: str | None = None) -> Report:
    report = Report(
        reference="registry.example.com/team/img:v1",
        profile="jupyter4nfdi",
        hub_version="5.4.6",
        validator_version="0.1.0",
        digest=digest,
        image_id="sha256:" + "ef" * 32,
        platform="linux/amd64",
        started_at="2025-06-01T12:00:00+00:00",
        duration_s=12.5,
        error=error,
    )
    for i, status in enumerate(statuses):
        report.add(
            Finding(f"check-{i}", status, "msg", title="T", fix="fix", evidence="ev", variant="v")
        )
    return report


def _key(digest: str = DIGEST, options: Options | None = None, version: str = "0.1.0") -> CacheKey:
    return CacheKey.for_run(digest, load_profile("jupyter4nfdi"), options or Options(), version)


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "results.sqlite3")


def test_round_trip_marks_the_report_cached(cache: ResultCache) -> None:
    report = _report(Status.PASS, Status.FAIL)
    assert cache.put(_key(), report)
    found = cache.get(_key())
    assert found is not None
    assert found.cached and not report.cached
    assert report_to_dict(found) == {**report_to_dict(report), "cached": True}


def test_miss_for_another_digest_version_profile_or_outcome_option(cache: ResultCache) -> None:
    cache.put(_key(), _report(Status.PASS))
    assert cache.get(_key(OTHER)) is None
    assert cache.get(_key(version="0.2.0")) is None
    assert cache.get(_key(options=Options(static_only=True))) is None
    z2jh = CacheKey.for_run(DIGEST, load_profile("z2jh"), Options(), "0.1.0")
    assert cache.get(z2jh) is None
    overridden = load_profile("jupyter4nfdi").with_overrides(mount_path="/mnt/data")
    assert cache.get(CacheKey.for_run(DIGEST, overridden, Options(), "0.1.0")) is None


def test_how_the_image_was_obtained_does_not_change_the_key() -> None:
    assert _key(options=Options(pull="always", keep=True, no_cache=True)) == _key()


def test_only_conclusive_results_are_stored(cache: ResultCache) -> None:
    assert not cache.put(_key(), _report(Status.ERROR))
    assert not cache.put(_key(), _report(Status.PASS, error="interrupted"))
    assert not cache.put(_key(), _report(Status.PASS, digest=None))
    assert cache.get(_key()) is None
    assert cacheable(_report(Status.FAIL)) and cacheable(_report(Status.PASS, Status.WARN))


def test_a_newer_result_replaces_the_older(cache: ResultCache) -> None:
    cache.put(_key(), _report(Status.FAIL))
    cache.put(_key(), _report(Status.PASS))
    found = cache.get(_key())
    assert found is not None and found.exit_code == 0


def test_results_are_kept_per_digest(cache: ResultCache) -> None:
    cache.put(_key(), _report(Status.FAIL))
    cache.put(_key(OTHER), _report(Status.PASS, digest=OTHER))
    found, other = cache.get(_key()), cache.get(_key(OTHER))
    assert found is not None and found.exit_code == 1
    assert other is not None and other.exit_code == 0


def test_no_file_is_made_by_a_lookup(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "sub" / "results.sqlite3")
    assert cache.get(_key()) is None
    assert not cache.path.exists()


def test_unreadable_cache_costs_a_validation_not_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "results.sqlite3"
    path.write_text("this is not a database")
    cache = ResultCache(path)
    with caplog.at_level(logging.WARNING):
        assert cache.get(_key()) is None
        assert not cache.put(_key(), _report(Status.PASS))
    assert "result cache" in caplog.text


def test_default_path_follows_xdg(tmp_path: Path) -> None:
    assert default_path({"XDG_CACHE_HOME": str(tmp_path)}) == (
        tmp_path / "jupyterhub-image-validator" / "results.sqlite3"
    )
    assert default_path({}).parts[-3:] == (
        ".cache",
        "jupyterhub-image-validator",
        "results.sqlite3",
    )


def test_report_from_dict_inverts_report_to_dict() -> None:
    report = _report(Status.PASS, Status.WARN, Status.FAIL, Status.SKIP)
    document = json.loads(json.dumps(report_to_dict(report)))
    again = report_from_dict(document)
    assert again == report
    assert report_to_dict(again) == document
