"""The check form's parsing: the API's rules, messages by field, the token never kept."""

from __future__ import annotations

from validator.service.hubpage.forms import (
    CheckForm,
    FormErrors,
    form_fields,
    parse_form,
    registry_of,
    without_login,
)

TOKEN = "tok-" + "9" * 20


def test_every_form_of_image_users_write_is_accepted() -> None:
    for typed, canonical in (
        ("jupyter/base-notebook", "docker.io/jupyter/base-notebook:latest"),
        ("reg.example.org:5000/team/nb:v1", "reg.example.org:5000/team/nb:v1"),
        ("https://reg.example.org/team/nb:v1", "reg.example.org/team/nb:v1"),
    ):
        parsed = parse_form({"image": typed}, fixed_profile=None)
        assert isinstance(parsed, CheckForm), parsed
        assert parsed.request.image == canonical
        assert parsed.save is None


def test_a_login_becomes_the_requests_password_and_the_configurations_token() -> None:
    parsed = parse_form(
        {
            "image": "reg.example.org/team/nb:v1",
            "registry": "https://reg.example.org/",
            "username": "ada",
            "token": TOKEN,
            "mount_path": "/home/jovyan/work",
            "profile": "z2jh",
            "save": "1",
        },
        fixed_profile=None,
    )
    assert isinstance(parsed, CheckForm)
    assert parsed.request.password is not None
    assert parsed.request.password.get_secret_value() == TOKEN
    assert parsed.save is not None and parsed.save.token is not None
    assert parsed.save.target() == parsed.request.target()
    assert parsed.request.target().registry == "reg.example.org"
    assert parsed.request.target().mount_path == "/home/jovyan/work"
    assert TOKEN not in repr(parsed)


def test_the_operators_profile_wins_over_the_posted_one() -> None:
    parsed = parse_form({"image": "nb", "profile": "z2jh"}, fixed_profile="dockerspawner")
    assert isinstance(parsed, CheckForm) and parsed.request.profile == "dockerspawner"


def test_bad_input_gives_messages_by_field_and_never_the_token() -> None:
    cases = {
        "image": {"image": ""},
        "profile": {"image": "nb", "profile": "nope"},
        "username": {"image": "nb", "token": TOKEN},
        "registry": {"image": "nb", "registry": "not a host!"},
        "mount_path": {"image": "nb", "mount_path": "relative/path"},
    }
    for field, fields in cases.items():
        login = {} if field == "username" else {"username": "ada"}
        parsed = parse_form({**login, **fields, "token": TOKEN}, fixed_profile=None)
        assert isinstance(parsed, FormErrors), (field, parsed)
        assert field in parsed.messages, (field, parsed.messages)
        assert "token" not in parsed.values
        assert all(TOKEN not in text for text in parsed.messages.values())


def test_a_login_written_into_the_image_is_refused_and_not_shown_again() -> None:
    typed = f"ada:{TOKEN}@reg.example.org/team/nb:v1"
    parsed = parse_form({"image": typed}, fixed_profile=None)
    assert isinstance(parsed, FormErrors)
    assert TOKEN not in parsed.messages["image"]
    assert parsed.values["image"] == ""
    assert without_login(f"https://ada:{TOKEN}@reg.example.org/nb") == ""
    assert without_login("reg.example.org/nb@sha256:" + "a" * 64).startswith("reg.example.org")


def test_registry_of_takes_the_host_of_what_users_type() -> None:
    assert registry_of("myregistry.com:5000/myuser/myrepo") == "myregistry.com:5000"
    assert registry_of("https://reg.example.org/") == "reg.example.org"
    assert registry_of("  http://127.0.0.1:5000 ") == "127.0.0.1:5000"


def test_form_fields_reads_url_encoded_bodies_only() -> None:
    body = b"image=a%2Fb&token=x&image=second&_csrf=c"
    assert form_fields("application/x-www-form-urlencoded; charset=utf-8", body) == {
        "image": "a/b",
        "token": "x",
        "_csrf": "c",
    }
    assert form_fields("multipart/form-data; boundary=x", body) == {}
    assert form_fields("application/x-www-form-urlencoded", b"\xff\xfe") == {}
    many = "&".join(f"f{n}=1" for n in range(100)).encode()
    assert form_fields("application/x-www-form-urlencoded", many) == {}
