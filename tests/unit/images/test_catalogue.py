"""The image catalogue: the shipped one loads, and a broken one reports every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.images.catalogue import load_catalogue
from validator.images.errors import CatalogueError

REPO = Path(__file__).resolve().parents[3]


def write(directory: Path, name: str, text: str) -> None:
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_shipped_catalogue_loads_with_the_issue_hub_versions() -> None:
    catalogue = load_catalogue(REPO / "base-images", REPO / "templates")
    assert [s.name for s in catalogue.chain("scientific")] == [
        "foundation",
        "base",
        "minimal",
        "scientific",
    ]
    assert {"4.1.6", "5.4.6", "6.1.1"} <= set(catalogue.hub_versions("base"))
    assert catalogue.hub_versions("scientific") == catalogue.hub_versions("base")
    assert catalogue.hub_versions("foundation") == ()
    assert catalogue.default_hub("minimal") == "5.4.6"
    assert catalogue.python("base") == catalogue.root("base").python


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "root", "name: root\ndescription: r\ntemplate: foundation\nparent: null\n")
    write(
        tmp_path,
        "child",
        "name: child\ndescription: c\ntemplate: base\nparent: root\n"
        "hub_versions: ['5.4']\nextra_field: 1\n",
    )
    write(tmp_path, "other", "name: wrong\ndescription: o\ntemplate: base\nparent: root\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    message = caught.value.message
    assert "child.yaml: hub_versions: expected X.Y.Z versions, got '5.4'" in message
    assert "child.yaml: extra_field" in message
    assert "other.yaml: name 'wrong' differs from the file name" in message


def test_relations_are_checked(tmp_path: Path) -> None:
    write(tmp_path, "root", "name: root\ndescription: r\ntemplate: t\nparent: null\n")
    write(tmp_path, "a", "name: a\ndescription: a\ntemplate: t\nparent: b\npython: '3.12'\n")
    write(tmp_path, "b", "name: b\ndescription: b\ntemplate: t\nparent: a\n")
    write(tmp_path, "lost", "name: lost\ndescription: l\ntemplate: t\nparent: nowhere\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    message = caught.value.message
    assert "root.yaml: a root image must set python" in message
    assert "parents form a cycle" in message
    assert "lost.yaml: parent 'nowhere' is not in the catalogue" in message
    assert "a.yaml: python is set by the root of the chain" in message


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        pytest.param(
            {
                "root": "name: root\ndescription: r\ntemplate: t\nparent: null\npython: '3.9'\n",
                "hub": "name: hub\ndescription: h\ntemplate: t\nparent: root\nhub_versions: ['6.1.1']\n",
            },
            r"JupyterHub 6.1.1 needs Python >= 3.10",
            id="hub-6-needs-python-3.10",
        ),
        pytest.param(
            {
                "root": "name: root\ndescription: r\ntemplate: t\nparent: null\npython: '3.12'\n",
                "hub": "name: hub\ndescription: h\ntemplate: t\nparent: root\nhub_versions: ['5.4.6']\n",
                "kid": "name: kid\ndescription: k\ntemplate: t\nparent: hub\nhub_versions: ['5.4.6', '6.1.1']\n",
            },
            r"hub_versions 6.1.1 are not built for parent 'hub'",
            id="child-may-narrow-but-not-widen-hub-versions",
        ),
    ],
)
def test_hub_versions_are_checked(tmp_path: Path, entries: dict[str, str], error: str) -> None:
    for name, text in entries.items():
        write(tmp_path, name, text)
    with pytest.raises(CatalogueError, match=error):
        load_catalogue(tmp_path)


def test_missing_template_is_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        "root",
        "name: root\ndescription: r\ntemplate: nope\nparent: null\npython: '3.12'\n",
    )
    with pytest.raises(CatalogueError, match=r"template 'nope' has no nope/Dockerfile.j2"):
        load_catalogue(tmp_path, REPO / "templates")


def test_empty_directory_says_where_to_look(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    assert caught.value.hint and "--catalogue" in caught.value.hint
