"""What a check is, and how a stage runs its checks in order.

A ``Check`` is one declarative unit: its id and texts, the stage it belongs to, which
earlier checks it ``needs`` and the ``probe`` that observes it. The ordered stage
tuples in ``validator.checks`` say which checks exist and in which order they run,
are reported and are documented.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from validator.findings import Finding, Status
from validator.profiles import CommandMode, Profile


class Stage(str, Enum):
    STATIC = "static"  # image configuration only
    EXEC = "exec"  # one short-lived container through the image's ENTRYPOINT
    RUNTIME = "runtime"  # the server started as a hub would start it


@dataclass(frozen=True)
class Observed:
    """What a probe saw when it answers several checks at once.

    ``blocks`` overrides the checks' own ``blocks`` sentence: a probe that knows *how*
    something failed can say why the checks that need it are skipped.
    """

    findings: tuple[Finding, ...]
    blocks: str | None = None


# A static probe is called with (image, profile); exec and runtime probes with their
# stage's one context object. A probe answers its own check, or (as Observed) its own
# and the next checks of its stage that have no probe of their own.
Probe = Callable[..., "Finding | Observed"]


def fill(text: str, profile: Profile) -> str:
    """``{prefix}`` and ``{hub_version}`` as this profile's hub uses them.

    Other placeholders ({hub}, {api}) name values only known inside one run; they stay
    as written, as in the docs.
    """
    return text.replace("{prefix}", profile.service_prefix).replace(
        "{hub_version}", profile.hub_version
    )


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    stage: Stage
    detection: str
    cause: str
    fix: str
    evidence: tuple[str, ...] = ()
    # The earlier checks that must not have failed (nor been skipped for their own needs).
    needs: tuple[str, ...] = ()
    # Why a check that needs this one is skipped when this one fails.
    blocks: str = ""
    probe: Probe | None = field(default=None, compare=False)

    def format(self, profile: Profile) -> Check:
        """This check's texts with the profile's values filled in (reports use this)."""
        return dataclasses.replace(
            self,
            title=fill(self.title, profile),
            detection=fill(self.detection, profile),
            cause=fill(self.cause, profile),
            fix=fill(self.fix, profile),
        )

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


# Who an advisory mode's failure concerns, as its warning names it.
_CONCERNS = {
    CommandMode.IMAGE: "starting the image's own command",
    CommandMode.SINGLEUSER: "a spawner that runs jupyterhub-singleuser",
    CommandMode.JOB: "the platform's job API (bash -lc)",
}


def advisory(finding: Finding, mode: CommandMode) -> Finding:
    """A failure under a mode that does not decide the verdict, as the warning it is.

    The platform still uses that mode for something (its job API): the user should hear
    of it, with the fix, but the interactive server the verdict is about is not affected.
    """
    if finding.status is not Status.FAIL:
        return finding
    return dataclasses.replace(
        finding,
        status=Status.WARN,
        message=f"{_CONCERNS[mode]} would fail: {finding.message}",
    )


def tail(text: str, lines: int = 12) -> str:
    """The last lines of a log, for evidence."""
    kept = [line for line in text.rstrip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


class Outcomes:
    """The findings of one run so far, in order, and what they mean for later checks.

    The one place where a check's ``needs`` are judged, its probe is timed and its
    texts are filled in for the profile.
    """

    def __init__(
        self, profile: Profile, checks: Iterable[Check], findings: Iterable[Finding] = ()
    ) -> None:
        self.profile = profile
        self._checks = {check.id: check for check in checks}
        self.findings: list[Finding] = []
        self._status: dict[str, Status] = {}
        self._blocks: dict[str, str] = {}  # check id -> why its dependents are skipped
        for finding in findings:
            self.add(finding)

    def add(self, finding: Finding, *, blocks: str | None = None) -> Finding:
        """Record a finding; a failed one blocks the checks that need it."""
        finding = dataclasses.replace(
            finding,
            title=fill(finding.title, self.profile),
            fix=fill(finding.fix, self.profile) if finding.fix is not None else None,
        )
        self.findings.append(finding)
        self._status[finding.check_id] = finding.status
        if finding.status is Status.FAIL and blocks is None:
            check = self._checks.get(finding.check_id)
            blocks = (check.blocks if check else "") or f"{finding.check_id} failed"
        if blocks is not None:
            self._blocks[finding.check_id] = blocks
        return finding

    def answered(self, check: Check) -> bool:
        return check.id in self._status

    def unmet(self, check: Check) -> str | None:
        """Why ``check`` cannot run, or None when its needs are met."""
        for need in check.needs:
            if need in self._blocks:
                return self._blocks[need]
        return None

    def skip(self, check: Check, why: str) -> Finding:
        # A check skipped for its needs passes the reason on to the checks needing it.
        return self.add(check.skipped(why), blocks=why)

    def skip_all(self, checks: Iterable[Check], why: str) -> list[Finding]:
        """The ones of ``checks`` not answered yet, skipped for one reason."""
        return [self.skip(check, why) for check in checks if not self.answered(check)]

    def run(self, check: Check, *args: Any) -> list[Finding]:
        """Run one check's probe (unless it is answered already or its needs are unmet)."""
        if self.answered(check):
            return []
        why = self.unmet(check)
        if why is not None:
            return [self.skip(check, why)]
        if check.probe is None:
            raise LookupError(f"check {check.id!r} has no probe and no earlier probe answered it")
        started = time.monotonic()
        seen = check.probe(*args)
        if isinstance(seen, Finding):
            # A probe that observed more than its own call (a wait before it) sets its time.
            if seen.duration_s == 0.0:
                seen = seen.with_duration(time.monotonic() - started)
            return [self.add(seen)]
        found = [
            self.add(f, blocks=seen.blocks if f.status is Status.FAIL else None)
            for f in seen.findings
        ]
        return found
