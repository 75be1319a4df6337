"""Profiles: the built-in YAML files, overrides, schema errors, and ``extends``."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.choices import DEFAULT_PROFILE
from validator.errors import ProfileError
from validator.profiles import (
    CommandMode,
    Profile,
    builtin_names,
    list_profiles,
    load_profile,
)


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_builtin_names() -> None:
    assert builtin_names() == ["dockerspawner", "jupyter4nfdi", "z2jh"]
    assert [p.name for p in list_profiles()] == builtin_names()


def test_default_profile_is_jupyter4nfdi() -> None:
    assert DEFAULT_PROFILE == "jupyter4nfdi"
    assert load_profile() == load_profile("jupyter4nfdi")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "jupyter4nfdi",
            {
                "hub_version": "5.4.6",
                "hub_major": 5,
                "spawner": "kubespawner",
                # Interactive servers run the image's ENTRYPOINT + CMD (KubeSpawner
                # cmd unset); the job API's bash -lc start is judged beside it.
                "command_modes": [CommandMode.IMAGE],
                "advisory_command_modes": [CommandMode.JOB],
                "port": 8443,
                "internal_ssl": True,
                "random_server_name": True,
                "uid": None,
                "fs_gid": 100,
                "mount_path": "/home/jovyan/work",
                "volume_kind": "bind",
                "volume_owner_ids": (1000, 100),
                "allow_privilege_escalation": True,
                "pull_policy": "always",
                "start_timeout": 600,
                "http_timeout": 7200,
            },
            id="jupyter4nfdi",
        ),
        pytest.param(
            "dockerspawner",
            {
                "spawner": "dockerspawner",
                "command_modes": [CommandMode.IMAGE],
                "port": 8888,
                "uid": None,
                "server_name": "",
                "service_prefix": "/user/validator/",
                "allow_privilege_escalation": True,
                "start_timeout": 60,
            },
            id="dockerspawner",
        ),
        pytest.param(
            "z2jh",
            {
                "spawner": "kubespawner",
                "command_modes": [CommandMode.SINGLEUSER],
                "uid": 1000,
                "gid": 100,
                "fs_gid": 100,
                "home_volume": "/home/jovyan",
                "allow_privilege_escalation": False,
            },
            id="z2jh",
        ),
    ],
)
def test_builtin_profile_fields(name: str, expected: dict[str, object]) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert {field: getattr(profile, field) for field in expected} == expected


def test_profiles_are_frozen() -> None:
    profile = load_profile("z2jh")
    with pytest.raises(ValueError):
        profile.port = 1


def test_overrides_replace_fields_and_keep_the_original() -> None:
    base = load_profile("dockerspawner")
    changed = base.with_overrides(port=9999, hub_version="4.1.6", mount_path="/mnt/data/")
    assert (changed.port, changed.hub_version, changed.hub_major) == (9999, "4.1.6", 4)
    assert changed.mount_path == "/mnt/data"  # normalised like a value from YAML
    assert base.port == 8888


def test_overrides_of_none_keep_the_profile() -> None:
    base = load_profile("z2jh")
    assert base.with_overrides(port=None, uid=None) is base


def test_overrides_are_validated_all_at_once() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile().with_overrides(port=0, hub_version="5", mount_path="relative/path")
    message = caught.value.one_line()
    assert "\n" not in message
    assert "'jupyter4nfdi'" in message
    for field in ("port", "hub_version", "mount_path"):
        assert f"{field}:" in message
    # The CLI quotes what the user typed; the profile's errors quote nothing of the input.
    assert "'5'" not in message and "relative/path" not in message


def test_a_file_with_many_errors_reports_them_on_one_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.yaml",
        "hub_version: abc\nport: 0\ncommand_modes: []\nplatform: zz64\nbogus: 1\n",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = caught.value.one_line()
    assert "\n" not in message
    assert repr(path) in message
    for field, line in (("hub_version", 1), ("port", 2), ("command_modes", 3), ("platform", 4)):
        assert f"{field} (line {line}):" in message
    assert "line 5: unknown field" in message
    # Neither the values nor the unknown key are quoted: they are the file's text.
    assert "abc" not in message and "bogus" not in message and "zz64" not in message
    assert caught.value.hint is not None


def test_a_missing_required_field_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "min.yaml", "hub_version: 5.4.6\n")
    with pytest.raises(ProfileError, match="command_modes"):
        load_profile(path)


def test_a_minimal_file_gets_defaults_and_its_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "my-hub.yaml", 'hub_version: "5.3.0"\ncommand_modes: [image]\n')
    profile = load_profile(path)
    assert isinstance(profile, Profile)
    assert profile.name == "my-hub"
    assert (profile.port, profile.platform, profile.user_name) == (8888, "linux/amd64", "validator")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- just\n- a list\n", "must be a mapping"), ("", "must be a mapping")],
)
def test_a_file_that_is_not_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ProfileError, match=expected):
        load_profile(_write(tmp_path / "list.yaml", text))


def test_invalid_yaml_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(_write(tmp_path / "broken.yaml", "port: [\n"))


def test_invalid_yaml_error_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(_write(tmp_path / "broken.yaml", "port: [\n"))
    assert "\n" not in caught.value.one_line()


def test_a_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.yaml")
    with pytest.raises(ProfileError, match="cannot read profile") as caught:
        load_profile(path)
    assert repr(path) in str(caught.value)


def test_an_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("jupyter5nfdi")
    assert "unknown profile 'jupyter5nfdi'" in str(caught.value)
    hint = caught.value.hint or ""
    for name in builtin_names():
        assert name in hint


def test_extends_a_builtin(tmp_path: Path) -> None:
    path = _write(tmp_path / "campus.yaml", "extends: z2jh\nport: 9999\nhub_version: 5.2.1\n")
    profile = load_profile(path)
    assert (profile.port, profile.hub_version) == (9999, "5.2.1")
    # Everything else comes from z2jh.
    assert profile.uid == 1000
    assert profile.home_volume == "/home/jovyan"
    assert profile.command_modes == [CommandMode.SINGLEUSER]


def test_extends_a_chain_of_files(tmp_path: Path) -> None:
    _write(tmp_path / "middle.yaml", "extends: dockerspawner\nport: 7000\nuid: 1234\n")
    leaf = _write(tmp_path / "leaf.yaml", "extends: middle.yaml\nport: 7001\n")
    profile = load_profile(leaf)
    assert (profile.port, profile.uid, profile.spawner) == (7001, 1234, "dockerspawner")


def test_an_extending_profile_keeps_its_own_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "campus.yaml", "extends: z2jh\nport: 9999\n")
    assert load_profile(path).name == "campus"


def test_an_explicit_name_wins_over_the_parent(tmp_path: Path) -> None:
    path = _write(tmp_path / "campus.yaml", "extends: z2jh\nname: campus\n")
    assert load_profile(path).name == "campus"


def test_extends_errors_are_checked_after_merging(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad-child.yaml", "extends: z2jh\nuid: -1\n")
    with pytest.raises(ProfileError, match=r"uid \(line 2\):"):
        load_profile(path)


def test_extends_an_unknown_profile(tmp_path: Path) -> None:
    path = _write(tmp_path / "orphan.yaml", "extends: no-such-profile\n")
    with pytest.raises(ProfileError, match="unknown profile 'no-such-profile'"):
        load_profile(path)


def test_extends_must_be_a_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "odd.yaml", "extends: [z2jh]\n")
    with pytest.raises(ProfileError, match="extends must be a profile name"):
        load_profile(path)


def test_extends_loop_is_reported(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.yaml", "extends: b.yaml\n")
    _write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(a)
    message = str(caught.value)
    assert "loops" in message
    assert "a.yaml -> b.yaml -> a.yaml" in message


def test_extends_itself_is_a_loop(tmp_path: Path) -> None:
    path = _write(tmp_path / "self.yaml", "extends: self.yaml\n")
    with pytest.raises(ProfileError, match="loops"):
        load_profile(path)


@pytest.mark.parametrize("name", ["jupyter4nfdi", "dockerspawner", "z2jh"])
def test_builtin_profiles_name_a_source_for_their_platform_facts(name: str) -> None:
    profile = load_profile(name)
    # Everything but bookkeeping that a profile sets is a claim about the platform.
    claims = profile.model_fields_set - {
        "name",
        "description",
        "sources",
        "platform",
        "size_budget_mb",
        "hub_version",
        "spawner",
        "server_name",
    }
    assert claims - set(profile.sources) == set()


def test_a_random_server_name_is_drawn_per_spawn() -> None:
    profile = load_profile("jupyter4nfdi")
    first, second = profile.for_spawn(), profile.for_spawn()
    assert first.server_name != second.server_name
    for spawn in (first, second):
        assert len(spawn.server_name) == 32 and spawn.server_name[0].isalpha()
        assert spawn.service_prefix.endswith(f"@login.helmholtz.de/{spawn.server_name}/")
    fixed = load_profile("dockerspawner")
    assert fixed.for_spawn() is fixed


def test_reports_say_what_they_judged_under() -> None:
    settings = load_profile("jupyter4nfdi").judged_under()
    assert settings["policy"] == "image (advisory: job)"
    assert (settings["port"], settings["tls"]) == ("8443", "internal SSL")
    assert settings["user"] == "the image USER, fsGroup 100"
    assert settings["volume"] == "bind at /home/jovyan/work (owner 1000:100)"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"volume_kind": "bind"}, "volume_owner: required"),
        ({"volume_owner": "jovyan"}, "expected uid:gid"),
        ({"volume_owner": f"{2**32}:100"}, "expected uid:gid"),
        ({"volume_owner": "1000:100\n"}, "expected uid:gid"),
        ({"volume_owner": "\u0661\u0660\u0660\u0660:100"}, "expected uid:gid"),
        ({"advisory_command_modes": ["image"]}, "already decide the verdict"),
        ({"sources": {"colour": "x"}}, "no such fields"),
        ({"pull_bandwidth_mbps": float("nan")}, "pull_bandwidth_mbps"),
        ({"platform_tools": ["sh; rm -rf /"]}, "command names"),
    ],
)
def test_inconsistent_profile_fields_are_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ProfileError, match=words):
        load_profile("dockerspawner").with_overrides(**changes)
