"""``validate-image`` under random command lines: every outcome is an exit code of its
own and a one-line reason, never a traceback, a hang or a secret quoted back.

No Docker engine is reachable here (DOCKER_HOST names a socket that does not exist), so
a command line that parses ends in the engine's one-line tool error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validator.cli.validate import main

SECRET = "s3cr3t-" + "9f" * 8
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/jhiv-fuzz.sock", "JHIV_REGISTRY_PASSWORD": ""}
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=24)
NUMBER = st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e-300", "7", "0x10", ""])
REFERENCE = TEXT | st.sampled_from(
    [
        "jupyter/base-notebook",
        "https://registry.example.org/lab/img:1",
        f"https://robot:{SECRET}@registry.example.org/lab/img:1",
        f"{SECRET}@registry.example.org/img",
        "img@sha256:" + "a" * 64,
        "UPPER/Case",
    ]
)


def _paths(tmp: Path) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [str(tmp / "out"), str(tmp), "/dev/zero", str(tmp / "fifo"), "/nonexistent/x", ""]
    )


def _flags(tmp: Path) -> st.SearchStrategy[list[str]]:
    path = _paths(tmp)
    pairs = st.one_of(
        st.tuples(st.sampled_from(["--profile"]), TEXT | path | st.just("z2jh")),
        st.tuples(
            st.sampled_from(["--hub-version", "--mount-path", "--username", "--format"]), TEXT
        ),
        st.tuples(
            st.sampled_from(["--uid", "--port", "--timeout", "--parallel"]),
            NUMBER | TEXT | st.integers(-(2**64), 2**64).map(str),
        ),
        st.tuples(st.sampled_from(["--stable-window", "--max-wait"]), NUMBER),
        st.tuples(st.sampled_from(["--output", "--junit", "--json", "--sarif", "--ca-cert"]), path),
        st.tuples(
            st.just("--registry"),
            TEXT | st.just(f"https://robot:{SECRET}@registry.example.org"),
        ),
        st.tuples(st.just("--insecure-registry"), TEXT),
        st.tuples(st.sampled_from(["--pull", "--fail-on"]), TEXT | st.just("never")),
        st.tuples(
            st.sampled_from(["--static-only", "--no-cache", "--password-stdin", "--no-color"]),
        ),
    )
    return st.lists(pairs, max_size=6).map(lambda chosen: [part for p in chosen for part in p])


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    os.mkfifo(base / "fifo")
    return base


def _check(result: Result) -> None:
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    if result.exit_code == 2:
        reason = [line for line in result.stderr.splitlines() if line.strip()][-1]
        assert reason.startswith(("Error: ", "validate-image: error: ")), result.stderr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_command_lines_end_in_one_line(data: st.DataObject, tmp: Path) -> None:
    argv = data.draw(_flags(tmp)) + data.draw(st.lists(REFERENCE, max_size=3))
    if data.draw(st.booleans()):
        argv = data.draw(st.permutations(argv))
    result = CliRunner().invoke(main, argv, input=data.draw(TEXT), env=NO_ENGINE)
    _check(result)


@pytest.mark.parametrize("name", ["/dev/zero", "fifo", "not-pem"])
def test_a_ca_cert_that_is_no_certificate_is_refused_at_once(name: str, tmp: Path) -> None:
    (tmp / "not-pem").write_text("just text\n")
    path = name if name.startswith("/") else str(tmp / name)
    result = CliRunner().invoke(main, ["img", "--ca-cert", path], env=NO_ENGINE)
    _check(result)
    assert result.exit_code == 2
    assert "--ca-cert" in result.stderr


@pytest.mark.parametrize(
    "flags",
    [
        ["--registry", f"https://robot:{SECRET}@registry.example.org"],
        ["--registry", f"{SECRET}@registry.example.org"],
    ],
)
def test_a_token_in_the_registry_url_is_refused_and_not_echoed(flags: list[str]) -> None:
    result = CliRunner().invoke(main, ["registry.example.org/img", *flags], env=NO_ENGINE)
    _check(result)
    assert result.exit_code == 2
    assert "user name or token before '@'" in result.stderr


@pytest.mark.parametrize("host", ["::::", "https://registry.example.org", "a b", "host/path"])
def test_an_insecure_registry_must_be_a_host(host: str) -> None:
    result = CliRunner().invoke(main, ["img", "--insecure-registry", host], env=NO_ENGINE)
    _check(result)
    assert result.exit_code == 2
    assert "is not HOST or HOST:PORT" in result.stderr
