"""What a refused user reads: the failing checks one line each, the fix, the link."""

from __future__ import annotations

from typing import Any

from validator.hubguard.message import FIX_LINES, as_html, as_text, refusal


def finding(n: int, status: str = "fail", fix: str | None = None) -> dict[str, Any]:
    return {
        "id": f"check-{n}",
        "title": f"Check {n}",
        "status": status,
        "message": f"saw   problem\n{n}",
        "fix": fix,
    }


def document(*findings: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": "incompatible", "report": {"profile": "z2jh", "findings": list(findings)}}


def test_failing_checks_fix_and_link() -> None:
    found = refusal(
        "r.example.org/lab/nb:v1",
        document(finding(1, fix="RUN pip install jupyterhub"), finding(2, "pass"),
                 finding(3, fix="RUN pip install jupyterhub\nCMD [\"jupyterhub-singleuser\"]")),
        "https://hub/services/jhiv/checks/od-1",
    )  # fmt: skip
    text = as_text(found)
    assert text.splitlines()[0] == (
        "The image r.example.org/lab/nb:v1 cannot be used on this hub: "
        "the image validator found 2 problems (profile z2jh)."
    )
    assert "- Check 1: saw problem 1" in text and "- Check 3: saw problem 3" in text
    assert "Check 2" not in text
    assert text.count("RUN pip install jupyterhub") == 1  # the same fix line once
    assert 'CMD ["jupyterhub-singleuser"]' in text
    assert text.endswith("Report: https://hub/services/jhiv/checks/od-1")
    page = as_html(found)
    assert '<a href="https://hub/services/jhiv/checks/od-1">' in page
    assert "CMD [&quot;jupyterhub-singleuser&quot;]" in page
    # The hub's failure page wraps it in <p>: no block element may be inside.
    assert not any(tag in page for tag in ("<p", "<ul", "<li", "<pre", "<div"))


def test_long_lists_are_cut_and_html_is_escaped() -> None:
    many = [finding(n, fix="\n".join(f"RUN step {n}-{i}" for i in range(5))) for n in range(8)]
    many[0]["message"] = "<script>alert(1)</script>" + "x" * 500
    found = refusal("img", document(*many), None, max_checks=3)
    assert found.count == 8 and len(found.checks) == 3 and found.more == 5
    text = as_text(found)
    assert "- … and 5 more" in text and "Report:" not in text
    assert all(len(line) <= 210 for line in text.splitlines())
    assert f"… {40 - FIX_LINES} more lines in the report" in text
    page = as_html(found)
    assert "<script>" not in page and "&lt;script&gt;" in page
