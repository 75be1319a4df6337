"""The CI report: JUnit XML that Jenkins and GitHub test reporters accept.

One ``<testsuite>`` per run, one ``<testcase>`` per check. FAIL is a ``<failure>``,
ERROR an ``<error>``, SKIP ``<skipped>``; a WARN passes and says why in
``<system-out>``. A run that stopped (``report.error``) adds a ``validation`` case with
an ``<error>``, so the XML never looks green when the exit code is 2.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from validator.findings import Finding, Report, Status
from validator.report.common import RenderOptions, excerpt, finding_label, strip_ansi

RUN_CASE = "validation"
# CI pages show the whole text; the excerpt only guards against megabytes of logs.
EVIDENCE_LINES = 200
MESSAGE_CHARS = 200
# Characters XML 1.0 forbids even as references; a parser rejects the whole file.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", strip_ansi(text))


def _first_line(text: str) -> str:
    # Reporters show the message attribute as a one-line title; the text has the rest.
    line = _xml_safe(text).strip().split("\n", 1)[0]
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def _body(finding: Finding) -> str:
    parts = [finding.message.strip()]
    if finding.fix:
        parts.append(f"fix:\n{finding.fix.strip()}")
    if finding.evidence and finding.evidence.strip():
        parts.append("evidence:\n" + "\n".join(excerpt(finding.evidence, EVIDENCE_LINES)))
    return _xml_safe("\n\n".join(parts))


def _result(finding: Finding) -> Failure | Error | Skipped | None:
    kind: type[Failure | Error | Skipped]
    if finding.status is Status.FAIL:
        kind = Failure
    elif finding.status is Status.ERROR:
        kind = Error
    elif finding.status is Status.SKIP:
        kind = Skipped
    else:
        return None
    result = kind(_first_line(finding.message), _xml_safe(finding.check_id))
    if kind is not Skipped:
        result.text = _body(finding)
    return result


def _case(finding: Finding, classname: str) -> TestCase:
    # Reporters key results on classname + name: a check run once per spawn variant
    # needs the variant in its name, or the runs would overwrite each other.
    case = TestCase(_xml_safe(finding_label(finding)), classname, finding.duration_s)
    result = _result(finding)
    if result is not None:
        case.result = [result]
    if finding.status is Status.WARN:
        case.system_out = f"warning: {_body(finding)}"
    return case


def _run_error_case(error: str, classname: str) -> TestCase:
    case = TestCase(RUN_CASE, classname, 0.0)
    result = Error(_first_line(error), RUN_CASE)
    result.text = _xml_safe(error)
    case.result = [result]
    return case


def _timestamp(started_at: str) -> str | None:
    """ISO 8601 in UTC without an offset, the form the common JUnit XSD accepts."""
    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _properties(report: Report) -> list[tuple[str, str]]:
    fields = {
        "reference": report.reference,
        "digest": report.digest,
        "image_id": report.image_id,
        "platform": report.platform,
        "profile": report.profile,
        "hub_version": report.hub_version,
        **{f"settings.{key}": value for key, value in report.settings.items()},
        "validator_version": report.validator_version,
        "verdict": report.verdict.value,
        "exit_code": str(report.exit_code),
    }
    return [(name, _xml_safe(value)) for name, value in fields.items() if value]


def suite_name(report: Report) -> str:
    return f"validate-image: {report.reference} [{report.profile}]"


class _Totals(NamedTuple):
    tests: int
    failures: int
    errors: int
    skipped: int
    time: float


def _totals(report: Report) -> _Totals:
    """Counted from the report itself, so the XML agrees with the verdict."""
    counts = report.counts()
    stopped = int(report.error is not None)
    # The run's wall time includes the pull and the container start, not only checks.
    elapsed = report.duration_s or sum(f.duration_s for f in report.findings)
    return _Totals(
        tests=len(report.findings) + stopped,
        failures=counts[Status.FAIL.value],
        errors=counts[Status.ERROR.value] + stopped,
        skipped=counts[Status.SKIP.value],
        time=round(elapsed, 3),
    )


def _set_totals(element: TestSuite | JUnitXml, totals: _Totals) -> None:
    element.tests, element.failures, element.errors, element.skipped, element.time = totals


def _suite(report: Report) -> TestSuite:
    classname = _xml_safe(f"validator.{report.profile}")
    suite = TestSuite(_xml_safe(suite_name(report)))
    timestamp = _timestamp(report.started_at)
    if timestamp:
        suite.timestamp = timestamp
    # Properties come first: the JUnit XSD orders them before the test cases.
    for name, value in _properties(report):
        suite.add_property(name, value)
    for finding in report.findings:
        suite.add_testcase(_case(finding, classname))
    if report.error is not None:
        suite.add_testcase(_run_error_case(report.error, classname))
    _set_totals(suite, _totals(report))
    return suite


def render(reports: Sequence[Report], options: RenderOptions) -> str:
    """The reports (one per image) as one JUnit XML document, one ``<testsuite>`` each."""
    document = JUnitXml("validate-image")
    for report in reports:
        document.add_testsuite(_suite(report))
    each = [_totals(r) for r in reports]
    _set_totals(
        document,
        _Totals(
            tests=sum(t.tests for t in each),
            failures=sum(t.failures for t in each),
            errors=sum(t.errors for t in each),
            skipped=sum(t.skipped for t in each),
            time=round(sum(t.time for t in each), 3),
        ),
    )

    buffer = io.BytesIO()
    document.write(buffer, pretty=True)
    return buffer.getvalue().decode("utf-8").rstrip("\n")
