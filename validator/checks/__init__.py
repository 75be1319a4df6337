"""The checks: each has a stable kebab-case id, documented in docs/checks.md.

A check module declares its ``Check`` entries (what goes wrong on a hub, how to fix it,
where the evidence is) and pure functions that turn what was observed into Findings.
The validator's orchestration (validator.validate) does the I/O and calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from validator.findings import Finding, Status


class Stage(str, Enum):
    STATIC = "static"  # image configuration only
    EXEC = "exec"  # one short-lived container through the image's ENTRYPOINT
    RUNTIME = "runtime"  # the server started as a hub would start it


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    stage: Stage
    detection: str
    cause: str
    fix: str
    evidence: tuple[str, ...] = ()

    def result(
        self,
        status: Status,
        message: str,
        *,
        fix: str | None = None,
        evidence: str | None = None,
    ) -> Finding:
        """A Finding for this check; failing ones get the check's fix unless given one."""
        if fix is None and status in (Status.FAIL, Status.WARN, Status.ERROR):
            fix = self.fix
        return Finding(
            check_id=self.id,
            status=status,
            message=message,
            title=self.title,
            fix=fix,
            evidence=evidence,
        )

    def passed(self, message: str, evidence: str | None = None) -> Finding:
        return self.result(Status.PASS, message, evidence=evidence)

    def failed(
        self, message: str, *, fix: str | None = None, evidence: str | None = None
    ) -> Finding:
        return self.result(Status.FAIL, message, fix=fix, evidence=evidence)

    def warned(
        self, message: str, *, fix: str | None = None, evidence: str | None = None
    ) -> Finding:
        return self.result(Status.WARN, message, fix=fix, evidence=evidence)

    def skipped(self, message: str) -> Finding:
        return self.result(Status.SKIP, message)


CATALOG: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.id in CATALOG:
        raise ValueError(f"duplicate check id {check.id!r}")
    CATALOG[check.id] = check
    return check


def tail(text: str, lines: int = 12) -> str:
    """The last lines of a log, for evidence."""
    kept = [line for line in text.rstrip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
