"""Does the image ask jupyterhub-singleuser for the classic notebook server?"""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile

# The values that name notebook<7's server, which Notebook 7 no longer ships.
_CLASSIC = {"notebook", "notebook.notebookapp", "notebook.notebookapp.notebookapp"}


def check_singleuser_app(image: ImageInfo, profile: Profile) -> Finding:
    app = image.env.get("JUPYTERHUB_SINGLEUSER_APP")
    if app is None:
        return SINGLEUSER_APP_ENV.passed("JUPYTERHUB_SINGLEUSER_APP is not set (jupyter_server)")
    if app.strip().lower() in _CLASSIC:
        return SINGLEUSER_APP_ENV.warned(
            f"ENV JUPYTERHUB_SINGLEUSER_APP={app} selects the classic notebook server, "
            "which Notebook 7 removed: with notebook>=7 installed the server fails on import",
            evidence=f"Env: JUPYTERHUB_SINGLEUSER_APP={app}",
        )
    return SINGLEUSER_APP_ENV.passed(f"JUPYTERHUB_SINGLEUSER_APP={app}")


SINGLEUSER_APP_ENV = Check(
    id="singleuser-app-env",
    title="JUPYTERHUB_SINGLEUSER_APP does not ask for the classic notebook server",
    stage=Stage.STATIC,
    detection="Reads Config.Env: warns when JUPYTERHUB_SINGLEUSER_APP is notebook or notebook.notebookapp.NotebookApp.",
    cause=(
        "jupyterhub-singleuser imports the server JUPYTERHUB_SINGLEUSER_APP names; "
        "notebook.notebookapp.NotebookApp is gone in Notebook 7, so with notebook>=7 "
        "installed the import fails and the server never starts."
    ),
    fix=(
        "Remove the ENV line, or name the Jupyter Server app:\n"
        "  ENV JUPYTERHUB_SINGLEUSER_APP=jupyter_server.serverapp.ServerApp"
    ),
    evidence=("jupyterhub#4518",),
    probe=check_singleuser_app,
)
