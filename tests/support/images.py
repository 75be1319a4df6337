"""Build the Docker images that the integration and referee tests spawn.

Each image is a directory ``tests/images/<name>/`` holding a Dockerfile and any
small scripts it copies. Most images are a thin layer over a parent image, so
the registry below records the parent of each one and ``build`` builds parents
first; Docker's layer cache then keeps rebuilds cheap.

Build arguments every Dockerfile may rely on:

- ``ROOT_IMAGE``: the distribution image (only for images without a parent).
- ``BASE_IMAGE``: the tag of the parent image (only for images with one).

Every build context also holds ``build-ca.pem``: the CA bundle that pip needs
to reach the package index on intercepted networks, or an empty file. The
Dockerfiles use it in a builder stage only, so it never reaches a final image.
That stage is kept as ``jhiv-test/<name>:builder`` so the slow pip layer stays
cached even when someone prunes dangling images.

Manual use::

    python -m tests.support.images --list
    python -m tests.support.images good no-cmd
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

__all__ = [
    "CA_FILE_NAME",
    "DEFAULT_ROOT_IMAGE",
    "IMAGES",
    "IMAGES_DIR",
    "JUPYTERHUB_VERSION",
    "ROOT_IMAGE",
    "TEST_LABEL",
    "BuiltImage",
    "ImageBuildError",
    "ImageSpec",
    "UnknownImageError",
    "build",
    "build_one",
    "build_order",
    "builder_tag_for",
    "default_ca_bundle",
    "default_root_image",
    "has_builder_stage",
    "tag_for",
]

log = logging.getLogger(__name__)

IMAGES_DIR = Path(__file__).resolve().parent.parent / "images"
TAG_REPOSITORY_PREFIX = "jhiv-test/"
TEST_LABEL = "org.jupyter.image-validator.test"
DEFAULT_ROOT_IMAGE = "jhiv/debian-root:bookworm"
# The root image this run builds on (scripts/test.sh sets it to a debootstrap import).
ROOT_IMAGE = os.environ.get("JHIV_ROOT_IMAGE", DEFAULT_ROOT_IMAGE)
CA_FILE_NAME = "build-ca.pem"

JUPYTERHUB_VERSION = "5.4.6"
"""The jupyterhub release in ``jupyter-env`` and ``hub-only``; a hub under test should match it."""

# pip resolves and installs a whole JupyterLab environment during a cold build,
# and the engine may print nothing for minutes while it does.
DEFAULT_BUILD_TIMEOUT = 1800
_LOG_TAIL_LINES = 40
BUILDER_STAGE = "builder"
_BUILDER_STAGE_LINE = re.compile(
    rf"^FROM\s+\S+\s+AS\s+{BUILDER_STAGE}\s*$", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class ImageSpec:
    """One test image: where it comes from and how it is meant to behave."""

    name: str
    parent: str | None
    purpose: str
    buildargs: Mapping[str, str] = field(default_factory=dict)
    # A directory shared with other images (they differ in build args); default: name.
    context: str | None = None

    @property
    def context_dir(self) -> Path:
        return IMAGES_DIR / (self.context or self.name)


def _spec(name: str, parent: str | None, purpose: str, **buildargs: str) -> tuple[str, ImageSpec]:
    return name, ImageSpec(name, parent, purpose, dict(buildargs))


def _entrypoint(name: str, purpose: str, script: str) -> tuple[str, ImageSpec]:
    """`jupyter-env` behind one entrypoint script of tests/images/entrypoint."""
    spec = ImageSpec(
        name, "jupyter-env", purpose, {"ENTRYPOINT_SCRIPT": script}, context="entrypoint"
    )
    return name, spec


def _pip_env(name: str, purpose: str, packages: str) -> tuple[str, ImageSpec]:
    """An image that is `base` plus a venv holding ``packages`` (tests/images/pip-env)."""
    return name, ImageSpec(name, "base", purpose, {"PACKAGES": packages}, context="pip-env")


IMAGES: dict[str, ImageSpec] = dict(
    [
        # Shared layers, not meant to be spawned themselves.
        _spec("base", None, "Python and user jovyan (1000:100); no Jupyter"),
        _pip_env(
            "jupyter-env",
            f"jupyterhub {JUPYTERHUB_VERSION} + JupyterLab venv",
            f"jupyterhub=={JUPYTERHUB_VERSION} jupyterlab==4.6.6",
        ),
        # Images that work.
        _spec("good", "jupyter-env", "works: CMD jupyterhub-singleuser"),
        _entrypoint(
            "good-entrypoint", 'works: entrypoint does setup, then exec "$@"', "setup-then-exec.sh"
        ),
        # Images that fail, one cause each.
        _spec("plain", None, "no Python: jupyterhub-singleuser not found (exit 127)"),
        # make-compatible's starting points (tests/integration/test_make_compatible.py).
        _spec("compat-user-venv", "base", "a user venv with numpy, no Jupyter"),
        _spec("compat-lab-only", "base", "JupyterLab without JupyterHub, CMD jupyter lab"),
        _spec("compat-other-user", None, "no Python; uid 1000 is 'analyst'"),
        _spec("compat-root-entrypoint", "base", "root, shell entrypoint without exec"),
        _spec("compat-unfixable", None, "no package manager, no Python"),
        _pip_env(
            "hub-only",
            "no jupyter_server: singleuser --version fails (ImportError)",
            f"jupyterhub=={JUPYTERHUB_VERSION}",
        ),
        _pip_env(
            "old-singleuser",
            "singleuser 1.5.1 on notebook 6: major < 2; the hub 5 token is refused",
            "jupyterhub==1.5.1 notebook==6.5.7",
        ),
        _pip_env(
            "buggy-singleuser",
            "singleuser 4.1.2: in the XSRF-buggy 4.1.0-4.1.3 range",
            "jupyterhub==4.1.2 jupyterlab==4.1.2",
        ),
        _entrypoint(
            "wrong-entrypoint",
            "entrypoint ignores its args, runs jupyter lab",
            "ignores-arguments.sh",
        ),
        _spec("root-no-allow", "jupyter-env", "runs as root without --allow-root: exits 1"),
        _spec(
            "home-not-writable", "jupyter-env", "home owned by root: runtime dir PermissionError"
        ),
        _spec("localhost-only", "jupyter-env", "--ip=127.0.0.1 in CMD: unreachable from outside"),
        _spec(
            "port-hardcoded", "jupyter-env", "--port=8888 in CMD: fails when the hub uses another"
        ),
        _spec("jupyter-lab-cmd", "jupyter-env", "CMD jupyter lab: serves, but not hub-aware"),
        _spec("no-ipykernel", "jupyter-env", "server starts, but no kernelspec: kernels cannot"),
        _spec(
            "slow-start",
            "jupyter-env",
            "entrypoint sleeps $SLOW_START_SECONDS (45) before starting",
            SLOW_START_SECONDS="45",
        ),
        _spec(
            "crash-after-start",
            "jupyter-env",
            "answers, then dies $CRASH_AFTER_SECONDS (3) s later",
        ),
        _spec("no-cmd", "jupyter-env", "no CMD and no ENTRYPOINT"),
        # Classes the fidelity work (#11) judged wrong or could not see.
        _pip_env(
            "server-no-ui",
            "works: jupyterhub + jupyter_server + ipykernel, no JupyterLab or Notebook",
            f"jupyterhub=={JUPYTERHUB_VERSION} jupyter_server ipykernel",
        ),
        _spec(
            "abs-path-cmd", "jupyter-env", "CMD is /opt/venv/bin/jupyterhub-singleuser; not on PATH"
        ),
        _entrypoint(
            "entrypoint-background",
            "entrypoint runs its args in the background, exits 1 six seconds later",
            "background.sh",
        ),
        _entrypoint(
            "entrypoint-needs-var",
            "entrypoint exits 3 with its own message: LAB_LICENSE_KEY is not set",
            "needs-var.sh",
        ),
        _spec("entrypoint-singleuser", "jupyter-env", "ENTRYPOINT jupyterhub-singleuser, no CMD"),
        _entrypoint(
            "ignores-ssl", "wrapper drops JUPYTERHUB_SSL_*: serves plain HTTP", "drops-ssl.sh"
        ),
        _entrypoint(
            "sigterm-ignored", "PID 1 is a shell without exec: ignores SIGTERM", "no-exec.sh"
        ),
        _spec(
            "mount-hides-content",
            "jupyter-env",
            "works, but ships files in /home/jovyan/work, where user data is mounted",
        ),
        _spec(
            "other-uid", "jupyter-env", "USER 1001:100: a 1000:100 0755 data directory is read-only"
        ),
        (
            "dies-within-10s",
            ImageSpec(
                "dies-within-10s",
                "jupyter-env",
                "answers, then dies 7 s later: inside a user's first steps",
                {"CRASH_AFTER_SECONDS": "7"},
                context="crash-after-start",
            ),
        ),
        _spec("exits-immediately", "jupyter-env", "CMD bash: exits 0 at once, nothing listens"),
        # Hostile images (issue #12): the validator must stay bounded whatever they do.
        _spec("flood-no-server", None, "floods stdout with 2000-character lines, never serves"),
        _entrypoint(
            "flood-serving",
            "works, behind a stdout flood from a background job",
            "flood-then-exec.sh",
        ),
        _spec("fork-storm", None, "starts processes until the pids limit, never serves"),
        _spec("memory-hog", "base", "allocates 8 GB at start: the kernel kills it at the limit"),
    ]
)


class UnknownImageError(ValueError):
    """A name that is not in the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown test image {name!r}; known images: {', '.join(IMAGES)}")
        self.name = name


class ImageBuildError(RuntimeError):
    """The engine refused to build an image; the message ends with the build log tail."""

    def __init__(self, name: str, reason: str, log_tail: Sequence[str]) -> None:
        tail = "\n".join(f"    {line}" for line in log_tail) or "    (no build output)"
        super().__init__(
            f"Building test image {name!r} failed: {reason}\nLast build output:\n{tail}"
        )
        self.name = name
        self.reason = reason
        self.log_tail = list(log_tail)


@dataclass(frozen=True)
class BuiltImage:
    name: str
    tag: str
    image_id: str
    seconds: float


def tag_for(name: str) -> str:
    """The local tag of a test image, e.g. ``jhiv-test/good:latest``."""
    if name not in IMAGES:
        raise UnknownImageError(name)
    return f"{TAG_REPOSITORY_PREFIX}{name}:latest"


def build_order(names: Iterable[str]) -> list[str]:
    """The requested images and all their ancestors, each parent before its children."""
    order: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in chain:
            raise ValueError(f"Test image parents form a cycle: {' -> '.join((*chain, name))}")
        spec = IMAGES.get(name)
        if spec is None:
            raise UnknownImageError(name)
        if spec.parent is not None:
            visit(spec.parent, (*chain, name))
        order.append(name)

    for name in names:
        visit(name, ())
    return order


def builder_tag_for(name: str) -> str:
    """The tag kept for an image's pip builder stage, e.g. ``jhiv-test/hub-only:builder``.

    Unlike the final image, this one holds the build CA file; it never leaves
    the local engine.
    """
    return tag_for(name).rsplit(":", 1)[0] + ":builder"


def has_builder_stage(spec: ImageSpec) -> bool:
    """Whether the Dockerfile has a ``FROM ... AS builder`` stage."""
    dockerfile = (spec.context_dir / "Dockerfile").read_text(encoding="utf-8")
    return _BUILDER_STAGE_LINE.search(dockerfile) is not None


def default_root_image() -> str:
    """``$JHIV_ROOT_IMAGE`` (as the test suite reads it), else ``$ROOT_IMAGE`` (as
    ``scripts/setup-docker.sh`` reads it), else the image that script creates."""
    return os.environ.get("JHIV_ROOT_IMAGE") or os.environ.get("ROOT_IMAGE") or DEFAULT_ROOT_IMAGE


def default_ca_bundle() -> Path | None:
    """The CA bundle this machine's pip uses, if any.

    Where the host's pip needs an extra CA to reach the index, pip inside the
    build needs the same one.
    """
    for variable in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return None


def build(
    client: docker.DockerClient,
    names: Iterable[str],
    *,
    root_image: str,
    ca_bundle: Path | None,
    timeout: int = DEFAULT_BUILD_TIMEOUT,
) -> dict[str, str]:
    """Build the named images and their parents; return ``{name: tag}`` for all of them."""
    built: dict[str, str] = {}
    for name in build_order(names):
        image = build_one(client, name, root_image=root_image, ca_bundle=ca_bundle, timeout=timeout)
        built[name] = image.tag
    return built


def build_one(
    client: docker.DockerClient,
    name: str,
    *,
    root_image: str,
    ca_bundle: Path | None,
    timeout: int = DEFAULT_BUILD_TIMEOUT,
) -> BuiltImage:
    """Build one image, assuming its parent is already tagged (see ``build``)."""
    spec = IMAGES.get(name)
    if spec is None:
        raise UnknownImageError(name)
    tag = tag_for(name)
    buildargs = dict(spec.buildargs)
    # Pass only the argument the Dockerfile declares; the engine warns about unused ones.
    if spec.parent is None:
        buildargs["ROOT_IMAGE"] = root_image
    else:
        buildargs["BASE_IMAGE"] = tag_for(spec.parent)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"jhiv-build-{name}-") as tmp:
        context = _prepare_context(spec, ca_bundle, Path(tmp))
        if has_builder_stage(spec):
            # Tagged so that `docker image prune` (which removes untagged images)
            # cannot throw away the pip layer; the final build then reuses it.
            builder_tag = builder_tag_for(name)
            log.info("Building %s (builder stage) from %s", builder_tag, spec.context_dir)
            _run_build(
                client,
                spec,
                builder_tag,
                context,
                buildargs,
                timeout,
                target=BUILDER_STAGE,
                label_value="builder",
            )
        log.info("Building %s from %s", tag, spec.context_dir)
        image_id = _run_build(client, spec, tag, context, buildargs, timeout)
    seconds = time.monotonic() - started
    log.info("Built %s (id: %s) in %.1f s", tag, _short_id(image_id), seconds)
    return BuiltImage(name=name, tag=tag, image_id=image_id, seconds=seconds)


def _prepare_context(spec: ImageSpec, ca_bundle: Path | None, tmp: Path) -> Path:
    if not (spec.context_dir / "Dockerfile").is_file():
        raise FileNotFoundError(f"Test image {spec.name!r} has no Dockerfile in {spec.context_dir}")
    context = tmp / "context"
    shutil.copytree(spec.context_dir, context)
    ca_target = context / CA_FILE_NAME
    if ca_bundle is None:
        ca_target.write_bytes(b"")
    else:
        shutil.copyfile(ca_bundle, ca_target)
    return context


def _run_build(
    client: docker.DockerClient,
    spec: ImageSpec,
    tag: str,
    context: Path,
    buildargs: dict[str, str],
    timeout: int,
    *,
    target: str | None = None,
    label_value: str = "true",
) -> str:
    tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
    image_id: str | None = None
    try:
        chunks: Iterable[dict[str, Any]] = client.api.build(
            path=str(context),
            tag=tag,
            buildargs=buildargs,
            labels={TEST_LABEL: label_value},
            target=target,
            rm=True,
            forcerm=True,
            pull=False,  # nothing can be pulled here, and the root image is local anyway
            decode=True,
            timeout=timeout,
        )
        for chunk in chunks:
            if "error" in chunk:
                reason = str(chunk.get("errorDetail", {}).get("message") or chunk["error"])
                raise ImageBuildError(spec.name, reason.strip(), list(tail))
            text = chunk.get("stream") or chunk.get("status")
            if isinstance(text, str):
                for line in text.splitlines():
                    if line.strip():
                        tail.append(line.rstrip())
                        log.debug("build %s | %s", spec.name, line.rstrip())
            aux = chunk.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                image_id = aux["ID"]
    except docker.errors.APIError as error:
        raise ImageBuildError(spec.name, str(error), list(tail)) from error
    if image_id is None:
        # Older engines report the result only as a "Successfully built" line.
        image_id = str(client.images.get(tag).id)
    return image_id


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.images",
        description="Build the test images (and their parents) into the local Docker engine.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    parser.add_argument(
        "--root-image",
        default=default_root_image(),
        help="distribution image the chain starts from (default: %(default)s)",
    )
    ca = parser.add_mutually_exclusive_group()
    ca.add_argument(
        "--ca-bundle",
        type=Path,
        default=default_ca_bundle(),
        help="CA bundle for pip during the build (default: %(default)s, from $PIP_CERT)",
    )
    ca.add_argument(
        "--no-ca-bundle",
        dest="ca_bundle",
        action="store_const",
        const=None,
        help="let pip use its own CA bundle",
    )
    parser.add_argument("--list", action="store_true", help="list the images and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the build output")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in IMAGES]
    if unknown:
        parser.error(f"unknown image(s) {', '.join(map(repr, unknown))}; try --list")
    if args.ca_bundle is not None and not args.ca_bundle.is_file():
        parser.error(f"--ca-bundle {str(args.ca_bundle)!r} is not a file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.list:
        for spec in IMAGES.values():
            print(f"{spec.name:<18} {spec.purpose}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.verbose:
        # Only our build output; the docker SDK's own debug lines are noise here.
        log.setLevel(logging.DEBUG)
    client = docker.from_env()
    total = 0.0
    try:
        for name in build_order(args.names or IMAGES):
            image = build_one(client, name, root_image=args.root_image, ca_bundle=args.ca_bundle)
            total += image.seconds
            print(f"{image.tag:<40} {image.seconds:7.1f} s", flush=True)
    except ImageBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"{'total':<40} {total:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
