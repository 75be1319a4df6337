"""mount-hides-content: what a mount hides, named per volume kind; never a failure."""

from __future__ import annotations

from validator.checks.mounts import hidden_entries, judge_hidden, probe_mount_hides_content
from validator.checks.singleuser import ExecContext
from validator.findings import Status
from validator.profiles import load_profile
from validator.runtime.imagefiles import Entry, Listing

J4N = load_profile("jupyter4nfdi")


def _file(path: str, size: int = 10) -> Entry:
    return Entry(path, False, size, 1000, 100, 0o644)


def _dir(path: str) -> Entry:
    return Entry(path, True, 0, 1000, 100, 0o2755)


EXAMPLES = [_file("README.md", 18), _dir("examples"), _file("examples/intro.ipynb", 66)]


def test_a_bind_mount_over_shipped_files_warns_naming_them() -> None:
    finding = judge_hidden(J4N, {"/home/jovyan/work": (EXAMPLES, True)})
    assert finding.status is Status.WARN
    assert "2 files under /home/jovyan/work" in finding.message
    assert "README.md, examples/intro.ipynb" in finding.message
    assert "bind mount hides" in finding.message
    assert finding.fix is not None and "/opt/" in finding.fix


def test_a_docker_volume_copies_them_once_only() -> None:
    profile = J4N.with_overrides(volume_kind="docker-volume")
    finding = judge_hidden(profile, {"/home/jovyan/work": (EXAMPLES, True)})
    assert finding.status is Status.WARN
    assert "first use only" in finding.message and "later versions" in finding.message


def test_nothing_at_the_path_passes() -> None:
    finding = judge_hidden(J4N, {"/home/jovyan/work": ([], True)})
    assert finding.status is Status.PASS


def test_a_few_are_named_and_an_unfinished_listing_says_at_least() -> None:
    many = [_file(f"data/{i}.csv") for i in range(30)]
    finding = judge_hidden(J4N, {"/home/jovyan/work": (many, False)})
    assert "at least 30 files" in finding.message
    assert "data/0.csv, data/1.csv, data/2.csv, data/3.csv, ..." in finding.message
    assert "data/4.csv" not in finding.message


def test_only_directories_are_named_when_there_are_no_files() -> None:
    finding = judge_hidden(J4N, {"/home/jovyan/work": ([_dir("empty")], True)})
    assert finding.status is Status.WARN and "empty/" in finding.message


def test_useradds_skeleton_files_are_not_counted_but_changed_ones_are() -> None:
    skel = Listing(
        _dir(""), (_file(".bashrc", 3526), _file(".profile", 807), _file(".bash_logout", 220)), True
    )
    home = Listing(
        _dir(""), (_file(".bashrc", 4000), _file(".profile", 807), _file("notes.txt")), True
    )
    assert [e.path for e in hidden_entries(home, skel)] == [".bashrc", "notes.txt"]
    assert [e.path for e in hidden_entries(home, None)] == [".bashrc", ".profile", "notes.txt"]


def test_no_volume_no_question() -> None:
    profile = load_profile("dockerspawner")
    # Nothing is mounted: the probe answers before it needs the engine.
    ctx = ExecContext(sandbox=None, image=None, profile=profile, user=None)  # type: ignore[arg-type]
    assert probe_mount_hides_content(ctx).status is Status.SKIP
