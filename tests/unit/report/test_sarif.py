"""``--format sarif``: a SARIF 2.1.0 log that the official schema accepts, with one rule
per check and one result per failed or warned finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

import validator.validate  # noqa: F401  (registers every check in the catalogue)
from tests.unit.report.test_render import compatible, incompatible, stopped
from validator import __version__
from validator.checks import CATALOG
from validator.findings import Report, Status
from validator.report import FORMATS, RenderOptions

SCHEMA = Path(__file__).resolve().parents[2] / "support" / "sarif-schema-2.1.0.json"


def _sarif(*reports: Report) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(FORMATS["sarif"](list(reports), RenderOptions()))
    return log


def _validate(log: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls(schema).validate(log)


def test_the_log_is_valid_sarif_2_1_0() -> None:
    for reports in ([incompatible()], [compatible()], [stopped()], [incompatible(), stopped()]):
        log = _sarif(*reports)
        _validate(log)
        assert log["version"] == "2.1.0"


def test_one_rule_per_check_with_its_help() -> None:
    (run,) = _sarif(incompatible())["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "validate-image"
    assert driver["version"] == __version__
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(CATALOG) <= set(rules)
    for check_id, check in CATALOG.items():
        assert rules[check_id]["shortDescription"]["text"] == check.title
        assert rules[check_id]["help"]["text"] == f"Cause: {check.cause}\n\nFix: {check.fix}"


def test_one_result_per_failed_or_warned_finding() -> None:
    report = incompatible()
    (run,) = _sarif(report)["runs"]
    expected = [f for f in report.findings if f.status in (Status.FAIL, Status.WARN)]
    assert [r["ruleId"] for r in run["results"]] == [f.check_id for f in expected]
    levels = {"fail": "error", "warn": "warning"}
    assert [r["level"] for r in run["results"]] == [levels[f.status.value] for f in expected]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        assert location["logicalLocations"][0]["name"] == report.reference
        assert location["physicalLocation"]["artifactLocation"]["uri"]


def test_the_invocation_records_the_exit_code() -> None:
    (run,) = _sarif(incompatible())["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["exitCode"] == 1
    # A check that could not run says nothing about the image: a notification, no result.
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert notes == ["docker.io/jupyter/base-notebook:latest: kernel-websocket: the probe crashed"]
    (run,) = _sarif(compatible())["runs"]
    assert run["invocations"][0]["exitCode"] == 0
    assert [r["level"] for r in run["results"]] == ["warning"]  # warnings stay compatible


def test_a_run_that_stopped_is_a_tool_notification() -> None:
    report = stopped()
    (run,) = _sarif(report)["runs"]
    (invocation,) = run["invocations"]
    assert invocation["exitCode"] == report.exit_code
    notes = [n["message"]["text"] for n in invocation.get("toolExecutionNotifications", [])]
    if report.error is not None:
        assert any(report.error in note for note in notes)


def test_a_registry_port_does_not_read_as_a_uri_scheme() -> None:
    report = Report(
        reference="registry.example.com:5000/team/img:1",
        profile="z2jh",
        hub_version="5.4.6",
        validator_version=__version__,
    )
    report.add(CATALOG["platform"].failed("wrong architecture"))
    (result,) = _sarif(report)["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "registry.example.com%3A5000/team/img%3A1"
