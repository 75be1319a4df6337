"""What the pages show, computed from the store's values: pure, so unit-testable.

A check page is either progress (queued, running) or a result: the verdict in words,
one row per check with the failing ones first, and for each row that is not a pass
the check's cause (from the check registry, filled in for the profile), the finding's
evidence and its Dockerfile fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from validator.service.ondemand_store import RequestInfo

# Failing first, then what may fail elsewhere, then the rest in run order.
_ORDER = {"fail": 0, "error": 1, "warn": 2, "pass": 3, "skip": 4}
STATUS_WORDS = {
    "fail": "Failed",
    "error": "Error",
    "warn": "Warning",
    "pass": "Passed",
    "skip": "Skipped",
}
VERDICT_WORDS = {
    "compatible": "A hub can spawn this image: every check passed or only warned.",
    "incompatible": "A hub spawning this image will fail. The failing checks below say why "
    "and how to fix it in the Dockerfile.",
    "error": "No verdict: a check could not finish (see the rows marked Error).",
}
PROGRESS_WORDS = {
    "queued": "Waiting for a free worker.",
    "running": "Checking: pulling the image and starting it as the hub would.",
}

# check id -> the check's cause for a profile (validator.checks, filled in).
CauseOf = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    status: str
    status_word: str
    message: str
    cause: str | None
    fix: str | None
    evidence: str | None

    @property
    def open(self) -> bool:
        """Shown unfolded: the rows the user has to act on."""
        return self.status in ("fail", "error")


@dataclass(frozen=True)
class CheckView:
    id: str
    image: str
    profile: str
    mount_path: str | None
    registry: str | None
    username: str | None
    status: str
    finished: bool
    verdict: str | None
    headline: str
    error: str | None
    digest: str | None
    counts: Mapping[str, int]
    rows: tuple[Row, ...]
    created_at: str | None


def rows(findings: Sequence[Mapping[str, Any]], profile: str, cause_of: CauseOf) -> tuple[Row, ...]:
    """One row per finding, failing first; the run order is kept within each status."""
    indexed = sorted(
        enumerate(findings), key=lambda pair: (_ORDER.get(str(pair[1].get("status")), 5), pair[0])
    )
    out = []
    for _, f in indexed:
        status = str(f.get("status", ""))
        check_id = str(f.get("id", ""))
        acting = status in ("fail", "error", "warn")
        out.append(
            Row(
                id=check_id,
                title=str(f.get("title") or check_id),
                status=status,
                status_word=STATUS_WORDS.get(status, status),
                message=str(f.get("message") or ""),
                cause=cause_of(check_id, profile) if acting else None,
                fix=(str(f["fix"]) if f.get("fix") and acting else None),
                evidence=(str(f["evidence"]) if f.get("evidence") else None),
            )
        )
    return tuple(out)


def check_view(info: RequestInfo, cause_of: CauseOf) -> CheckView:
    status = info.status.value
    finished = status in ("done", "failed")
    report = info.report or {}
    verdict = info.verdict if status == "done" else None
    if status == "failed":
        headline = "The check could not run to the end."
    elif verdict is not None:
        headline = VERDICT_WORDS.get(verdict, verdict)
    else:
        headline = PROGRESS_WORDS.get(status, status)
    counts = report.get("counts") or {}
    return CheckView(
        id=info.id,
        image=info.target.image,
        profile=info.target.profile,
        mount_path=info.target.mount_path,
        registry=info.target.registry,
        username=info.target.username,
        status=status,
        finished=finished,
        verdict=verdict,
        headline=headline,
        error=info.error,
        digest=info.digest,
        counts={str(k): int(v) for k, v in counts.items()},
        rows=rows(report.get("findings") or (), info.target.profile, cause_of),
        created_at=info.created_at,
    )


def registry_cause(check_id: str, profile: str) -> str | None:
    """The cause the check registry gives for ``check_id``, filled in for ``profile``."""
    from validator.checks import EXEC, RUNTIME, STATIC  # the registry, only when a report shows
    from validator.service import jobs

    for check in (*STATIC, *EXEC, *RUNTIME):
        if check.id == check_id:
            try:
                return check.format(jobs.profile(profile)).cause
            except Exception:  # a profile gone since: the raw text still helps
                return check.cause
    return None
