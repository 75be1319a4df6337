"""The checks, in the one order they run, are reported and are documented.

A check is one ``Check`` (validator.checks.base) declared in the module of its probe;
these tuples are the only list of them, as docker-stacks lists its images in one
hierarchy. Adding a check: declare it in one module, add it to its stage's tuple,
regenerate docs/checks.md (docs/architecture.md).
"""

from __future__ import annotations

from validator.checks import (
    command,
    environment,
    mounts,
    platform,
    ports,
    singleuser,
    singleuser_app,
    size,
    user,
)
from validator.checks.base import Check, Stage
from validator.checks.runtime import (
    api,
    hub_api_tls,
    kernel,
    platform_tools,
    pull_time,
    server,
    stopping,
    storage,
)

STATIC: tuple[Check, ...] = (
    platform.PLATFORM,
    user.IMAGE_USER,
    command.COMMAND,
    command.ENTRYPOINT_FORM,
    ports.PORT_NOT_PINNED,
    environment.HOME_PATH,
    singleuser_app.SINGLEUSER_APP_ENV,
    size.IMAGE_SIZE,
)

# One container answers the first three (singleuser.probe_singleuser); mount-hides-content
# reads the image's files from a container that never starts, once for every mode.
EXEC: tuple[Check, ...] = (
    singleuser.INSTALLED,
    singleuser.IMPORTS,
    singleuser.VERSION,
    mounts.MOUNT_HIDES_CONTENT,
)

# server-starts judges the wait for the first answer; the other probes run inside the
# stability window, which stability waits out; stops-promptly ends the server, so it
# comes last.
RUNTIME: tuple[Check, ...] = (
    server.SERVER_STARTS,
    server.STARTUP_TIME,
    server.LISTEN_ADDRESS,
    api.SERVER_API,
    api.HUB_AUTH,
    api.TOKEN_AUTH,
    api.HUB_CONTACT,
    kernel.KERNEL_RUNS,
    storage.HOME_WRITABLE,
    storage.MOUNT_WRITABLE,
    pull_time.PULL_TIME,
    platform_tools.PLATFORM_TOOLS,
    hub_api_tls.HUB_API_TLS,
    server.STABILITY,
    stopping.STOPS_PROMPTLY,
)

STAGES: dict[Stage, tuple[Check, ...]] = {
    Stage.STATIC: STATIC,
    Stage.EXEC: EXEC,
    Stage.RUNTIME: RUNTIME,
}

CATALOG: dict[str, Check] = {check.id: check for checks in STAGES.values() for check in checks}


def _consistent() -> None:
    ids = [check.id for checks in STAGES.values() for check in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate check ids: {duplicates}")
    seen: set[str] = set()
    for stage, checks in STAGES.items():
        for check in checks:
            if check.stage is not stage:
                raise ValueError(f"{check.id} is a {check.stage.value} check in {stage.value}")
            unknown = [n for n in check.needs if n not in seen]
            if unknown:
                raise ValueError(f"{check.id} needs {unknown}, which do not run before it")
            seen.add(check.id)


_consistent()
