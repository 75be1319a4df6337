"""The GitHub report: workflow commands the runner reads back verbatim, within GitHub's
limits, that an image's own output cannot hijack; and a job summary that renders as
written and fits in 1 MiB."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.support.action_runner import parse_commands
from tests.support.reports import make_report
from validator.findings import Finding, Report, Status
from validator.report import FORMATS, RenderOptions, render
from validator.report.github.annotations import (
    ANNOTATIONS_PER_LEVEL,
    escape_data,
    escape_property,
    select_annotations,
    workflow_command,
)
from validator.report.github.summary import render_summary
from validator.report.markdown import markdown_text


def render_github(report: Report, token: str | None = None) -> str:
    return FORMATS["github"]([report], RenderOptions(token=token))


def render_github_many(reports: list[Report]) -> str:
    return FORMATS["github"](reports, RenderOptions())


def render_summary_many(reports: list[Report], limit: int | None = None) -> str:
    options = RenderOptions() if limit is None else RenderOptions(summary_limit=limit)
    return FORMATS["summary"](reports, options)


REFERENCE = "docker.io/team/img:v1"
FIX = "RUN pip install --no-cache-dir 'jupyterhub==5.4.6' jupyterlab\nUSER 1000"
# What a hostile or merely chatty image can print into the logs we quote.
HOSTILE_LOG = "\n".join(
    [
        "::error title=pwned::from the image",
        "   ::add-mask::hide-everything",
        "::set-env name=LD_PRELOAD::/tmp/x.so",
        "::stop-commands::imagetoken",
        "::imagetoken::",
        "::warning::still the image",
        "%0A::error::escaped newline",
    ]
)


def _report(*findings: Finding, error: str | None = None, reference: str = REFERENCE) -> Report:
    return make_report(
        *findings,
        reference=reference,
        error=error,
        platform="linux/amd64",
        image_id="sha256:" + "cd" * 32,
        duration_s=2.5,
    )


def _finding(
    check_id: str,
    status: Status,
    message: str = "",
    *,
    title: str = "",
    fix: str | None = None,
    evidence: str | None = None,
) -> Finding:
    message = message or f"{check_id} says {status.value}"
    return Finding(check_id, status, message, title=title, fix=fix, evidence=evidence)


def incompatible() -> Report:
    return _report(
        _finding("platform", Status.PASS, "image is linux/amd64"),
        _finding("image-user", Status.WARN, "runs as root", title="Not root", fix="USER 1000"),
        _finding(
            "singleuser-installed",
            Status.FAIL,
            "jupyterhub-singleuser was not found (exit 127)",
            title="jupyterhub-singleuser is on PATH",
            fix=FIX,
            evidence="exec: jupyterhub-singleuser: not found\n" + HOSTILE_LOG,
        ),
        _finding("server-starts", Status.SKIP, "jupyterhub-singleuser cannot start"),
    )


# --- escaping ----------------------------------------------------------------------------


def test_escape_data_and_property() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"


@given(
    message=st.text(),
    title=st.text(min_size=1).filter(lambda t: t == t.strip() and t != ""),
)
def test_workflow_commands_read_back_verbatim(message: str, title: str) -> None:
    line = workflow_command("error", message, title=title)
    assert "\n" not in line and "\r" not in line
    (command,) = parse_commands(line)
    assert command.command == "error"
    assert command.data == message
    assert command.properties == {"title": title}


def test_workflow_command_without_properties() -> None:
    assert workflow_command("notice", "a::b") == "::notice::a::b"
    assert parse_commands("::notice::a::b")[0].data == "a::b"


# --- the step-log document -----------------------------------------------------------------


def test_github_format_is_registered() -> None:
    assert "github" in FORMATS
    report = incompatible()
    assert render([report], "github").startswith("::stop-commands::")


def test_step_log_has_the_text_report_then_the_annotations() -> None:
    out = render_github(incompatible(), token="t0ken" * 4)
    lines = out.splitlines()
    assert lines[0] == "::stop-commands::" + "t0ken" * 4
    resume = lines.index("::" + "t0ken" * 4 + "::")
    text = "\n".join(lines[1:resume])
    assert "FAIL" in text and "singleuser-installed" in text and "incompatible" in text
    assert all(
        line.startswith(("::error ", "::warning ", "::notice ")) for line in lines[resume + 1 :]
    )


def test_the_image_cannot_issue_workflow_commands() -> None:
    commands = parse_commands(render_github(incompatible()))
    assert [(c.command, c.properties.get("title")) for c in commands] == [
        ("error", "singleuser-installed: jupyterhub-singleuser is on PATH"),
        ("warning", "image-user: Not root"),
        ("notice", "validate-image: incompatible"),
    ]
    assert not any("the image" in c.data or "escaped" in c.data for c in commands)


def test_the_stop_token_is_new_every_time() -> None:
    first = render_github(incompatible()).splitlines()[0]
    second = render_github(incompatible()).splitlines()[0]
    assert first != second
    assert re.fullmatch(r"::stop-commands::[0-9a-f]{32}", first)


def test_annotation_carries_the_fix() -> None:
    (error,) = [a for a in select_annotations([incompatible()]) if a.level == "error"]
    assert error.message.startswith("jupyterhub-singleuser was not found (exit 127)")
    assert "Fix:\n" + FIX in error.message
    assert "HOSTILE" not in error.message and "pwned" not in error.message  # no evidence


def test_annotations_stay_within_githubs_limit_per_level() -> None:
    report = _report(
        *[_finding(f"fail-{i:02d}", Status.FAIL) for i in range(15)],
        *[_finding(f"error-{i:02d}", Status.ERROR) for i in range(3)],
        *[_finding(f"warn-{i:02d}", Status.WARN) for i in range(12)],
    )
    annotations = select_annotations([report])
    errors = [a for a in annotations if a.level == "error"]
    warnings = [a for a in annotations if a.level == "warning"]
    assert len(errors) == ANNOTATIONS_PER_LEVEL == 10
    assert len(warnings) == 10
    assert [a.title.split(":")[0] for a in errors[:9]] == [f"fail-{i:02d}" for i in range(9)]
    # The last slot says what was left out rather than letting GitHub drop it silently.
    assert errors[-1].title == "9 more (error)"
    assert "fail-09, fail-10" in errors[-1].message and "error-02" in errors[-1].message
    assert warnings[-1].title == "3 more (warning)"
    assert "warn-09, warn-10, warn-11" in warnings[-1].message
    assert "warn-08" not in warnings[-1].message


def test_failures_come_before_errors_and_a_stopped_run_first_of_all() -> None:
    report = _report(
        _finding("kernel-runs", Status.ERROR),
        _finding("server-starts", Status.FAIL),
        error="the container exited",
    )
    titles = [a.title for a in select_annotations([report]) if a.level == "error"]
    assert titles == ["validate-image stopped", "server-starts", "kernel-runs"]


def test_several_images_share_the_budget_and_name_the_image() -> None:
    reports = [
        _report(*[_finding(f"fail-{i}", Status.FAIL) for i in range(6)], reference=f"r/img{n}:1")
        for n in range(3)
    ]
    annotations = select_annotations(reports)
    assert len([a for a in annotations if a.level == "error"]) == 10
    assert len([a for a in annotations if a.level == "notice"]) == 3
    assert annotations[0].message.startswith("r/img0:1\n")
    commands = parse_commands(render_github_many(reports))
    assert len([c for c in commands if c.command == "error"]) == 10


def test_a_compatible_image_gets_one_notice() -> None:
    report = _report(_finding("platform", Status.PASS))
    (notice,) = select_annotations([report])
    assert notice.level == "notice"
    assert notice.message.startswith(f"{REFERENCE}: compatible (1 passed in 2.5s)")


# --- the job summary -----------------------------------------------------------------------


def test_summary_heading_table_and_fixes() -> None:
    summary = render_summary(incompatible())
    lines = summary.splitlines()
    assert lines[0] == f"### ❌ `{REFERENCE}` is incompatible"
    assert "**incompatible: 1 check failed**" in summary
    assert "profile `jupyter4nfdi` (JupyterHub 5.4.6) · linux/amd64" in summary
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| Result | Check | Details |"
    assert rows[1:] == [
        "| ✅ pass | `platform` | image is linux/amd64 |",
        "| ⚠️ warn | `image-user` | runs as root |",
        "| ❌ fail | `singleuser-installed` | jupyterhub-singleuser was not found (exit 127) |",
        "| ⏭️ skip | `server-starts` | jupyterhub-singleuser cannot start |",
    ]
    assert "#### What to fix" in summary
    fail_at = summary.index("##### ❌ `singleuser-installed`: jupyterhub-singleuser is on PATH")
    warn_at = summary.index("##### ⚠️ `image-user`: Not root")
    assert fail_at < warn_at
    assert "```\n" + FIX + "\n```" in summary  # copy-paste ready, not escaped
    assert "<details><summary>Evidence</summary>" in summary
    assert "##### ✅" not in summary and "##### ⏭️" not in summary


def test_summary_of_a_compatible_image_has_no_fix_section() -> None:
    summary = render_summary(_report(_finding("platform", Status.PASS)))
    assert summary.startswith(f"### ✅ `{REFERENCE}` is compatible\n")
    assert "What to fix" not in summary and "<details>" not in summary


def test_summary_of_a_run_that_stopped() -> None:
    summary = render_summary(_report(error="cannot reach the Docker engine"))
    assert summary.startswith(f"### ❗ `{REFERENCE}` could not be validated\n")
    assert "**The run stopped:** cannot reach the Docker engine" in summary
    assert "| Result |" not in summary


def test_summary_text_from_the_image_renders_as_text() -> None:
    hostile = "<img src=x onerror=alert(1)> a | b [link](https://evil) *bold* `tick`"
    summary = render_summary(_report(_finding("command", Status.FAIL, hostile, fix="CMD x")))
    assert "<img" not in summary
    row = next(line for line in summary.splitlines() if line.startswith("| ❌"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # the message stayed in one cell
    assert "\\[link\\]" in row and "\\*bold\\*" in row and "\\`tick\\`" in row
    assert markdown_text("a_b & c") == "a\\_b &amp; c"


def test_code_blocks_outlast_the_backticks_inside_them() -> None:
    evidence = "before\n```\n````\nnot the end"
    summary = render_summary(_report(_finding("x", Status.FAIL, "m", fix="f", evidence=evidence)))
    assert "\n`````\nbefore\n```\n````\nnot the end\n`````\n" in summary


def _balanced(summary: str) -> bool:
    fence: str | None = None
    for line in summary.splitlines():
        if fence is None and re.fullmatch(r"`{3,}", line):
            fence = line
        elif line == fence:
            fence = None
    return fence is None and summary.count("<details>") == summary.count("</details>")


def test_summary_drops_evidence_first_when_too_large() -> None:
    findings = [
        _finding(f"c{i}", Status.FAIL, "m", fix="f", evidence="log line\n" * 40) for i in range(5)
    ]
    full = render_summary(_report(*findings))
    lean_limit = len(full.encode()) - 10
    lean = render_summary(_report(*findings), limit=lean_limit)
    assert len(lean.encode()) <= lean_limit
    assert "<details>" not in lean and lean.count("##### ❌") == 5
    assert _balanced(lean)


def test_summary_is_cut_within_the_limit_and_stays_well_formed() -> None:
    findings = [_finding(f"c{i}", Status.FAIL, "é😀 " * 50, fix="line\n" * 30) for i in range(40)]
    for limit in (600, 1000, 2501, 4096):
        summary = render_summary(_report(*findings), limit=limit)
        assert len(summary.encode("utf-8")) <= limit
        assert summary.endswith(
            "*The summary was cut to fit GitHub's limit; the JSON report has everything.*\n"
        )
        assert _balanced(summary)


def test_summaries_of_several_images_share_the_limit() -> None:
    reports = [
        _report(_finding("x", Status.FAIL, "m" * 3000), reference=f"r/i{n}:1") for n in range(3)
    ]
    text = render_summary_many(reports, limit=6000)
    assert len(text.encode()) <= 6000
    assert [line for line in text.splitlines() if line.startswith("### ")] == [
        f"### ❌ `r/i{n}:1` is incompatible" for n in range(3)
    ]
    assert render_summary_many([]) == ""
