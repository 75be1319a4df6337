"""HOME and PATH as the server will see them."""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import Profile


def check_home_path(image: ImageInfo, profile: Profile) -> Finding:
    path = image.env.get("PATH")
    home = image.env.get("HOME")
    if not path:
        return HOME_PATH.warned("the image sets no PATH; Docker's default PATH applies")
    if home is None and profile.uid is not None:
        return HOME_PATH.warned(
            f"the image sets no HOME and the hub runs uid {profile.uid}: HOME comes from "
            "/etc/passwd, or is / when that uid has no entry"
        )
    return HOME_PATH.passed(f"HOME={home or '(from /etc/passwd)'}, PATH={path}")


HOME_PATH = Check(
    id="home-path",
    title="HOME and PATH are set for the user the hub runs",
    stage=Stage.STATIC,
    detection="Reads Config.Env: warns when PATH is missing, or HOME is unset while the profile runs a fixed uid.",
    cause=(
        "Without HOME the server writes its runtime files under / (PermissionError) when "
        "the hub's uid has no passwd entry; a PATH without the environment's bin "
        "directory hides jupyterhub-singleuser."
    ),
    fix=(
        "Set both in the Dockerfile, e.g.\n  ENV HOME=/home/jovyan\n  ENV PATH=/opt/venv/bin:$PATH"
    ),
    evidence=("jupyterhub#1361", "dockerspawner#348", "z2jh#819", "binderhub#964"),
    probe=check_home_path,
)
