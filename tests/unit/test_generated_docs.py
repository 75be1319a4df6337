import re
from pathlib import Path

from validator.checks import CATALOG
from validator.checks.doc import link, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def test_docs_checks_md_is_generated_from_the_catalogue() -> None:
    assert DOC.read_text() == render(), "run: python -m validator.checks.doc > docs/checks.md"


def test_every_check_is_fully_described() -> None:
    assert len(CATALOG) >= 20
    for check in CATALOG.values():
        assert check.id == check.id.lower() and " " not in check.id
        assert check.title and check.cause and check.detection and check.fix, check.id
        assert f"### `{check.id}`" in DOC.read_text()


def test_evidence_links() -> None:
    assert link("z2jh#819") == (
        "[z2jh#819](https://github.com/jupyterhub/zero-to-jupyterhub-k8s/issues/819)"
    )
    assert link("jupyterhub PR#4658") == (
        "[jupyterhub PR#4658](https://github.com/jupyterhub/jupyterhub/pull/4658)"
    )
    assert link("some note §3") == "some note §3"


def test_docs_profiles_md_is_generated_from_the_model() -> None:
    from validator.profiles.doc import render_doc

    path = DOC.parent / "profiles.md"
    assert path.read_text() == render_doc(), (
        "run: python -m validator.profiles.doc > docs/profiles.md"
    )


def test_docs_list_the_checks_in_the_order_they_run() -> None:
    from validator.checks import EXEC, RUNTIME, STATIC

    documented = re.findall(r"^### `([a-z0-9-]+)`", DOC.read_text(), re.MULTILINE)
    assert documented == [c.id for c in (*STATIC, *EXEC, *RUNTIME)]


def test_docs_cite_no_private_notes() -> None:
    assert "shared/notes" not in DOC.read_text()
    assert "singleuser-contract" not in DOC.read_text()
