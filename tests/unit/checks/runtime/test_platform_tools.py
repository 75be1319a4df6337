"""platform-tools: reading the lookup and judging what is missing (pure logic)."""

from __future__ import annotations

from validator.checks.runtime.platform_tools import exec_missing, judge, parse_lookup
from validator.findings import Status

TOOLS = ["sh", "ps", "grep", "awk", "kill", "bash", "curl"]

# What /bin/sh's lookup prints in tests/images/base (Debian minbase + python3).
BASE = (
    "/bin/sh=/bin/sh\nps=\ngrep=/usr/bin/grep\nawk=/usr/bin/awk\n"
    "kill=kill\n/bin/bash=/bin/bash\ncurl=\n"
)


def test_lookup_maps_absolute_calls_back_to_tool_names() -> None:
    found = parse_lookup(BASE, TOOLS)
    assert found == {
        "sh": "/bin/sh",
        "ps": None,
        "grep": "/usr/bin/grep",
        "awk": "/usr/bin/awk",
        "kill": "kill",
        "bash": "/bin/bash",
        "curl": None,
    }


def test_missing_tools_warn_with_what_breaks_and_the_packages() -> None:
    finding = judge(parse_lookup(BASE, TOOLS))
    assert finding.status is Status.WARN
    assert "missing in the image: ps, curl." in finding.message
    assert "The preStop hook (/bin/sh -c 'kill $(ps x | grep" in finding.message
    assert "needs ps: it cannot stop the server cleanly by name." in finding.message
    assert "needs curl: jobs cannot run." in finding.message
    assert finding.fix and "apt-get install -y --no-install-recommends procps curl" in finding.fix


def test_all_present_passes_and_names_the_builtin() -> None:
    found = parse_lookup(
        BASE.replace("ps=\n", "ps=/usr/bin/ps\n").replace("curl=\n", "curl=/usr/bin/curl\n"), TOOLS
    )
    finding = judge(found)
    assert finding.status is Status.PASS
    assert "kill: the shell's builtin" in finding.message


def test_without_a_shell_kill_and_sh_are_missing_and_it_says_so() -> None:
    found = {"sh": None, "ps": None, "kill": None, "curl": "curl"}
    finding = judge(found, without_shell=True)
    assert finding.status is Status.WARN
    assert "/bin/sh is missing" in finding.message
    # One sentence per caller, naming all it lacks.
    assert "needs sh, ps, kill: it cannot stop the server" in finding.message
    assert finding.fix and "dash procps" in finding.fix


def test_an_unknown_tool_is_its_own_package() -> None:
    finding = judge({"fusermount": None})
    assert finding.status is Status.WARN
    assert "A platform hook needs fusermount: it fails." in finding.message
    assert finding.fix and "fusermount" in finding.fix


def test_the_engines_not_found_answer_is_told_from_a_failing_tool() -> None:
    oci = (
        "OCI runtime exec failed: exec failed: unable to start container process: exec: "
        '"/bin/sh": stat /bin/sh: no such file or directory: unknown'
    )
    assert exec_missing(126, oci)
    assert exec_missing(127, 'exec: "ps": executable file not found in $PATH')
    assert not exec_missing(1, "ps: unknown option --version")
    assert not exec_missing(0, "")
