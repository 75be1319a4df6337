"""Run a composite GitHub Action's steps as the runner would, without a runner.

What follows the runner (actions/runner, ``CompositeActionHandler`` and ``ActionCommand``):

- Inputs take the given value or the declared default; a composite action's steps see
  them only through ``${{ inputs.x }}`` in their ``env:`` (no ``INPUT_*`` variables).
- Each ``run`` step is a script file run as ``bash --noprofile --norc -e -o pipefail FILE``
  in the workspace, with fresh ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH`` and
  ``GITHUB_STEP_SUMMARY`` files; ``name=value`` and ``name<<DELIMITER`` lines are read
  back, ``GITHUB_ENV`` and ``GITHUB_PATH`` reach the later steps.
- Workflow commands are parsed from stdout and stderr by the runner's rules: leading
  whitespace is ignored, data and properties are unescaped, ``::stop-commands::TOKEN``
  pauses parsing until ``::TOKEN::``.
- A failing step skips the rest; the action's outputs are still evaluated.

What does not: ``uses:`` steps are skipped (and listed), and anything the harness cannot
evaluate faithfully (an ``if:``, a shell other than bash, an expression other than
``inputs.*``, ``steps.*.outputs.*``, ``github.action_path``, ``github.workspace``,
``runner.temp`` and ``env.*``, or any ``${{ }}`` inside a script) raises ``Unsupported``
rather than running differently from the runner.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BASH = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"]
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_KNOWN_COMMANDS = {
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
}
ANNOTATION_LEVELS = ("error", "warning", "notice")


class Unsupported(Exception):
    """The action uses something this harness cannot reproduce faithfully."""


@dataclass(frozen=True)
class WorkflowCommand:
    command: str
    properties: dict[str, str]
    data: str


@dataclass
class StepResult:
    id: str
    name: str
    skipped: bool = False
    exit_code: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class ActionRun:
    steps: list[StepResult]
    outputs: dict[str, str]
    summary: str
    log: str
    commands: list[WorkflowCommand]

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.exit_code != 0), None)

    @property
    def exit_code(self) -> int:
        """The failing step's exit code, 0 when every step succeeded."""
        step = self.failed_step
        return step.exit_code if step else 0

    def annotations(self, level: str | None = None) -> list[WorkflowCommand]:
        levels = (level,) if level else ANNOTATION_LEVELS
        return [c for c in self.commands if c.command in levels]

    @property
    def masks(self) -> list[str]:
        return [c.data for c in self.commands if c.command == "add-mask"]


# --- workflow commands -----------------------------------------------------------------


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def _parse_line(line: str, registered: set[str]) -> WorkflowCommand | None:
    line = line.lstrip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info = line[2:end]
    name, _, props = info.partition(" ")
    if name.lower() not in registered:
        return None
    properties: dict[str, str] = {}
    for pair in filter(None, props.strip().split(",")):
        key, sep, value = pair.partition("=")
        if key and sep and value:
            properties[key] = unescape_property(value)
    return WorkflowCommand(name.lower(), properties, unescape_data(line[end + 2 :]))


def parse_commands(log: str) -> list[WorkflowCommand]:
    """The workflow commands the runner would act on in ``log``, in order."""
    commands: list[WorkflowCommand] = []
    stop_token: str | None = None
    # The runner reads output lines as .NET does: CR, LF and CRLF end a line, nothing else.
    for line in re.split(r"\r\n|\r|\n", log):
        if stop_token is not None:
            resumed = _parse_line(line, {stop_token.lower()})
            if resumed is not None:
                stop_token = None
            continue
        command = _parse_line(line, _KNOWN_COMMANDS)
        if command is None:
            continue
        if command.command == "stop-commands":
            stop_token = command.data
        else:
            commands.append(command)
    return commands


# --- env files and expressions ---------------------------------------------------------


def parse_env_file(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT``/``GITHUB_ENV`` content: ``name=value`` or ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"no closing {delimiter!r} for {name!r}")
            i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise ValueError(f"invalid line in an env file: {line!r}")
    return values


@dataclass
class _Context:
    inputs: dict[str, str]
    steps: dict[str, dict[str, str]]
    github: dict[str, str]
    runner: dict[str, str]
    env: dict[str, str]

    def value(self, expression: str) -> str:
        parts = expression.split(".")
        if re.fullmatch(rf"inputs\.{_NAME}", expression):
            return self.inputs.get(parts[1].lower(), "")
        if re.fullmatch(rf"steps\.{_NAME}\.outputs\.{_NAME}", expression):
            return self.steps.get(parts[1], {}).get(parts[3], "")
        if expression in ("github.action_path", "github.workspace"):
            return self.github[parts[1]]
        if expression == "runner.temp":
            return self.runner["temp"]
        if re.fullmatch(rf"env\.{_NAME}", expression):
            return self.env.get(parts[1], "")
        raise Unsupported(f"expression not supported by the harness: {expression!r}")

    def evaluate(self, text: Any) -> str:
        return _EXPRESSION.sub(lambda m: self.value(m.group(1)), str(text))


# --- running ---------------------------------------------------------------------------


def load_action(action_dir: Path) -> dict[str, Any]:
    for name in ("action.yml", "action.yaml"):
        path = action_dir / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"{path} is not a mapping")
            return data
    raise FileNotFoundError(f"no action.yml in {action_dir}")


def _inputs(action: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    declared = {str(k).lower(): v or {} for k, v in (action.get("inputs") or {}).items()}
    unknown = sorted(set(k.lower() for k in given) - set(declared))
    if unknown:
        raise ValueError(f"inputs the action does not declare: {unknown}")
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update({k.lower(): v for k, v in given.items()})
    return values


def _step_id(step: Mapping[str, Any], index: int) -> str:
    return str(step.get("id") or f"__step_{index}")


def _run_step(
    step: Mapping[str, Any],
    index: int,
    context: _Context,
    base_env: Mapping[str, str],
    files_dir: Path,
    workspace: Path,
    timeout: float,
) -> tuple[StepResult, str, dict[str, str], list[str]]:
    """Run one ``run`` step; returns its result, summary, GITHUB_ENV and GITHUB_PATH."""
    step_id = _step_id(step, index)
    name = str(step.get("name") or step_id)
    if "if" in step:
        raise Unsupported(f"step {name!r}: 'if:' conditions are not evaluated by the harness")
    shell = step.get("shell")
    if shell != "bash":
        raise Unsupported(f"step {name!r}: shell {shell!r} (the harness runs bash steps only)")
    script = str(step["run"])
    if _EXPRESSION.search(script):
        raise Unsupported(f"step {name!r}: '${{{{ }}}}' inside run: pass values through env:")
    files = {
        var: files_dir / f"{index}-{var.lower()}"
        for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
    }
    for path in files.values():
        path.write_text("", encoding="utf-8")
    script_file = files_dir / f"{index}-script.sh"
    script_file.write_text(script, encoding="utf-8")
    env = dict(base_env)
    env.update({var: str(path) for var, path in files.items()})
    env.update({str(k): context.evaluate(v) for k, v in (step.get("env") or {}).items()})
    cwd = workspace / context.evaluate(step.get("working-directory", "."))
    proc = subprocess.run(
        [*BASH, str(script_file)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the runner logs (and parses) both streams as one
        text=True,
        timeout=timeout,
        check=False,
    )
    result = StepResult(
        id=step_id,
        name=name,
        exit_code=proc.returncode,
        outputs=parse_env_file(files["GITHUB_OUTPUT"].read_text(encoding="utf-8")),
        log=proc.stdout,
    )
    summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
    new_env = parse_env_file(files["GITHUB_ENV"].read_text(encoding="utf-8"))
    new_path = [p for p in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines() if p]
    return result, summary, new_env, new_path


def run_action(
    action_dir: Path,
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> ActionRun:
    """Run the composite action in ``action_dir`` (its GITHUB_ACTION_PATH) with ``inputs``.

    ``env`` is the job's environment (default: this process's); the runner's own
    variables are set on top of it, so a test run inside GitHub Actions does not write
    into the outer job's files.
    """
    action = load_action(action_dir)
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        raise Unsupported(f"runs.using is {runs.get('using')!r}, not composite")
    files_dir = runner_temp / "_harness"
    files_dir.mkdir(parents=True, exist_ok=True)
    context = _Context(
        inputs=_inputs(action, inputs),
        steps={},
        github={"action_path": str(action_dir), "workspace": str(workspace)},
        runner={"temp": str(runner_temp)},
        env={},
    )
    job_env = dict(os.environ if env is None else env)
    job_env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(runner_temp),
        }
    )
    steps: list[StepResult] = []
    summaries: list[str] = []
    failed = False
    for index, step in enumerate(runs.get("steps") or []):
        step_id = _step_id(step, index)
        if failed:
            steps.append(StepResult(step_id, str(step.get("name") or step_id), skipped=True))
            continue
        if "uses" in step:
            steps.append(StepResult(step_id, str(step.get("name") or step["uses"]), skipped=True))
            continue
        result, summary, new_env, new_path = _run_step(
            step, index, context, {**job_env, **context.env}, files_dir, workspace, timeout
        )
        steps.append(result)
        summaries.append(summary)
        context.steps[result.id] = result.outputs
        context.env.update(new_env)
        if new_path:
            job_env["PATH"] = os.pathsep.join([*reversed(new_path), job_env.get("PATH", "")])
        failed = result.exit_code != 0
    outputs = {
        str(name): context.evaluate((spec or {}).get("value", ""))
        for name, spec in (action.get("outputs") or {}).items()
    }
    log = "".join(s.log for s in steps)
    return ActionRun(steps, outputs, "".join(summaries), log, parse_commands(log))


__all__ = [
    "ANNOTATION_LEVELS",
    "ActionRun",
    "StepResult",
    "Unsupported",
    "WorkflowCommand",
    "load_action",
    "parse_commands",
    "parse_env_file",
    "run_action",
    "unescape_data",
    "unescape_property",
]
