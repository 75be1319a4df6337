"""The docker-stacks interface of our base image: the options, entry points and hooks
that users switching from ``jupyter/base-notebook`` bring along (hub configs,
``docker run`` lines, child Dockerfiles, start hooks).

Each test runs the built base image the way such a user does and asserts what they
rely on; where we deliberately differ (paths, wording), docs/base-images.md says so.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import docker
import pytest

from tests.support.base_image import Built, container, run_once, run_to_end, wait_for

pytestmark = pytest.mark.docker

# Lines a log scanner counts as problems: docker-stacks' own test helper looks at the
# first word of each line.
LEVEL_LINE = re.compile(r"^(INFO|WARNING|ERROR|FATAL|DEBUG)\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")


def _lines(output: str, level: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{level}[")]


def _command_output(output: str) -> list[str]:
    """The command's own lines: start.sh logs to stderr, and Docker does not keep
    the order of the two streams, so its last log line may come after them."""
    return [line for line in output.splitlines() if not LEVEL_LINE.match(line)]


def _hook_dir(tmp_path: Path, hooks: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
    """A directory of hook files, readable by the image's user (uid 1000)."""
    tmp_path.chmod(0o755)
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir(mode=0o755)
    for name, text in hooks.items():
        path = hooks_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755 if name in executable else 0o644)
    return hooks_dir


def _mounted(hooks_dir: Path, at: str) -> dict[str, dict[str, str]]:
    return {str(hooks_dir): {"bind": at, "mode": "ro"}}


# --- the account: NB_USER, NB_UID, NB_GID, NB_GROUP, CHOWN_* -------------------------------


def test_nb_user_root_runs_as_root_with_home_under_home(
    built: Built, docker_client: docker.DockerClient
) -> None:
    # docker-stacks' way to run as root (rootless Docker/Podman): jupyter/docker-stacks#2036
    output = run_once(
        docker_client,
        ["bash", "-c", 'echo "user=$(id -un) uid=$(id -u) home=$HOME pwd=$PWD"; ls "$HOME"'],
        user="root",
        environment={"NB_USER": "root", "NB_UID": "0", "NB_GID": "0"},
    )
    assert "user=root uid=0 home=/home/root pwd=/home/root" in output
    assert "work" in output.split()  # a copy of the image's home
    assert not _lines(output, "ERROR") and not _lines(output, "WARNING"), output


def test_nb_user_naming_another_existing_account_starts(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["bash", "-c", 'echo "user=$(id -un) uid=$(id -u) home=$HOME"'],
        user="root",
        environment={"NB_USER": "daemon", "NB_UID": "1", "NB_GID": "1"},
    )
    assert "user=daemon uid=1 home=/home/daemon" in output
    assert "already exists" not in output


def test_nb_user_renames_jovyan_and_chown_home_gives_the_home(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["bash", "-c", "id; stat -c '%U %G' ~ ~/work; echo home=$HOME"],
        user="root",
        environment={"NB_USER": "nayvoj", "CHOWN_HOME": "yes"},
    )
    assert "uid=1000(nayvoj) gid=100(users)" in output
    assert "nayvoj users\nnayvoj users" in output
    assert "home=/home/nayvoj" in output


def test_nb_gid_and_nb_group_make_the_primary_group(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["id"],
        user="root",
        environment={"NB_GID": "2000", "NB_GROUP": "lab"},
    )
    assert "gid=2000(lab)" in output and "100(users)" in output


def test_chown_home_and_chown_extra_with_their_options(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["stat", "-c", "%n %u:%g", "/home/kitten/.bashrc", "/opt/venv/bin/python3"],
        user="root",
        environment={
            "NB_USER": "kitten",
            "NB_UID": "1010",
            "NB_GID": "101",
            "CHOWN_HOME": "yes",
            "CHOWN_HOME_OPTS": "-R",
            "CHOWN_EXTRA": "/opt/venv/bin",
            "CHOWN_EXTRA_OPTS": "-R -h",
        },
    )
    assert "/home/kitten/.bashrc 1010:101" in output
    assert "/opt/venv/bin/python3 1010:101" in output


def test_arbitrary_uid_gets_the_name_nb_user_asks_for(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(
        docker_client,
        ["bash", "-c", 'echo "user=$(id -un) home=$HOME"'],
        user="1010:0",
        group_add=["100"],  # the home is writable for group 100
        environment={"NB_USER": "kitten"},
    )
    assert "user=kitten home=/home/jovyan" in output
    warnings = _lines(output, "WARNING")
    assert len(warnings) == 1 and "/home/jovyan" in warnings[0], output


def test_arbitrary_uid_without_nb_user_is_jovyan(
    built: Built, docker_client: docker.DockerClient
) -> None:
    output = run_once(docker_client, ["id", "-un"], user="1010:0", group_add=["100"])
    assert _command_output(output)[-1] == "jovyan", output
    assert not _lines(output, "WARNING"), output


def test_nb_umask(built: Built, docker_client: docker.DockerClient) -> None:
    output = run_once(docker_client, ["bash", "-c", "umask"], environment={"NB_UMASK": "002"})
    assert _command_output(output)[-1] == "0002", output


# --- log lines and the quiet switch --------------------------------------------------


def test_log_lines_start_with_their_level(built: Built, docker_client: docker.DockerClient) -> None:
    output = run_once(docker_client, ["true"], environment={"GRANT_SUDO": "yes"})
    start_lines = [line for line in output.splitlines() if "start.sh" in line]
    assert start_lines and all(LEVEL_LINE.match(line) for line in start_lines), output
    assert len(_lines(output, "WARNING")) == 1  # GRANT_SUDO needs root


def test_quiet_leaves_warnings_only(built: Built, docker_client: docker.DockerClient) -> None:
    output = run_once(
        docker_client,
        ["true"],
        user="root",
        environment={"JUPYTER_DOCKER_STACKS_QUIET": "1", "GRANT_SUDO": "yes"},
    )
    assert not _lines(output, "INFO"), output
    assert len(_lines(output, "WARNING")) == 1, output  # no sudo in the image


def test_log_functions_for_child_images(built: Built, docker_client: docker.DockerClient) -> None:
    code, output = run_to_end(
        docker_client,
        [
            "bash",
            "-c",
            "source /usr/local/bin/_docker_stacks_log.sh; _log_warn careful; "
            "_log_fatal stop here; echo not reached",
        ],
    )
    assert code == 1
    assert _lines(output, "WARNING")[-1].endswith("] careful")
    assert _lines(output, "FATAL")[-1].endswith("] stop here")
    assert "not reached" not in output


# --- hooks ---------------------------------------------------------------------------------


def test_hooks_run_in_order_export_variables_and_skip_other_files(
    built: Built, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    hooks = _hook_dir(
        tmp_path,
        {
            "10-set.sh": "export FROM_HOOK=sourced\n",
            "20-run": "#!/bin/bash\necho ran as $(id -un)\n",
            "30-skip.txt": "echo must not run\n",
        },
        executable=("20-run",),
    )
    for user, at in [
        ("root", "/usr/local/bin/before-notebook.d"),
        ("1000", "/usr/local/bin/start-notebook.d"),
    ]:
        output = run_once(
            docker_client,
            ["bash", "-c", 'echo "command sees $FROM_HOOK"'],
            user=user,
            volumes=_mounted(hooks, at),
        )
        assert "command sees sourced" in output
        assert "ran as " in output
        assert "must not run" not in output


def test_a_failing_hook_is_an_error_and_the_start_goes_on(
    built: Built, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    hooks = _hook_dir(
        tmp_path, {"10-fails.sh": "echo before\nfalse\n", "20-next.sh": "echo next\n"}
    )
    output = run_once(
        docker_client,
        ["echo", "command ran"],
        volumes=_mounted(hooks, "/usr/local/bin/before-notebook.d"),
    )
    assert "next" in output and "command ran" in output
    errors = _lines(output, "ERROR")
    assert len(errors) == 1 and "10-fails.sh" in errors[0], output


def test_a_hook_with_set_e_that_fails_stops_the_start(
    built: Built, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # A critical hook says so with `set -e`, as in jupyter/docker-stacks#1987
    hooks = _hook_dir(
        tmp_path, {"10-critical.sh": "set -e\necho checking\nfalse\necho after the failure\n"}
    )
    code, output = run_to_end(
        docker_client,
        ["echo", "command ran"],
        user="root",
        volumes=_mounted(hooks, "/usr/local/bin/before-notebook.d"),
    )
    assert code != 0
    assert "checking" in output
    assert "after the failure" not in output and "command ran" not in output


def test_run_hooks_is_a_command_for_child_images(
    built: Built, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    hooks = _hook_dir(tmp_path, {"a.sh": "echo hook a\n"})
    output = run_once(
        docker_client,
        ["run-hooks.sh", "/hooks"],
        volumes=_mounted(hooks, "/hooks"),
    )
    assert "hook a" in output
    for args in ([], ["/nowhere"], ["/hooks", "/hooks"]):
        code, output = run_to_end(
            docker_client, ["run-hooks.sh", *args], volumes=_mounted(hooks, "/hooks")
        )
        assert code == 2 and len(_lines(output, "ERROR")) == 1, (args, output)


# --- entry points and commands ---------------------------------------------------------


@pytest.mark.parametrize(
    ("entry_point", "prints"),
    [("start-notebook.sh", "4.6.6"), ("start-singleuser.sh", "5.4.6")],
)
def test_docker_stacks_entry_point_names(
    built: Built, docker_client: docker.DockerClient, entry_point: str, prints: str
) -> None:
    # `c.Spawner.cmd = ["start-singleuser.sh"]` in hub configs written for docker-stacks
    env = {"JUPYTERHUB_API_TOKEN": "x"} if entry_point == "start-singleuser.sh" else {}
    output = run_once(docker_client, [entry_point, "--version"], environment=env)
    assert _command_output(output)[-1].strip() == prints, output


def test_docker_stacks_jupyter_cmd_and_jupyter_port(
    built: Built, docker_client: docker.DockerClient
) -> None:
    env = {"DOCKER_STACKS_JUPYTER_CMD": "server", "JUPYTER_PORT": "9999"}
    with container(docker_client, environment=env) as c:

        def logs() -> str:
            return str(c.logs().decode("utf-8", "replace"))

        wait_for(lambda: ":9999/" in logs(), 90, "a server on port 9999", logs)
        assert "Executing: jupyter server" in logs()
        probe = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9999/api').status)"
        deadline = time.monotonic() + 30
        while True:
            code, out = c.exec_run(["python3", "-c", probe])
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 0 and out.decode().strip() == "200", out


def test_procps_is_there(built: Built, docker_client: docker.DockerClient) -> None:
    output = run_once(docker_client, ["bash", "-c", "ps -o comm= -p 1; command -v top"])
    assert "tini" in output and "/usr/bin/top" in output
