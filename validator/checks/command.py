"""What the spawner will execute: CMD and ENTRYPOINT."""

from __future__ import annotations

from validator.checks.base import Check, Stage
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile


def _shell_form(entrypoint: tuple[str, ...]) -> bool:
    shells = {"/bin/sh", "sh", "/bin/bash", "bash", "/usr/bin/sh", "/usr/bin/bash"}
    return len(entrypoint) == 3 and entrypoint[0] in shells and entrypoint[1] == "-c"


def check_command(image: ImageInfo, profile: Profile) -> Finding:
    cmd, entrypoint = image.cmd or (), image.entrypoint or ()
    uses_image_cmd = CommandMode.IMAGE in profile.command_modes
    if not cmd and not entrypoint:
        return COMMAND.failed("the image has neither CMD nor ENTRYPOINT")
    if not cmd and uses_image_cmd and profile.spawner == "dockerspawner":
        return COMMAND.failed(
            f"the image has no CMD (ENTRYPOINT {list(entrypoint)}); DockerSpawner needs one"
        )
    shown = list(cmd) if cmd else f"(none; ENTRYPOINT {list(entrypoint)})"
    return COMMAND.passed(f"CMD {shown}")


def check_entrypoint_form(image: ImageInfo, profile: Profile) -> Finding:
    entrypoint = image.entrypoint or ()
    if not entrypoint:
        return ENTRYPOINT_FORM.passed("no ENTRYPOINT: the command runs as given")
    if not _shell_form(entrypoint):
        return ENTRYPOINT_FORM.passed(f"exec-form ENTRYPOINT {list(entrypoint)}")
    script = entrypoint[2]
    if "$@" in script and "$0" in script:
        return ENTRYPOINT_FORM.passed(f"shell-form ENTRYPOINT forwards its arguments: {script!r}")
    message = f"shell-form ENTRYPOINT {script!r} drops the command the hub passes"
    if CommandMode.SINGLEUSER in profile.command_modes:
        return ENTRYPOINT_FORM.failed(message, evidence=f"Entrypoint: {list(entrypoint)}")
    return ENTRYPOINT_FORM.warned(
        message + " (this hub uses the image CMD, which is dropped too)",
        evidence=f"Entrypoint: {list(entrypoint)}",
    )


COMMAND = Check(
    id="command",
    title="The image has a command the spawner can start",
    stage=Stage.STATIC,
    detection="Reads Config.Cmd and Config.Entrypoint from the image; fails when neither is set, or when CMD is missing and the profile's spawner is DockerSpawner.",
    cause=(
        "DockerSpawner starts the image CMD (it adds its args to it); an image without "
        "CMD makes the spawn crash before the container exists. Without CMD and "
        "ENTRYPOINT no spawner can start it."
    ),
    fix='Add to the Dockerfile: CMD ["jupyterhub-singleuser"]',
    evidence=("dockerspawner.py get_command (code)",),
    probe=check_command,
)


ENTRYPOINT_FORM = Check(
    id="entrypoint-form",
    title="The ENTRYPOINT passes its arguments on",
    stage=Stage.STATIC,
    detection="Recognises a shell-form ENTRYPOINT (['/bin/sh', '-c', '...']) that does not forward \"$0\" \"$@\"; fails when the profile passes a command (cmd jupyterhub-singleuser), warns otherwise.",
    cause=(
        "A shell-form ENTRYPOINT (ENTRYPOINT cmd args) runs under /bin/sh -c and drops "
        "the arguments; a hub that sets the command (z2jh: jupyterhub-singleuser) is "
        "then ignored."
    ),
    fix=(
        'Use the exec form and end entrypoint scripts with exec "$@":\n'
        '  ENTRYPOINT ["tini", "--", "/usr/local/bin/entrypoint.sh"]'
    ),
    evidence=("jupyterhub#3018", "kubespawner#31", "z2jh PR#2805", "2i2c infrastructure#3434"),
    probe=check_entrypoint_form,
)
