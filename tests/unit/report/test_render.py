"""Renderers: text, JSON and JUnit views of one Report must agree and stay well formed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from tests.support.reports import make_report
from validator.findings import Finding, Report, Status
from validator.report import FORMATS, RenderOptions, render
from validator.report.common import EVIDENCE_LINES, excerpt, strip_ansi
from validator.report.json import SCHEMA_VERSION, render_json, report_to_dict
from validator.report.text import WIDTH, render_text


def render_junit(report: Report) -> str:
    return FORMATS["junit"]([report], RenderOptions())


def render_junit_many(reports: list[Report]) -> str:
    return FORMATS["junit"](reports, RenderOptions())


REFERENCE = "docker.io/jupyter/base-notebook:latest"
DIGEST = "sha256:" + "ab" * 32
SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "report.schema.json"
ANSI = re.compile(r"\x1b\[")

LONG_LOG = "\n".join(f"\x1b[31m[E 12:00:{i:02d}] line {i}\x1b[0m\r" for i in range(40))


def _report(*findings: Finding, error: str | None = None, **fields: Any) -> Report:
    return make_report(*findings, reference=REFERENCE, error=error, **fields)


def incompatible() -> Report:
    return _report(
        Finding(
            "singleuser-on-path",
            Status.PASS,
            "jupyterhub-singleuser 5.4.6 found at /opt/conda/bin/jupyterhub-singleuser",
            title="jupyterhub-singleuser on PATH",
            duration_s=0.25,
        ),
        Finding(
            "hub-version-match",
            Status.FAIL,
            "the image has JupyterHub 4.1.5; the hub runs 5.4.6\nsecond line of detail",
            title="JupyterHub versions match",
            fix="RUN pip install --no-cache-dir 'jupyterhub==5.4.6'",
            evidence="$ jupyterhub-singleuser --version\n4.1.5",
            duration_s=1.5,
        ),
        Finding(
            "server-starts",
            Status.FAIL,
            "the server exited with code 1 before answering " + "on its port " * 20,
            fix='CMD ["jupyterhub-singleuser"]',
            evidence=LONG_LOG,
            duration_s=30.0,
        ),
        Finding(
            "runs-as-non-root",
            Status.WARN,
            "the image runs as root",
            fix="USER 1000\nWORKDIR /home/jovyan",
            evidence="uid=0(root) gid=0(root)",
        ),
        Finding("named-server", Status.SKIP, "skipped because server-starts failed"),
        Finding("kernel-websocket", Status.ERROR, "the probe crashed", evidence="Traceback ..."),
        digest=DIGEST,
        image_id="sha256:" + "cd" * 32,
        platform="linux/amd64",
        started_at="2025-06-01T14:00:00+02:00",
        duration_s=41.75,
    )


def compatible() -> Report:
    return _report(
        Finding("singleuser-on-path", Status.PASS, "found", duration_s=0.1),
        Finding("runs-as-non-root", Status.WARN, "the image runs as root", fix="USER 1000"),
        Finding("named-server", Status.SKIP, "not applicable"),
        duration_s=3.0,
    )


def stopped() -> Report:
    return _report(error="cannot reach the Docker engine: is the daemon running?")


def errored_check() -> Report:
    return _report(Finding("kernel-websocket", Status.ERROR, "the probe crashed"))


SAMPLES = [incompatible, compatible, stopped, errored_check]


# --- helpers ------------------------------------------------------------------------


def test_strip_ansi_removes_escapes_and_controls_but_keeps_tabs() -> None:
    assert strip_ansi("\x1b[1;31mred\x1b[0m\tx\x07\x00") == "red\tx"
    assert strip_ansi("\x1b]0;title\x07after") == "after"
    assert strip_ansi("10%\r50%\r\n") == "10%\n50%\n"


def test_excerpt_keeps_short_text_whole() -> None:
    assert excerpt("a\nb\n") == ["a", "b"]


def test_excerpt_keeps_head_and_tail_of_long_text() -> None:
    lines = excerpt("\n".join(f"line {i}" for i in range(100)))
    assert len(lines) == EVIDENCE_LINES
    assert lines[0] == "line 0"
    assert lines[-1] == "line 99"
    assert any("more lines" in line for line in lines)
    assert sum("more lines" in line for line in lines) == 1


# --- text ---------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES)
def test_text_without_colour_has_no_escape_sequences(sample: Any) -> None:
    assert "\x1b" not in render_text(sample(), color=False)


def test_text_with_colour_styles_the_status_words() -> None:
    text = render_text(incompatible(), color=True)
    assert ANSI.search(text)
    # Colour decorates; the words and ids stay readable without it.
    assert "FAIL" in strip_ansi(text)
    assert "hub-version-match" in text


def test_text_header() -> None:
    header = render_text(incompatible(), color=False).splitlines()[:2]
    assert REFERENCE in header[0]
    assert "jupyter4nfdi" in header[0]
    assert "JupyterHub 5.4.6" in header[0]
    assert DIGEST in header[1]


def test_text_summary_has_one_row_per_check() -> None:
    report = incompatible()
    lines = render_text(report, color=False).splitlines()
    for finding in report.findings:
        word = "ERROR" if finding.status is Status.ERROR else finding.status.value.upper()
        rows = [line for line in lines if re.match(rf"^  {word}\s+{finding.check_id}\s", line)]
        assert len(rows) == 1, finding.check_id


def test_text_details_for_failures_errors_and_warnings_only() -> None:
    text = render_text(incompatible(), color=False)
    blocks = [
        line for line in text.splitlines() if re.match(r"^(FAIL|ERROR|WARN|PASS|SKIP) ", line)
    ]
    assert blocks == [
        "FAIL hub-version-match (JupyterHub versions match)",
        "FAIL server-starts",
        "ERROR kernel-websocket",
        "WARN runs-as-non-root",
    ]
    assert "  fix: RUN pip install --no-cache-dir 'jupyterhub==5.4.6'" in text
    assert "  fix:\n    USER 1000\n    WORKDIR /home/jovyan" in text
    assert "    | 4.1.5" in text
    assert "second line of detail" in text


def test_text_evidence_is_an_excerpt() -> None:
    text = render_text(incompatible(), color=False)
    block = text.split("FAIL server-starts", 1)[1].split("\n\n", 1)[0]
    evidence = [line for line in block.splitlines() if line.startswith("    | ")]
    assert len(evidence) <= EVIDENCE_LINES
    assert "    | [E 12:00:39] line 39" in evidence


def test_text_fits_the_width() -> None:
    for sample in SAMPLES:
        for line in render_text(sample(), color=False).splitlines():
            assert len(line) <= WIDTH, line


def test_text_narrower_width() -> None:
    for line in render_text(incompatible(), color=False, width=72).splitlines()[2:]:
        if not line.startswith("  fix:"):
            assert len(line) <= 72, line


@pytest.mark.parametrize(
    ("sample", "verdict"),
    [
        (incompatible, "incompatible: 2 checks failed"),
        (compatible, "compatible"),
        (stopped, "error: cannot reach the Docker engine: is the daemon running?"),
        (errored_check, "error: 1 check could not run"),
    ],
)
def test_text_verdict_line(sample: Any, verdict: str) -> None:
    lines = render_text(sample(), color=False).splitlines()
    assert lines[-2] == verdict


def test_text_counts_line() -> None:
    assert render_text(incompatible(), color=False).splitlines()[-1] == (
        "1 passed, 1 warning, 2 failed, 1 error, 1 skipped in 41.8s"
    )
    assert render_text(stopped(), color=False).splitlines()[-1] == "no checks ran in 0.0s"


def test_text_says_why_a_failed_run_stopped() -> None:
    report = incompatible()
    report.error = "interrupted by SIGINT"
    lines = render_text(report, color=False).splitlines()
    assert "the run stopped early: interrupted by SIGINT" in lines
    assert lines[-2] == "incompatible: 2 checks failed"


# --- JSON ---------------------------------------------------------------------------

TOP_LEVEL: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "validator_version": (str,),
    "reference": (str,),
    "digest": (str, type(None)),
    "image_id": (str, type(None)),
    "platform": (str, type(None)),
    "profile": (str,),
    "hub_version": (str,),
    "settings": (dict,),
    "verdict": (str,),
    "exit_code": (int,),
    "started_at": (str, type(None)),
    "duration_s": (int, float),
    "cached": (bool,),
    "error": (str, type(None)),
    "counts": (dict,),
    "findings": (list,),
}
FINDING: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "title": (str,),
    "status": (str,),
    "message": (str,),
    "fix": (str, type(None)),
    "evidence": (str, type(None)),
    "duration_s": (int, float),
    "variant": (str, type(None)),
}


def _check_by_hand(document: dict[str, Any]) -> None:
    assert list(document) == list(TOP_LEVEL)
    for key, types in TOP_LEVEL.items():
        assert isinstance(document[key], types), key
    assert document["schema_version"] == 1
    assert document["verdict"] in {"compatible", "incompatible", "error"}
    assert document["exit_code"] in {0, 1, 2}
    assert set(document["counts"]) == {s.value for s in Status}
    assert all(isinstance(n, int) and n >= 0 for n in document["counts"].values())
    for finding in document["findings"]:
        assert list(finding) == list(FINDING)
        for key, types in FINDING.items():
            assert isinstance(finding[key], types), key
        assert finding["status"] in {s.value for s in Status}


@pytest.mark.parametrize("sample", SAMPLES)
def test_json_fields_and_types(sample: Any) -> None:
    report = sample()
    document = json.loads(render_json(report))
    _check_by_hand(document)
    assert document["verdict"] == report.verdict.value
    assert document["exit_code"] == report.exit_code
    assert document["counts"] == report.counts()
    assert len(document["findings"]) == len(report.findings)


def test_json_content() -> None:
    document = json.loads(render_json(incompatible()))
    assert document["schema_version"] == SCHEMA_VERSION == 1
    assert document["reference"] == REFERENCE
    assert document["digest"] == DIGEST
    assert document["profile"] == "jupyter4nfdi"
    assert document["hub_version"] == "5.4.6"
    assert (document["verdict"], document["exit_code"]) == ("incompatible", 1)
    assert document["started_at"] == "2025-06-01T14:00:00+02:00"
    assert document["duration_s"] == 41.75
    assert document["error"] is None
    first_fail = document["findings"][1]
    assert first_fail == {
        "id": "hub-version-match",
        "title": "JupyterHub versions match",
        "status": "fail",
        "message": "the image has JupyterHub 4.1.5; the hub runs 5.4.6\nsecond line of detail",
        "fix": "RUN pip install --no-cache-dir 'jupyterhub==5.4.6'",
        "evidence": "$ jupyterhub-singleuser --version\n4.1.5",
        "duration_s": 1.5,
        "variant": None,
    }
    # Evidence stays raw in JSON: consumers get exactly what the check saw.
    assert document["findings"][2]["evidence"] == LONG_LOG


def test_json_unrecorded_start_is_null_and_error_is_kept() -> None:
    document = json.loads(render_json(stopped()))
    assert document["started_at"] is None
    assert document["error"].startswith("cannot reach the Docker engine")
    assert (document["verdict"], document["exit_code"]) == ("error", 2)
    assert document["findings"] == []


def test_json_output_is_ascii_and_round_trips_unicode() -> None:
    report = _report(Finding("unicode", Status.WARN, "Grüße ✓ 日本"))
    text = render_json(report)
    assert text.isascii()
    assert json.loads(text)["findings"][0]["message"] == "Grüße ✓ 日本"


def test_json_dict_matches_rendered_json() -> None:
    report = incompatible()
    assert json.loads(render_json(report)) == report_to_dict(report)


def test_schema_file_requires_exactly_the_fields_we_write() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["required"] == list(TOP_LEVEL)
    assert list(schema["properties"]) == list(TOP_LEVEL)
    assert schema["$defs"]["finding"]["required"] == list(FINDING)
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert schema["properties"]["counts"]["required"] == [s.value for s in Status]
    assert schema["$defs"]["finding"]["properties"]["status"]["enum"] == [s.value for s in Status]


@pytest.mark.parametrize("sample", SAMPLES)
def test_json_validates_against_the_schema(sample: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(render_json(sample())))


def test_schema_rejects_a_wrong_document() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    document = report_to_dict(incompatible())
    document["findings"][0]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


# --- JUnit --------------------------------------------------------------------------


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def _suite(xml: str) -> ET.Element:
    root = _parse(xml)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


@pytest.mark.parametrize("sample", SAMPLES)
def test_junit_is_well_formed_with_required_attributes(sample: Any) -> None:
    xml = render_junit(sample())
    assert xml.startswith("<?xml")
    suite = _suite(xml)
    for attribute in ("name", "tests", "failures", "errors", "skipped", "time"):
        assert attribute in suite.attrib
    # junitparser reads back what it wrote, as the CI reporters will.
    parsed = JUnitXml.fromstring(xml.encode("utf-8"))
    assert len(list(parsed)) == 1


def test_junit_suite_attributes_are_exact() -> None:
    root = _parse(render_junit(incompatible()))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib["name"] == f"validate-image: {REFERENCE} [jupyter4nfdi]"
    assert suite.attrib["tests"] == "6"
    assert suite.attrib["failures"] == "2"
    assert suite.attrib["errors"] == "1"
    assert suite.attrib["skipped"] == "1"
    assert float(suite.attrib["time"]) == 41.75
    assert suite.attrib["timestamp"] == "2025-06-01T12:00:00"
    for attribute in ("tests", "failures", "errors", "skipped"):
        assert root.attrib[attribute] == suite.attrib[attribute]


def test_junit_cases_map_statuses() -> None:
    report = incompatible()
    suite = _suite(render_junit(report))
    cases = suite.findall("testcase")
    assert [c.attrib["name"] for c in cases] == [f.check_id for f in report.findings]
    assert {c.attrib["classname"] for c in cases} == {"validator.jupyter4nfdi"}
    by_id = {c.attrib["name"]: c for c in cases}

    assert list(by_id["singleuser-on-path"]) == []
    assert float(by_id["singleuser-on-path"].attrib["time"]) == 0.25

    failures = suite.findall("testcase/failure")
    assert len(failures) == len(report.by_status(Status.FAIL))
    failure = by_id["hub-version-match"].find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "hub-version-match"
    assert failure.attrib["message"] == "the image has JupyterHub 4.1.5; the hub runs 5.4.6"
    body = failure.text or ""
    assert "second line of detail" in body
    assert "RUN pip install --no-cache-dir 'jupyterhub==5.4.6'" in body
    assert "4.1.5" in body.split("evidence:", 1)[1]

    error = by_id["kernel-websocket"].find("error")
    assert error is not None
    assert error.attrib["type"] == "kernel-websocket"
    skipped = by_id["named-server"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == "skipped because server-starts failed"

    warn = by_id["runs-as-non-root"]
    assert warn.find("failure") is None and warn.find("error") is None
    out = warn.findtext("system-out") or ""
    assert out.startswith("warning: the image runs as root")
    assert "USER 1000" in out


def test_junit_strips_escapes_and_control_characters() -> None:
    report = _report(
        Finding(
            "noisy", Status.FAIL, "bad\x1b[31m \x00byte", evidence="\x1b[1mbold\x1b[0m\x07 \ud800"
        )
    )
    xml = render_junit(report)
    failure = _suite(xml).find("testcase/failure")
    assert failure is not None
    assert failure.attrib["message"] == "bad byte"
    assert "bold" in (failure.text or "")
    assert "\x1b" not in xml and "\x07" not in xml


def test_junit_stopped_run_is_one_error_case() -> None:
    suite = _suite(render_junit(stopped()))
    assert (suite.attrib["tests"], suite.attrib["errors"], suite.attrib["failures"]) == (
        "1",
        "1",
        "0",
    )
    case = suite.find("testcase")
    assert case is not None
    assert case.attrib["name"] == "validation"
    error = case.find("error")
    assert error is not None
    assert error.attrib["message"].startswith("cannot reach the Docker engine")


def test_junit_run_error_after_checks_is_not_lost() -> None:
    report = compatible()
    report.error = "interrupted"
    suite = _suite(render_junit(report))
    names = [c.attrib["name"] for c in suite.findall("testcase")]
    assert names == ["singleuser-on-path", "runs-as-non-root", "named-server", "validation"]
    assert suite.attrib["errors"] == "1"
    assert suite.attrib["tests"] == "4"


def test_junit_long_message_is_clipped_in_the_attribute_only() -> None:
    report = _report(Finding("long", Status.FAIL, "x" * 500))
    failure = _suite(render_junit(report)).find("testcase/failure")
    assert failure is not None
    assert len(failure.attrib["message"]) <= 200
    assert "x" * 500 in (failure.text or "")


def test_junit_without_a_valid_start_time_has_no_timestamp() -> None:
    assert "timestamp" not in _suite(render_junit(_report(started_at="yesterday"))).attrib
    assert "timestamp" not in _suite(render_junit(_report())).attrib
    stamped = _suite(render_junit(_report(started_at="2025-06-01T10:00:00Z")))
    assert stamped.attrib["timestamp"] == "2025-06-01T10:00:00"


def test_junit_properties_record_the_run() -> None:
    suite = _suite(render_junit(incompatible()))
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.findall("properties/property")}
    assert props["reference"] == REFERENCE
    assert props["digest"] == DIGEST
    assert props["verdict"] == "incompatible"
    assert props["exit_code"] == "1"
    # The XSD puts properties before the test cases.
    assert suite[0].tag == "properties"


def _two_variants() -> Report:
    return _report(
        Finding("server-starts", Status.PASS, "answered", variant="image CMD"),
        Finding(
            "server-starts",
            Status.FAIL,
            "exited with code 127",
            fix="RUN pip install jupyterhub==5.4.6",
            variant="cmd jupyterhub-singleuser",
        ),
    )


def test_variants_are_told_apart_in_text() -> None:
    text = render_text(_two_variants(), color=False)
    assert re.search(r"^  PASS\s+server-starts \[image CMD\]\s+answered$", text, re.M)
    assert "FAIL server-starts [cmd jupyterhub-singleuser]" in text.splitlines()


def test_variants_are_told_apart_in_json() -> None:
    findings = json.loads(render_json(_two_variants()))["findings"]
    assert [(f["id"], f["variant"]) for f in findings] == [
        ("server-starts", "image CMD"),
        ("server-starts", "cmd jupyterhub-singleuser"),
    ]


def test_variants_are_told_apart_in_junit() -> None:
    suite = _suite(render_junit(_two_variants()))
    names = [c.attrib["name"] for c in suite.findall("testcase")]
    assert names == ["server-starts [image CMD]", "server-starts [cmd jupyterhub-singleuser]"]
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.attrib["type"] == "server-starts"


def test_junit_many_reports_in_one_document() -> None:
    other = stopped()
    other.reference = "quay.io/jupyter/scipy-notebook:latest"
    root = _parse(render_junit_many([incompatible(), compatible(), other]))
    suites = root.findall("testsuite")
    assert [s.attrib["name"] for s in suites] == [
        f"validate-image: {REFERENCE} [jupyter4nfdi]",
        f"validate-image: {REFERENCE} [jupyter4nfdi]",
        "validate-image: quay.io/jupyter/scipy-notebook:latest [jupyter4nfdi]",
    ]
    for attribute in ("tests", "failures", "errors", "skipped"):
        total = sum(int(s.attrib[attribute]) for s in suites)
        assert root.attrib[attribute] == str(total)
    assert root.attrib["tests"] == str(6 + 3 + 1)


# --- dispatcher ---------------------------------------------------------------------


def test_formats() -> None:
    assert list(FORMATS) == ["text", "json", "github", "junit", "summary", "sarif"]


def test_render_dispatches() -> None:
    report = incompatible()
    assert render([report], "json") == render_json(report)
    assert render([report], "text") == render_text(report, color=False)
    colored = render([report], "text", RenderOptions(color=True))
    assert colored == render_text(report, color=True)


def test_several_reports_render_as_one_document() -> None:
    reports = [incompatible(), compatible()]
    assert json.loads(render(reports, "json")) == [report_to_dict(r) for r in reports]
    assert render(reports, "text") == "\n".join(render_text(r, color=False) for r in reports)


def test_render_rejects_an_unknown_format() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown report format 'xml'; choose one of text, json, github, junit, summary, sarif",
    ):
        render([incompatible()], "xml")
