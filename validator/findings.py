"""Findings are values: what one check saw. A Report gathers them and owns the verdict
and the exit code; rendering happens elsewhere (validator.report)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum

from validator import exit_codes


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Verdict(str, Enum):
    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """The outcome of one check.

    ``fix`` is what to change in the image (Dockerfile lines where we can name them);
    ``evidence`` is what we saw: an exit code, a log excerpt, a header.
    """

    check_id: str
    status: Status
    message: str
    title: str = ""
    fix: str | None = None
    evidence: str | None = None
    duration_s: float = 0.0
    # Which of several spawns saw this, e.g. "image CMD" or "cmd jupyterhub-singleuser".
    variant: str | None = None

    def with_duration(self, seconds: float) -> Finding:
        return dataclasses.replace(self, duration_s=round(seconds, 3))


@dataclass
class Report:
    """Everything one validation produced.

    Exit codes, the contract documented in the README:
      0  compatible: no check failed (warnings allowed);
      1  incompatible: at least one check failed;
      2  error: the tool could not decide (a check errored, Docker unreachable, ...).
    """

    reference: str
    profile: str
    hub_version: str
    validator_version: str
    findings: list[Finding] = field(default_factory=list)
    image_id: str | None = None
    digest: str | None = None
    platform: str | None = None
    started_at: str = ""
    duration_s: float = 0.0
    # Set when the run could not complete; the verdict is then ERROR.
    error: str | None = None
    # This report was not produced now: it is a stored result for the same digest, profile
    # and validator version (validator.cache); started_at/duration_s are of that run.
    cached: bool = False
    # What the verdict was judged under (Profile.judged_under): policy, port, TLS, user,
    # volume, prefix and timeouts, so a reader knows which platform said "compatible".
    settings: dict[str, str] = field(default_factory=dict)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    def status_of(self, check_id: str) -> Status | None:
        for finding in self.findings:
            if finding.check_id == check_id:
                return finding.status
        return None

    def by_status(self, status: Status) -> list[Finding]:
        return [f for f in self.findings if f.status is status]

    @property
    def verdict(self) -> Verdict:
        if self.by_status(Status.FAIL):
            return Verdict.INCOMPATIBLE
        if self.error is not None or self.by_status(Status.ERROR):
            return Verdict.ERROR
        return Verdict.COMPATIBLE

    @property
    def exit_code(self) -> int:
        return {
            Verdict.COMPATIBLE: exit_codes.COMPATIBLE,
            Verdict.INCOMPATIBLE: exit_codes.INCOMPATIBLE,
            Verdict.ERROR: exit_codes.TOOL_ERROR,
        }[self.verdict]

    def counts(self) -> dict[str, int]:
        return {s.value: len(self.by_status(s)) for s in Status}
