"""home-writable through the contents API, including the legacy servers' XSRF retry."""

from __future__ import annotations

import json

from tests.unit.checks.runtime.candidate_server import Answer, CandidateServer, Route, Seen
from validator.checks.runtime.storage import probe_home_writable, probe_mount_writable, volume_fix
from validator.findings import Status
from validator.profiles import load_profile

PROFILE = load_profile("jupyter4nfdi")
P = PROFILE.service_prefix


class Contents:
    """A contents API that keeps one file and, like a legacy server, wants an XSRF token."""

    def __init__(self, *, xsrf: bool, writable: bool = True) -> None:
        self.xsrf, self.writable = xsrf, writable
        self.files: dict[str, str] = {}

    def routes(self) -> dict[tuple[str, str], Route]:
        # The probe picks a random file name; answer for whichever one it asks about.
        files = f"{P}api/contents/*"
        return {
            ("PUT", files): self.put,
            ("GET", files): self.get,
            ("DELETE", files): self.delete,
            ("GET", P + "lab"): Answer(200, "<html/>", {"Set-Cookie": "_xsrf=abc; Path=/"}),
        }

    def _refused(self, seen: Seen) -> Answer | None:
        if self.xsrf and seen.headers.get("X-XSRFToken") != "abc":
            return Answer(403, '{"message": "\'_xsrf\' argument missing from POST"}')
        return None

    def put(self, seen: Seen) -> Answer:
        refused = self._refused(seen)
        if refused:
            return refused
        if not self.writable:
            return Answer(500, "PermissionError: [Errno 13] Permission denied: '/home/jovyan/x'")
        self.files[seen.path] = json.loads(seen.body)["content"]
        return Answer.json(201, {"name": seen.path})

    def get(self, seen: Seen) -> Answer:
        return Answer.json(200, {"content": self.files.get(seen.path)})

    def delete(self, seen: Seen) -> Answer:
        return self._refused(seen) or Answer(204)


def _run(contents: Contents) -> tuple[Status, str, list[str]]:
    with CandidateServer(contents.routes()) as server:
        finding = probe_home_writable(server.context(PROFILE))
        calls = [f"{s.method} {s.path.rsplit('/', 1)[-1]}" for s in server.seen]
    return finding.status, finding.message, calls


def test_a_file_is_saved_read_back_and_deleted() -> None:
    contents = Contents(xsrf=False)
    status, _, calls = _run(contents)
    assert status is Status.PASS
    assert [c.split()[0] for c in calls] == ["PUT", "GET", "DELETE"]


def test_a_legacy_server_gets_its_xsrf_cookie_and_one_retry() -> None:
    status, _, calls = _run(Contents(xsrf=True))
    assert status is Status.PASS
    assert [c.split()[0] for c in calls] == ["PUT", "GET", "PUT", "GET", "DELETE"]
    assert calls[1] == "GET lab"


def test_an_unwritable_root_fails_with_the_named_cause() -> None:
    status, message, _ = _run(Contents(xsrf=False, writable=False))
    assert status is Status.FAIL
    assert message.startswith("saving a file in the server's root directory failed (500)")
    assert "cannot write its home" in message


def test_mount_writable_is_skipped_without_a_mount_path() -> None:
    with CandidateServer({}) as server:
        finding = probe_mount_writable(
            server.context(PROFILE.model_copy(update={"mount_path": None}))
        )
    assert finding.status is Status.SKIP


def test_the_fix_for_a_bind_directory_is_to_run_as_its_owner() -> None:
    fix = volume_fix(PROFILE, "/home/jovyan/work")
    assert fix is not None and "1000:100" in fix and "USER 1000" in fix and "USER jovyan" in fix


def test_the_fix_for_a_docker_volume_is_the_image_directorys_owner() -> None:
    fix = volume_fix(PROFILE.with_overrides(volume_kind="docker-volume"), "/home/jovyan/work")
    assert fix is not None and "chown 1000:100 /home/jovyan/work" in fix


def test_the_fix_for_a_pvc_is_to_keep_the_fs_group() -> None:
    fix = volume_fix(load_profile("z2jh"), "/home/jovyan")
    assert fix is not None and "group 100" in fix
    assert (
        volume_fix(load_profile("dockerspawner").with_overrides(volume_kind="pvc"), "/data") is None
    )
