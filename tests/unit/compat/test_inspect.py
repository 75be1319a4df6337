"""The inspection parser: probe output in, Inspection out (no Docker)."""

from __future__ import annotations

from validator.compat.inspect import parse, summary
from validator.image import ImageInfo

T = "\t"

DEBIAN_VENV = "\n".join(
    [
        f"pm{T}apt-get",
        f"libc{T}glibc",
        f"os{T}debian{T}12",
        f"shell{T}/usr/bin/sh",
        f"shell{T}/usr/bin/bash",
        f"python{T}/opt/venv/bin/python3{T}3.11.2{T}/opt/venv{T}1{T}1{T}1{T}",
        # The same venv under another name: one environment.
        f"python{T}/opt/venv/bin/python3.11{T}3.11.2{T}/opt/venv{T}1{T}1{T}1{T}",
        f"python{T}/usr/bin/python3{T}3.11.2{T}/usr{T}0{T}0{T}0{T}",
        f"user{T}root{T}0{T}0{T}/root{T}/bin/bash",
        f"user{T}analyst{T}1000{T}1000{T}/home/analyst{T}/bin/bash",
        f"group100{T}users",
        f"home{T}/home/analyst{T}1000{T}755",
        "end",
    ]
)


def config(**kw: object) -> ImageInfo:
    return ImageInfo(id="sha256:" + "0" * 64, os="linux", architecture="amd64", **kw)  # type: ignore[arg-type]


def test_parses_a_debian_image_with_a_user_venv() -> None:
    found = parse(DEBIAN_VENV, config(user="analyst", cmd=("python3",)))
    assert found.ran
    assert found.package_manager == "apt-get"
    assert found.libc == "glibc"
    assert (found.os_id, found.os_version) == ("debian", "12")
    assert [p.prefix for p in found.pythons] == ["/opt/venv", "/usr"]
    assert found.user_python is not None and found.user_python.prefix == "/opt/venv"
    # The system Python lacks ensurepip (no python3-venv): the venv's can make one.
    assert found.base_python is not None and found.base_python.prefix == "/opt/venv"
    assert found.uid1000 is not None and found.uid1000.name == "analyst"
    assert found.account("analyst") == found.uid1000
    assert found.account("1000:100") == found.uid1000
    assert found.homes["/home/analyst"] == (1000, "755")
    assert found.cmd == ("python3",)
    assert found.group100 == "users"


def test_modules_are_read() -> None:
    line = f"python{T}/opt/v/bin/python3{T}3.12.1{T}/opt/v{T}1{T}1{T}1{T}ipykernel,jupyterlab\nend"
    (python,) = parse(line).pythons
    assert python.modules == {"ipykernel", "jupyterlab"}
    assert python.version_tuple == (3, 12, 1)


def test_no_output_means_nothing_ran() -> None:
    found = parse("")
    assert not found.ran
    assert found.package_manager is None and found.pythons == ()
    assert summary(found) == ["no /bin/sh: the image's filesystem could not be inspected"]


def test_garbage_and_unknown_managers_are_ignored() -> None:
    text = "\n".join(
        [
            f"pm{T}brew",
            f"user{T}x{T}notanumber{T}0{T}/{T}/bin/sh",
            f"python{T}short",
            "x" * 10_000,
            "end",
        ]
    )
    found = parse(text)
    assert (
        found.ran and found.package_managers == () and found.accounts == () and found.pythons == ()
    )


def test_output_is_bounded() -> None:
    lines = [f"shell{T}/bin/s{i}" for i in range(5000)]
    assert len(parse("\n".join(lines)).shells) == 2000


def test_r_and_init() -> None:
    found = parse(f"r{T}/usr/bin/R{T}4.2.2{T}1\ninit{T}/usr/bin/tini\nend")
    assert (found.r_path, found.r_version, found.irkernel) == ("/usr/bin/R", "4.2.2", True)
    assert found.init == "/usr/bin/tini"
