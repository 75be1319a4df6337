"""Profile files as an attacker or a careless user writes them: every one ends in one
ProfileError line, fast, without blocking, and without quoting the file's text."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from validator.errors import ProfileError
from validator.profiles import load_profile
from validator.profiles.reading import MAX_BYTES, MAX_DEPTH

MINIMAL = 'hub_version: "5.2.1"\ncommand_modes: [image]\n'
SHADOW = (
    "root:$6$Zq8saltsalt$Xk29hashhashhashhash:19700:0:99999:7:::\n"
    "daemon:*:19700:0:99999:7:::\n"
    "jovyan:$y$j9T$s3cr3tsalt$s3cr3thash:19701:0:99999:7:::\n"
)


def _refused(target: str | Path, *words: str) -> str:
    began = time.monotonic()
    with pytest.raises(ProfileError) as caught:
        load_profile(str(target))
    # Each of these must fail at once: no expansion, no endless read, no blocking open.
    assert time.monotonic() - began < 5
    message = caught.value.one_line()
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


def test_a_billion_laughs_file_is_refused_before_any_expansion(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{chr(98 + n)}: &{chr(98 + n)} [{','.join([f'*{chr(97 + n)}'] * 9)}]" for n in range(9)
    ]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(path, "anchors and aliases", "line 1")


def test_a_merge_key_needs_an_alias_and_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(f"base: &b {{port: 1}}\n<<: *b\n{MINIMAL}", encoding="utf-8")
    _refused(path, "anchors and aliases")


def test_deep_nesting_stops_at_the_depth_limit(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("sources: " + "[" * 200_000 + "]" * 200_000 + "\n", encoding="utf-8")
    _refused(path, f"nested deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_without_reading_it(device: str) -> None:
    _refused(device, "not a regular file")


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _refused(fifo, "not a regular file")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "it is a directory")


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "#" * MAX_BYTES + "\n", encoding="utf-8")
    _refused(path, "larger than 1 MiB")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.encode() + "description: Gr\xfc\xdfe\n".encode("latin-1"))
    _refused(path, "not UTF-8 text (byte")


@pytest.mark.parametrize(
    "text",
    [
        SHADOW,
        # a key: value file of secrets, wrong as a profile in every field
        "api_token: s3cr3tvalue\nport: s3cr3tport\nhub_version: s3cr3tversion\n",
        f"{MINIMAL}sources: {{s3cr3tkey: x}}\n",
        "s3cr3t: [\n",
        "\ts3cr3t\n",
        'key: "\\qs3cr3t"\n',
    ],
)
def test_errors_quote_nothing_of_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(text, encoding="utf-8")
    message = _refused(path, repr(str(path)))
    for secret in ("s3cr3t", "$6$", "Zq8salt", "api_token", "daemon"):
        assert secret not in message


def test_a_repeated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(f"{MINIMAL}port: 8000\nport: 9000\n", encoding="utf-8")
    _refused(path, "a key is repeated at line 4")


def test_an_integer_beyond_python_s_digit_limit_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "digits.yaml"
    path.write_text(f"{MINIMAL}port: {'9' * 5000}\n", encoding="utf-8")
    _refused(path, "a value YAML cannot represent")


@pytest.mark.parametrize(
    ("extends", "words"),
    [
        ("/etc/shadow", "extends must be a profile name or the file name"),
        ("/dev/zero", "extends must be a profile name or the file name"),
        ("../outside.yaml", "extends must be a profile name or the file name"),
        ("sub/inner.yaml", "extends must be a profile name or the file name"),
        ("link.yaml", "leads out of the profile's directory"),
    ],
)
def test_extends_reads_only_built_ins_and_files_beside_the_profile(
    tmp_path: Path, extends: str, words: str
) -> None:
    (tmp_path / "outside.yaml").write_text(MINIMAL, encoding="utf-8")
    here = tmp_path / "profiles"
    here.mkdir()
    (here / "sub").mkdir()
    (here / "sub" / "inner.yaml").write_text(MINIMAL, encoding="utf-8")
    (here / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    path = here / "child.yaml"
    path.write_text(f"extends: {extends}\n", encoding="utf-8")
    _refused(path, words)


def test_extends_resolves_beside_the_profile_not_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, elsewhere = tmp_path / "profiles", tmp_path / "cwd"
    here.mkdir()
    elsewhere.mkdir()
    (here / "base.yaml").write_text(f"{MINIMAL}port: 7000\n", encoding="utf-8")
    (elsewhere / "base.yaml").write_text(f"{MINIMAL}port: 6000\n", encoding="utf-8")
    (here / "child.yaml").write_text("extends: base.yaml\nuid: 1234\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    profile = load_profile(str(here / "child.yaml"))
    assert (profile.port, profile.uid) == (7000, 1234)


def test_a_symlink_beside_the_profile_to_a_file_beside_it_is_followed(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(f"{MINIMAL}port: 7000\n", encoding="utf-8")
    (tmp_path / "alias.yaml").symlink_to(tmp_path / "base.yaml")
    (tmp_path / "child.yaml").write_text("extends: alias.yaml\n", encoding="utf-8")
    assert load_profile(str(tmp_path / "child.yaml")).port == 7000


def test_an_extends_chain_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "p0.yaml").write_text(MINIMAL, encoding="utf-8")
    for n in range(1, 12):
        (tmp_path / f"p{n}.yaml").write_text(f"extends: p{n - 1}.yaml\n", encoding="utf-8")
    _refused(tmp_path / "p11.yaml", "extends more than 8 profiles deep")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("advisory_command_modes", "[job, job]", "expected each mode once"),
        ("uid", str(2**32 - 1), "uid (line 3): Input should be less than or equal to"),
        ("gid", str(2**32), "gid (line 3)"),
        ("fs_gid", "-1", "fs_gid (line 3)"),
        ("port", "65536", "port (line 3)"),
        ("http_timeout", ".inf", "http_timeout (line 3)"),
        ("start_timeout", ".nan", "start_timeout (line 3)"),
        ("pull_bandwidth_mbps", ".inf", "pull_bandwidth_mbps (line 3)"),
        ("size_budget_mb", "1e300", "size_budget_mb (line 3)"),
        ("user_name", '"validator\\n"', "user_name (line 3)"),
        ("user_name", '"\u00e9mile"', "user_name (line 3)"),
        ("server_name", '".."', "not only dots"),
        ("server_name", '"."', "not only dots"),
        ("mount_path", "/proc/self", "is a system path"),
        ("mount_path", "/usr", "is a system path"),
        ("mount_path", "/mnt/a:b", "no ':'"),
        ("mount_path", "/mnt/../etc", "without . or .. components"),
        ("home_volume", "/", "is a system path"),
        ("ssl_mount_path", "relative", "an absolute path"),
        ("platform", "linux/amd64\\n", "platform (line 3)"),
        ("name", '"two\\nlines"', "name (line 3)"),
        ("description", '"bell\\a"', "description (line 3)"),
        ("platform_tools", "[curl, curl]", "expected each command once"),
    ],
)
def test_fields_out_of_range_or_unsafe_are_refused(
    tmp_path: Path, field: str, value: str, words: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"{MINIMAL}{field}: {value}\n", encoding="utf-8")
    _refused(path, words)


def test_a_hub_version_with_a_trailing_newline_or_foreign_digits_is_refused(
    tmp_path: Path,
) -> None:
    for version in ('"5.2.1\\n"', '"\u0665.2.1"', '"5.2.1.0"', f'"5.2.{"1" * 5000}"'):
        path = tmp_path / "v.yaml"
        path.write_text(f"hub_version: {version}\ncommand_modes: [image]\n", encoding="utf-8")
        _refused(path, "hub_version (line 1): expected X.Y.Z in ASCII digits")


def test_a_repeated_command_mode_is_refused_not_spawned_twice(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text('hub_version: "5.2.1"\ncommand_modes: [image, job, image]\n', encoding="utf-8")
    _refused(path, "command_modes (line 2): expected each mode once")


def test_mount_paths_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"{MINIMAL}mount_path: /mnt//data/\nhome_volume: /tmp\n", encoding="utf-8")
    profile = load_profile(str(path))
    assert (profile.mount_path, profile.home_volume) == ("/mnt/data", "/tmp")


def test_a_volume_over_the_certificates_is_refused() -> None:
    with pytest.raises(ProfileError, match="overlaps ssl_mount_path"):
        load_profile("jupyter4nfdi").with_overrides(mount_path="/etc/jupyterhub/ssl/x")
