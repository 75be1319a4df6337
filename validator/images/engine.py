"""docker build through the docker SDK: context in, image id out, progress streamed.

The engine here is Docker 20.10's legacy builder (no BuildKit, no ``RUN --mount``),
so secrets cannot be mounted into a step. The CA bundle and the wheelhouse are
therefore put into the context's ``_build/`` directory, which only builder stages
copy; the final stage takes files from the builder, never ``_build/`` itself.
"""

from __future__ import annotations

import io
import logging
import re
import tarfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from validator.images.errors import BuildFailed
from validator.images.render import CA_FILE, WHEELHOUSE_DIR

log = logging.getLogger(__name__)

# A cold build resolves and downloads a JupyterLab environment; the engine may be
# silent for minutes meanwhile.
BUILD_TIMEOUT_S = 3600
_TAIL_LINES = 40
_STEP_RE = re.compile(r"^Step \d+/\d+ : ")


@dataclass(frozen=True)
class BuildInputs:
    """What goes into every build besides the rendered context."""

    ca_cert: Path | None = None  # CA bundle for pip/curl behind a TLS-intercepting proxy
    wheelhouse: Path | None = None  # wheels to install from, offline
    no_cache: bool = False


def context_tar(context: Path, inputs: BuildInputs) -> io.BytesIO:
    """The build context as a tar stream, with the CA and the wheelhouse added.

    Adding them to the stream, not to the rendered directory, keeps the CA off the
    disk of the render output.
    """
    buffer = io.BytesIO()
    ca_arc = CA_FILE
    wheel_arc = WHEELHOUSE_DIR
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(context.rglob("*")):
            arcname = path.relative_to(context).as_posix()
            if arcname == ca_arc and inputs.ca_cert is not None:
                continue
            tar.add(path, arcname=arcname, recursive=False, filter=_normalise)
        if inputs.ca_cert is not None:
            tar.add(inputs.ca_cert, arcname=ca_arc, filter=_normalise)
        if inputs.wheelhouse is not None:
            for wheel in sorted(inputs.wheelhouse.iterdir()):
                if wheel.is_file():
                    tar.add(wheel, arcname=f"{wheel_arc}/{wheel.name}", filter=_normalise)
    buffer.seek(0)
    return buffer


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Owner and time of the files on this machine must not reach the image or the
    # layer cache key; the mode (executable scripts) must.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    if not info.isdir():
        info.mode = 0o755 if info.mode & 0o111 else 0o644
    return info


def build(
    client: docker.DockerClient,
    key: str,
    context: Path,
    *,
    tag: str,
    buildargs: Mapping[str, str],
    inputs: BuildInputs,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Build ``context``; return the image id. ``on_line`` gets every output line."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    image_id: str | None = None
    try:
        stream: Iterable[dict[str, Any]] = client.api.build(
            fileobj=context_tar(context, inputs),
            custom_context=True,
            tag=tag,
            buildargs=dict(buildargs),
            rm=True,
            forcerm=True,
            pull=False,  # FROM images are used as found; missing ones are still pulled
            nocache=inputs.no_cache,
            decode=True,
            timeout=BUILD_TIMEOUT_S,
        )
        for chunk in stream:
            if "error" in chunk:
                reason = str((chunk.get("errorDetail") or {}).get("message") or chunk["error"])
                raise BuildFailed(key, reason.strip(), tail)
            text = chunk.get("stream") or chunk.get("status")
            if isinstance(text, str):
                for line in text.splitlines():
                    line = line.rstrip()
                    if line.strip():
                        tail.append(line)
                        if on_line is not None:
                            on_line(line)
            aux = chunk.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
    except docker.errors.APIError as exc:
        raise BuildFailed(key, str(exc.explanation or exc), tail) from None
    if image_id is None:
        image_id = str(client.images.get(tag).id)
    return image_id


def is_step_line(line: str) -> bool:
    """``Step 3/18 : RUN ...``: the lines worth showing when the build is not verbose."""
    return bool(_STEP_RE.match(line))
