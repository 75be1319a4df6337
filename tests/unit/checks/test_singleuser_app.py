"""singleuser-app-env: the image's ENV must not select notebook<7's server (jupyterhub#4518)."""

from __future__ import annotations

import pytest

from validator.checks.singleuser_app import check_singleuser_app
from validator.findings import Status
from validator.image import ImageInfo
from validator.profiles import load_profile

PROFILE = load_profile("jupyter4nfdi")


def image(**env: str) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + "0" * 64,
        os="linux",
        architecture="amd64",
        env={"PATH": "/usr/bin", **env},
    )


@pytest.mark.parametrize("app", ["notebook", "notebook.notebookapp.NotebookApp", " Notebook "])
def test_the_classic_notebook_app_warns_with_the_fix(app: str) -> None:
    finding = check_singleuser_app(image(JUPYTERHUB_SINGLEUSER_APP=app), PROFILE)
    assert finding.status is Status.WARN
    assert finding.check_id == "singleuser-app-env"
    assert "Notebook 7" in finding.message
    assert finding.fix and "jupyter_server.serverapp.ServerApp" in finding.fix
    assert finding.evidence == f"Env: JUPYTERHUB_SINGLEUSER_APP={app}"


@pytest.mark.parametrize("app", ["jupyter_server.serverapp.ServerApp", "jupyter-server"])
def test_the_jupyter_server_app_passes(app: str) -> None:
    assert check_singleuser_app(image(JUPYTERHUB_SINGLEUSER_APP=app), PROFILE).status is Status.PASS


def test_unset_passes() -> None:
    finding = check_singleuser_app(image(), PROFILE)
    assert finding.status is Status.PASS and "not set" in finding.message
