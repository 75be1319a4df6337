"""What the spawner will execute: CMD and ENTRYPOINT, under each command mode."""

from __future__ import annotations

from pathlib import PurePosixPath

from validator.checks.base import Check, Stage, advisory
from validator.findings import Finding
from validator.image import ImageInfo
from validator.profiles import CommandMode, Profile


def _shell_form(entrypoint: tuple[str, ...]) -> bool:
    shells = {"/bin/sh", "sh", "/bin/bash", "bash", "/usr/bin/sh", "/usr/bin/bash"}
    return len(entrypoint) == 3 and entrypoint[0] in shells and entrypoint[1] == "-c"


def _is_singleuser(program: str) -> bool:
    return PurePosixPath(program).name == "jupyterhub-singleuser"


def mode_problem(
    cmd: tuple[str, ...], entrypoint: tuple[str, ...], spawner: str, mode: CommandMode
) -> str | None:
    """Why the spawner cannot build a working command under ``mode``, or None."""
    if mode is CommandMode.IMAGE:
        if not cmd and not entrypoint:
            return "the image has neither CMD nor ENTRYPOINT: the image policy has nothing to run"
        # DockerSpawner's get_command is `image Cmd + get_args()`: with no Cmd that is
        # None + list, and the spawn crashes before a container exists. KubeSpawner with
        # cmd unset leaves the pod's command and args empty: the ENTRYPOINT runs as it is.
        if not cmd and spawner == "dockerspawner":
            return (
                f"the image has no CMD (ENTRYPOINT {list(entrypoint)}); DockerSpawner builds "
                "its command from the image CMD and needs one"
            )
        return None
    if entrypoint and _is_singleuser(entrypoint[-1]):
        return (
            f"the ENTRYPOINT {list(entrypoint)} is jupyterhub-singleuser itself: the command "
            "this policy passes becomes its arguments, and it exits"
        )
    return None


def check_command(image: ImageInfo, profile: Profile) -> Finding:
    cmd, entrypoint = tuple(image.cmd or ()), tuple(image.entrypoint or ())
    evidence = f"Cmd: {list(cmd) or None}; Entrypoint: {list(entrypoint) or None}"
    for mode in profile.command_modes:
        problem = mode_problem(cmd, entrypoint, profile.spawner, mode)
        if problem is not None:
            return COMMAND.failed(problem, fix=_fix_for(mode), evidence=evidence)
    for mode in profile.advisory_command_modes:
        problem = mode_problem(cmd, entrypoint, profile.spawner, mode)
        if problem is not None:
            failed = COMMAND.failed(problem, fix=_fix_for(mode), evidence=evidence)
            return advisory(failed, mode)
    if cmd:
        return COMMAND.passed(f"CMD {list(cmd)}", evidence=evidence)
    if CommandMode.IMAGE in profile.all_command_modes:
        return COMMAND.passed(
            f"no CMD: {profile.spawner} with the image's command runs the ENTRYPOINT "
            f"{list(entrypoint)} as it is",
            evidence=evidence,
        )
    if entrypoint:
        return COMMAND.passed(
            f"no CMD: the policy's command follows the ENTRYPOINT {list(entrypoint)}",
            evidence=evidence,
        )
    return COMMAND.passed(
        "no CMD or ENTRYPOINT: the command the policy passes runs as it is", evidence=evidence
    )


def _fix_for(mode: CommandMode) -> str:
    if mode is CommandMode.IMAGE:
        return COMMAND.fix
    return (
        "Move jupyterhub-singleuser from the ENTRYPOINT to the CMD, so a command the hub "
        'passes replaces it:\n  CMD ["jupyterhub-singleuser"]'
    )


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
    detection=(
        "Reads Config.Cmd and Config.Entrypoint from the image and judges them under each "
        "command mode: under the image policy fails when neither is set, or when CMD is missing "
        "and the spawner is DockerSpawner (KubeSpawner runs the ENTRYPOINT as it is); under "
        "a policy that passes a command (singleuser, job) when the ENTRYPOINT is "
        "jupyterhub-singleuser itself. An advisory mode's problem only warns."
    ),
    cause=(
        "DockerSpawner starts the image CMD (it adds its args to it); an image without "
        "CMD makes the spawn crash before the container exists. KubeSpawner with cmd unset "
        "sets neither command nor args, so the image's ENTRYPOINT and CMD run as they are. "
        "A spawner that passes a command keeps the ENTRYPOINT, so an ENTRYPOINT of "
        "jupyterhub-singleuser receives that command as arguments. Without CMD and "
        "ENTRYPOINT a spawner that uses the image's command has nothing to start."
    ),
    fix='Add to the Dockerfile: CMD ["jupyterhub-singleuser"]',
    evidence=(
        "dockerspawner.py get_command (code)",
        "kubespawner.py get_pod_manifest: cmd None leaves the image's command (code)",
    ),
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
