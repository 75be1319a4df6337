"""The before/after table, the already-passing message and the default tag (no Docker)."""

from __future__ import annotations

from validator.compat.make import Outcome, default_tag
from validator.compat.output import render_text, table, to_dict
from validator.findings import Finding, Report, Status
from validator.reference import parse_reference


def report(*findings: Finding) -> Report:
    r = Report(
        reference="docker.io/x/y:1",
        profile="dockerspawner",
        hub_version="5.4.6",
        validator_version="0",
    )
    for f in findings:
        r.add(f)
    return r


def test_table_shows_each_check_once_with_the_worst_status() -> None:
    before = report(
        Finding("singleuser-installed", Status.FAIL, "m", variant="a"),
        Finding("singleuser-installed", Status.PASS, "m", variant="b"),
        Finding("kernel-runs", Status.SKIP, "m"),
    )
    after = report(
        Finding("singleuser-installed", Status.PASS, "m"), Finding("kernel-runs", Status.PASS, "m")
    )
    rows = table(before, after)
    assert rows[2].split() == ["singleuser-installed", "fail", "pass"]
    assert rows[3].split() == ["kernel-runs", "skip", "pass"]
    assert len(rows) == 4


def test_an_image_that_passes_is_said_to_need_nothing() -> None:
    outcome = Outcome(report(Finding("command", Status.PASS, "m")))
    assert outcome.exit_code == 0
    assert "nothing to change, no image built" in render_text(outcome)
    assert to_dict(outcome)["remedies"] == []


def test_default_tag() -> None:
    assert default_tag(parse_reference("registry.example.com/lab/analysis:3.2")) == (
        "registry.example.com/lab/analysis:3.2-jupyterhub"
    )
    assert default_tag(parse_reference("ubuntu")) == "ubuntu:latest-jupyterhub"
