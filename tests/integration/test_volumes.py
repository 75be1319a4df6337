"""Volume kinds on the real engine, and the checks that judge them, end to end.

The profile extends jupyter4nfdi (bind volume owned 1000:100 at /home/jovyan/work)
without internal SSL, so these tests judge the volumes alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests.support.cli import run_cli
from tests.support.reports import findings_by_id
from validator.profiles import load_profile
from validator.runtime.imagefiles import list_path
from validator.runtime.sandbox import Sandbox
from validator.runtime.volumes import volume_mounts

pytestmark = pytest.mark.docker

WORK = "/home/jovyan/work"


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("profiles") / "j4n-plain.yaml"
    path.write_text("extends: jupyter4nfdi\ninternal_ssl: false\n", encoding="utf-8")
    return str(path)


def _findings(image: str, profile: str, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = run_cli(image, "--profile", profile, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return result.exit_code, findings_by_id(report)


def test_another_uid_cannot_write_the_bind_directory(
    build_image: Callable[[str], str], profile_file: str
) -> None:
    code, found = _findings(build_image("other-uid"), profile_file)
    writable = found["mount-writable"]
    assert code == 1 and writable["status"] == "fail"
    assert f"{WORK} (bind, owner 1000:100, mode 0755)" in writable["message"]
    assert "uid 1001" in writable["message"]
    assert "USER 1000" in writable["fix"]
    assert {f["id"] for f in found.values() if f["status"] == "fail"} == {"mount-writable"}


def test_files_under_the_mount_path_are_named_in_a_warning(
    build_image: Callable[[str], str], profile_file: str
) -> None:
    code, found = _findings(build_image("mount-hides-content"), profile_file)
    hides = found["mount-hides-content"]
    assert hides["status"] == "warn"
    assert "README.md" in hides["message"] and "examples/intro.ipynb" in hides["message"]
    assert code == 0  # a warning: the server works
    assert found["mount-writable"]["status"] == "pass"


def test_the_good_image_passes_both(build_image: Callable[[str], str], profile_file: str) -> None:
    code, found = _findings(build_image("good"), profile_file)
    assert code == 0
    assert found["mount-hides-content"]["status"] == "pass"
    assert found["mount-writable"]["status"] == "pass"


def _seen_at_work(client: docker.DockerClient, image: str, kind: str) -> tuple[list[str], str]:
    """What a container of ``image`` sees at the mount path under ``kind``: names, owner."""
    profile = load_profile("jupyter4nfdi").with_overrides(volume_kind=kind)
    with Sandbox(client) as sandbox:
        script = f"ls -A {WORK}; echo ---; stat -c '%u:%g %a' {WORK}"
        tc = sandbox.container(
            image, command=["sh", "-c", script], user="0", mounts=volume_mounts(sandbox, profile)
        )
        tc.start()
        container = tc.get_wrapped_container()
        container.wait(timeout=60)
        out = container.logs().decode()
    names, _, owner = out.partition("---\n")
    return names.split(), owner.strip()


def test_a_docker_volume_is_filled_from_the_image(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    names, owner = _seen_at_work(docker_client, build_image("mount-hides-content"), "docker-volume")
    assert names == ["README.md", "examples"]
    assert owner == "1000:100 2755"  # the image directory's owner and mode came along


def test_a_bind_volume_starts_empty_with_its_owner(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    names, owner = _seen_at_work(docker_client, build_image("mount-hides-content"), "bind")
    assert names == [] and owner == "1000:100 755"


def test_a_pvc_starts_empty_in_the_fs_group(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    names, owner = _seen_at_work(docker_client, build_image("mount-hides-content"), "pvc")
    assert names == [] and owner == "0:100 2775"


def test_an_image_directory_is_read_within_the_bound(
    build_image: Callable[[str], str], docker_client: docker.DockerClient
) -> None:
    with Sandbox(docker_client) as sandbox:
        container = sandbox.created(build_image("mount-hides-content"))
        assert container.status == "created"
        full = list_path(container, WORK)
        bounded = list_path(container, WORK, max_entries=1)
        missing = list_path(container, "/no/such/dir")
        a_file = list_path(container, f"{WORK}/README.md")
    assert full is not None and full.complete
    assert [e.path for e in full.entries] == ["README.md", "examples", "examples/intro.ipynb"]
    assert bounded is not None and not bounded.complete and len(bounded.entries) == 1
    assert missing is None
    assert a_file is not None and [e.path for e in a_file.entries] == ["README.md"]
