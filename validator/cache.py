"""Results already known: the same image, judged for the same hub by the same validator.

An image is named by its registry digest, so a result keyed by digest + the effective
settings + the validator version stays true for as long as all three are unchanged. The
store is one SQLite file (``$XDG_CACHE_HOME/jupyterhub-image-validator/results.sqlite3``,
``~/.cache/...`` by default) holding the report JSON; the CLI and the webhook service
share it, and SQLite's locking makes that safe across threads and processes.

Only conclusive results are kept (compatible or incompatible): an error may be the
machine's, not the image's, and must be retried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from validator.findings import Report, Verdict
from validator.options import Options
from validator.profiles import Profile
from validator.report.json import report_from_dict, report_to_dict

APP_DIR = "jupyterhub-image-validator"
FILE_NAME = "results.sqlite3"
log = logging.getLogger(__name__)
# Options that change what the checks see; the rest (pull policy, --keep, progress, the
# login) only change how the image was obtained or what is left behind.
OUTCOME_OPTIONS = ("static_only", "allow_egress", "stable_window")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    profile TEXT NOT NULL,
    validator_version TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    report TEXT NOT NULL
)
"""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the cache lives: $XDG_CACHE_HOME, else ~/.cache (the XDG default)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR / FILE_NAME


@dataclass(frozen=True)
class CacheKey:
    """What a result depends on: the image, the effective settings, the validator."""

    digest: str
    # sha256 of the effective profile (overrides applied) and the outcome options.
    settings: str
    validator_version: str
    profile_name: str = ""

    @classmethod
    def for_run(
        cls, digest: str, profile: Profile, options: Options, validator_version: str
    ) -> CacheKey:
        return cls(digest, settings_fingerprint(profile, options), validator_version, profile.name)

    @property
    def id(self) -> str:
        text = f"{self.digest}\n{self.settings}\n{self.validator_version}"
        return hashlib.sha256(text.encode()).hexdigest()


def settings_fingerprint(profile: Profile, options: Options) -> str:
    """A stable hash of everything besides the image that decides the verdict."""
    data: dict[str, Any] = {
        "profile": profile.model_dump(mode="json"),
        "options": {name: getattr(options, name) for name in OUTCOME_OPTIONS},
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cacheable(report: Report) -> bool:
    """Only a verdict about the image itself is worth keeping, and only with its digest."""
    return (
        report.digest is not None
        and not report.cached
        and report.error is None
        and report.verdict in (Verdict.COMPATIBLE, Verdict.INCOMPATIBLE)
    )


class ResultCache:
    """Reports by CacheKey, in one SQLite file.

    >>> cache = ResultCache()                        # the default location
    >>> key = CacheKey.for_run(digest, profile, options, __version__)
    >>> cache.get(key)                               # a Report with cached=True, or None
    >>> cache.put(key, report)                       # True if stored
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One short connection per call: safe from any thread, and no lock held between.
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.execute(_SCHEMA)
            yield db

    def get(self, key: CacheKey) -> Report | None:
        """The stored report for ``key``, marked ``cached``; None when there is none."""
        if not self.path.exists():
            return None
        try:
            with self._connect() as db:
                row = db.execute("SELECT report FROM results WHERE key = ?", (key.id,)).fetchone()
        except (sqlite3.Error, OSError) as exc:
            # A cache that cannot be read costs a validation, not the run.
            log.warning("Cannot read the result cache %s: %s", self.path, exc)
            return None
        if row is None:
            return None
        try:
            report = report_from_dict(json.loads(row[0]))
        except (ValueError, KeyError, TypeError):
            return None  # written by an incompatible version: as good as absent
        return dataclasses.replace(report, cached=True)

    def put(self, key: CacheKey, report: Report) -> bool:
        """Store ``report`` under ``key`` (replacing an older one) if it is conclusive."""
        if not cacheable(report):
            return False
        stored_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (
            key.id,
            key.digest,
            key.profile_name,
            key.validator_version,
            stored_at,
            json.dumps(report_to_dict(report)),
        )
        try:
            with self._connect() as db:
                db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)", row)
        except (sqlite3.Error, OSError) as exc:
            log.warning("Cannot write the result cache %s: %s", self.path, exc)
            return False
        log.debug("Stored the result for %s in %s", key.digest, self.path)
        return True
