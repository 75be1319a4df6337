"""The build pipeline as named steps: render -> lint -> build -> validate -> describe
-> tag -> push, target by target, parents first.

An image that fails a step stops there: it is not tagged, and its children are not
built. Progress goes to ``say`` (the CLI sends it to stderr); results come back as
``TargetResult`` values.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import docker
import docker.errors

from validator.errors import ValidatorError
from validator.findings import Verdict
from validator.images import engine, publish
from validator.images.catalogue import Catalogue, load_catalogue
from validator.images.engine import BuildInputs
from validator.images.errors import BuildFailed, LintFailed
from validator.images.lint import LintResult, lint
from validator.images.manifest import Manifest, Validation, collect_facts
from validator.images.paths import git_commit, git_dirty
from validator.images.plan import EnvKind, Target, parent_target, plan
from validator.images.render import RenderSettings, render_all, render_dockerfile
from validator.images.tags import TagFacts, tags_for
from validator.images.verify import verify
from validator.registry.credentials import Credentials
from validator.report.json import render_json

Say = Callable[[str], None]

# Jupyter packages whose versions the manifest shows up front.
_JUPYTER_PACKAGES = ("jupyterhub", "jupyter-server", "jupyterlab", "notebook", "ipykernel")


class Outcome(str, Enum):
    PASSED = "passed"  # built, validated (where it has Jupyter), tagged
    BUILD_FAILED = "build-failed"
    INVALID = "invalid"  # built, but the validator found it incompatible
    ERROR = "error"  # a tool error while validating, describing or pushing
    SKIPPED = "skipped"  # its parent failed


@dataclass
class TargetResult:
    target: Target
    outcome: Outcome
    message: str = ""
    image_id: str | None = None
    references: list[str] = field(default_factory=list)
    size_bytes: int = 0
    build_seconds: float = 0.0
    validate_seconds: float = 0.0
    manifest: Path | None = None


@dataclass(frozen=True)
class Config:
    templates: Path
    catalogue: Path
    out: Path
    settings: RenderSettings = field(default_factory=RenderSettings)
    inputs: BuildInputs = field(default_factory=BuildInputs)
    hubs: tuple[str, ...] = ()
    env: EnvKind = EnvKind.PIP
    profile: str = "jupyter4nfdi"
    repository_prefix: str = "jhiv"
    hadolint_config: Path | None = None
    push: bool = False
    credentials: Credentials | None = None
    verbose: bool = False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lint_targets(config: Config, catalogue: Catalogue, targets: list[Target]) -> LintResult:
    contexts = render_all(
        config.templates, catalogue, targets, config.settings, config.out / "contexts"
    )
    return lint([path / "Dockerfile" for path in contexts.values()], config.hadolint_config)


class Pipeline:
    """One run: owns the docker client, the catalogue and the results so far."""

    def __init__(self, config: Config, client: docker.DockerClient, say: Say) -> None:
        self.config = config
        self.client = client
        self.say = say
        self.catalogue = load_catalogue(config.catalogue, config.templates)
        self.commit = git_commit(config.templates)
        # Templates edited but not committed: the commit alone does not describe the build.
        self.dirty = git_dirty(config.templates.resolve().parent) if self.commit else None
        self.date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        self.results: dict[str, TargetResult] = {}
        self._validations: dict[str, Validation] = {}

    def repository(self, target: Target) -> str:
        return f"{self.config.repository_prefix.rstrip('/')}/{target.repository_name}"

    def run(self, names: list[str]) -> list[TargetResult]:
        targets = plan(self.catalogue, names, hubs=self.config.hubs, env=self.config.env)
        self.say(f"Rendering and linting {len(targets)} Dockerfile(s)")
        linted = lint_targets(self.config, self.catalogue, targets)
        for finding in linted.findings:
            self.say(f"  {finding.one_line()}")
        if not linted.passed:
            raise LintFailed(f"hadolint found problems in {len(linted.files)} Dockerfile(s)")
        self._check_root_image()
        for target in targets:
            self.results[target.key] = self._one(target)
        return list(self.results.values())

    def _check_root_image(self) -> None:
        root = self.config.settings.root_image
        try:
            self.client.images.get(root)
        except docker.errors.ImageNotFound:
            self.say(f"Root image {root} is not local; the engine will try to pull it")

    def _one(self, target: Target) -> TargetResult:
        parent = parent_target(self.catalogue, target)
        parent_id: str | None = None
        if parent is not None:
            parent_result = self.results.get(parent.key)
            if parent_result is None or parent_result.outcome is not Outcome.PASSED:
                return TargetResult(target, Outcome.SKIPPED, f"parent {parent.key} failed")
            parent_id = parent_result.image_id
        repository = self.repository(target)
        candidate = f"{repository}:candidate-{target.key}"
        result = TargetResult(target, Outcome.ERROR)
        try:
            self._build(target, parent_id, candidate, result)
            if target.hub_version is not None:
                self._validate(target, candidate, result)
                if result.outcome is Outcome.INVALID:
                    publish.untag(self.client, candidate)
                    return result
            self._describe_and_tag(target, repository, candidate, result)
            result.outcome = Outcome.PASSED
        except BuildFailed as exc:
            result.outcome, result.message = Outcome.BUILD_FAILED, str(exc)
            self.say(f"FAILED {target.key}: {exc}")
        except ValidatorError as exc:
            result.outcome, result.message = Outcome.ERROR, exc.one_line()
            self.say(f"ERROR {target.key}: {exc.one_line()}")
            publish.untag(self.client, candidate)
        return result

    def _build(
        self, target: Target, parent_id: str | None, candidate: str, result: TargetResult
    ) -> None:
        context = self.config.out / "contexts" / target.key
        args = (
            {"BASE_IMAGE": parent_id}
            if parent_id
            else {"ROOT_IMAGE": self.config.settings.root_image}
        )
        self.say(f"Building {target.key} ({context})")

        def show(line: str) -> None:
            if self.config.verbose or engine.is_step_line(line):
                self.say(f"  {target.key} | {line}")

        started = time.monotonic()
        result.image_id = engine.build(
            self.client,
            target.key,
            context,
            tag=candidate,
            buildargs=args,
            inputs=self.config.inputs,
            on_line=show,
        )
        result.build_seconds = round(time.monotonic() - started, 1)
        result.size_bytes = int(self.client.images.get(result.image_id).attrs.get("Size") or 0)
        self.say(
            f"Built {target.key} (id: {result.image_id[7:19]}) in {result.build_seconds} s, "
            f"{result.size_bytes / 1e6:.0f} MB"
        )

    def _validate(self, target: Target, candidate: str, result: TargetResult) -> None:
        assert target.hub_version is not None
        self.say(f"Validating {target.key} with profile {self.config.profile}")
        started = time.monotonic()
        report = verify(
            self.client,
            candidate,
            hub_version=target.hub_version,
            profile_name=self.config.profile,
        )
        result.validate_seconds = round(time.monotonic() - started, 1)
        reports = self.config.out / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        report_file = reports / f"{target.key}.json"
        report_file.write_text(render_json(report) + "\n", encoding="utf-8")
        self._validations[target.key] = Validation(
            profile=self.config.profile,
            hub_version=target.hub_version,
            verdict=report.verdict.value,
            counts={k: v for k, v in report.counts().items() if v},
            report_file=str(report_file),
        )
        failed = [f"{f.check_id}: {f.message}" for f in report.findings if f.status.value == "fail"]
        if report.verdict is Verdict.INCOMPATIBLE:
            result.outcome = Outcome.INVALID
            result.message = "; ".join(failed)
            self.say(f"INVALID {target.key}: not tagged; {result.message}")
        elif report.verdict is Verdict.ERROR:
            raise ValidatorError(
                f"the validator could not decide on {target.key}: {report.error or 'a check errored'}"
            )
        else:
            self.say(
                f"Validated {target.key}: {report.verdict.value} in {result.validate_seconds} s"
            )

    def _inputs(self, target: Target) -> dict[str, object]:
        config = self.config
        root = config.settings.root_image
        try:
            root_id = str(self.client.images.get(root).id)
        except docker.errors.ImageNotFound:
            root_id = None
        dockerfile = render_dockerfile(config.templates, self.catalogue, target, config.settings)
        parent = parent_target(self.catalogue, target)
        wheels = config.inputs.wheelhouse
        return {
            "root_image": root,
            "root_image_id": root_id,
            "parent": parent.key if parent else None,
            "template": f"templates/{target.image.template}/Dockerfile.j2",
            "dockerfile_sha256": _sha256(dockerfile),
            "catalogue": f"{target.image.name}.yaml",
            "catalogue_entry": json.loads(target.image.model_dump_json()),
            "commit": self.commit,
            "uncommitted_changes": self.dirty,
            "ca_cert": "used in builder stages only" if config.inputs.ca_cert else None,
            "wheelhouse": f"{len(list(wheels.glob('*.whl')))} wheels" if wheels else None,
        }

    def _describe_and_tag(
        self, target: Target, repository: str, candidate: str, result: TargetResult
    ) -> None:
        assert result.image_id is not None
        facts = collect_facts(self.client, candidate)
        tag_facts = TagFacts(
            python_version=facts.python_version,
            date=self.date,
            commit=self.commit,
            os_id=facts.os_release.get("ID", ""),
            os_version=facts.os_release.get("VERSION_ID", ""),
        )
        tags = tags_for(
            target.hub_version,
            tag_facts,
            default_hub=self.catalogue.default_hub(target.image.name),
        )
        result.references = publish.apply_tags(self.client, result.image_id, repository, tags)
        publish.untag(self.client, candidate)
        self.say(f"Tagged {target.key}: {', '.join(result.references)}")
        digest = None
        if self.config.push:
            self.say(f"Pushing {repository} ({len(tags)} tags)")
            digest = publish.push(
                self.client, repository, tags, self.config.credentials, on_line=self.say
            )
        manifest = Manifest(
            key=target.key,
            repository=repository,
            tags=tags,
            image_id=result.image_id,
            digest=digest,
            size_bytes=result.size_bytes,
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            hub_version=target.hub_version,
            env=target.env.value,
            inputs=self._inputs(target),
            facts=facts,
            validation=self._validations.get(target.key),
            jupyter_versions={
                p: v for p in _JUPYTER_PACKAGES if (v := facts.version_of(p)) is not None
            },
        )
        manifests = self.config.out / "manifests"
        manifests.mkdir(parents=True, exist_ok=True)
        result.manifest = manifests / f"{target.key}.md"
        result.manifest.write_text(manifest.to_markdown(), encoding="utf-8")
        (manifests / f"{target.key}.json").write_text(manifest.to_json(), encoding="utf-8")
        self.say(f"Described {target.key}: {result.manifest}")
