"""make-compatible's steps, with the engine: validate -> inspect -> plan -> build ->
validate again, until the made image passes or no new remedy is called for.

Every round plans from the original image with the findings of all rounds so far, so
the result is one Dockerfile on the user's image, not layers of attempts.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker

from validator.compat.inspect import Inspection, inspect_image
from validator.compat.plan import Plan, plan
from validator.errors import ValidatorError
from validator.findings import Finding, Report, Status, Verdict
from validator.image import ImageInfo
from validator.images import engine
from validator.images.engine import BuildInputs
from validator.images.render import BUILD_DIR, CA_FILE, WHEELHOUSE_DIR
from validator.options import Options
from validator.profiles import Profile
from validator.reference import ImageRef, parse_reference
from validator.validate import validate

log = logging.getLogger(__name__)

MAX_ROUNDS = 3
LABEL_SOURCE = "org.jupyterhub-image-validator.source-digest"
LABEL_REMEDIES = "org.jupyterhub-image-validator.remedies"


@dataclass(frozen=True)
class Request:
    image: str
    profile: Profile
    options: Options
    templates: Path
    tag: str | None = None
    inputs: BuildInputs = field(default_factory=BuildInputs)
    dockerfile_only: Path | None = None


@dataclass
class Outcome:
    before: Report
    inspection: Inspection | None = None
    plan: Plan | None = None
    after: Report | None = None
    tag: str | None = None
    build_s: float = 0.0
    rounds: int = 0
    written: Path | None = None  # --dockerfile-only: the context directory

    @property
    def already_passes(self) -> bool:
        return self.before.verdict is Verdict.COMPATIBLE

    @property
    def exit_code(self) -> int:
        if self.already_passes:
            return 0
        if self.written is not None:
            return 0
        if self.after is None:
            return 1  # unfixable: the plan says why
        return self.after.exit_code

    def still_failing(self) -> list[Finding]:
        return [] if self.after is None else self.after.by_status(Status.FAIL)


def default_tag(ref: ImageRef) -> str:
    """``name:tag-jupyterhub`` next to the user's image."""
    name = ref.familiar.split("@")[0]
    if ref.tag:
        name = name[: -len(ref.tag) - 1]
    return f"{name}:{ref.tag or 'latest'}-jupyterhub"


def write_context(dockerfile: str, templates: Path, out: Path) -> Path:
    """A build context: the Dockerfile and _build/ (env-install.sh, an empty CA file
    and wheelhouse, which the build fills for the builder stage only)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    build = out / BUILD_DIR
    if build.exists():
        shutil.rmtree(build)
    shutil.copytree(templates / BUILD_DIR, build)
    (out / CA_FILE).write_bytes(b"")
    (out / WHEELHOUSE_DIR).mkdir(exist_ok=True)
    return out


def _check_no_build_inputs(client: docker.DockerClient, tag: str) -> None:
    """The final image's history must not show _build/: that would put the CA bundle
    (and the wheelhouse) in a layer."""
    for entry in client.api.history(tag):
        created_by = str(entry.get("CreatedBy") or "")
        if f"{BUILD_DIR}/" in created_by or "ca.pem" in created_by:
            raise ValidatorError(
                f"the made image {tag} has a layer from the build inputs: {created_by[:120]!r}",
                hint="a remedy fragment copied _build/ into the final stage; report this bug",
            )


def make(
    request: Request,
    client: docker.DockerClient,
    *,
    on_line: Callable[[str], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Outcome:
    step = on_step or (lambda text: None)
    ref = parse_reference(request.image)
    step(f"Validating {ref.familiar} for {request.profile.name}")
    before = validate(ref, request.profile, request.options, client=client)
    outcome = Outcome(before)
    if before.verdict is Verdict.COMPATIBLE:
        return outcome
    if before.verdict is Verdict.ERROR:
        raise ValidatorError(
            f"the validation of {ref.familiar} could not decide: "
            + (before.error or "a check errored"),
            hint="fix that first; make-compatible builds only on a clear verdict",
        )
    if before.image_id is None:
        raise ValidatorError(f"{ref.familiar}: the validation found no image id")
    info = ImageInfo.from_inspect(client.images.get(before.image_id).attrs)
    step(f"Inspecting {ref.familiar}")
    outcome.inspection = found = inspect_image(client, info)
    tag = request.tag or default_tag(ref)
    findings: list[Finding] = list(before.findings)
    source_digest = before.digest or before.image_id
    previous: tuple[str, ...] | None = None
    while outcome.rounds < MAX_ROUNDS:
        made = plan(
            findings,
            found,
            request.templates,
            source=ref.familiar,
            source_digest=source_digest,
            hub_version=request.profile.hub_version,
        )
        if made.remedy_ids == previous:
            break  # the last image's failures call for nothing new
        outcome.plan = made
        if made.dockerfile is None:
            return outcome
        if request.dockerfile_only is not None:
            outcome.written = write_context(
                made.dockerfile, request.templates, request.dockerfile_only
            )
            return outcome
        outcome.rounds += 1
        previous = made.remedy_ids
        step(f"Building {tag} with {', '.join(made.remedy_ids)}")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="jhiv-compat-") as tmp:
            context = write_context(made.dockerfile, request.templates, Path(tmp))
            engine.build(
                client,
                tag,
                context,
                tag=tag,
                buildargs={},
                inputs=request.inputs,
                on_line=on_line,
            )
        outcome.build_s += time.monotonic() - started
        _check_no_build_inputs(client, tag)
        outcome.tag = tag
        step(f"Validating {tag} for {request.profile.name}")
        outcome.after = validate(
            parse_reference(tag), request.profile, _local(request.options), client=client
        )
        if outcome.after.verdict is not Verdict.INCOMPATIBLE:
            break
        findings += outcome.after.findings
    return outcome


def _local(options: Options) -> Options:
    # The made image exists only here: never ask a registry for it, never reuse a
    # cached verdict of an earlier build under the same tag.
    return dataclasses.replace(options, pull="never", no_cache=True)
