"""The HTTP API: watches (admin token), results by image, tag or digest, SVG badges.

Results and badges need the admin token too, unless JHIV_SERVICE_PUBLIC_RESULTS=1
(a badge in a README cannot send a token). Failed admin authentications lock their
source address out for a while (lockout.py); no answer quotes credentials typed into a
URL, and every id is bounded to what the database can hold.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from validator.choices import DEFAULT_PROFILE
from validator.profiles import builtin_names
from validator.redact import redact_text
from validator.reference import DIGEST_RE, DOCKER_HUB, HOST_RE, parse_query, registry_host
from validator.registry.credentials import Secret
from validator.service import auth, badge, jsonbody
from validator.service.context import Service, service
from validator.service.errors import SecretKeyError
from validator.service.matching import valid_repository_pattern, valid_tag_pattern
from validator.service.ratelimit import retry_after
from validator.service.store import (
    Duplicate,
    ResolutionInfo,
    Status,
    ValidationInfo,
    WatchInfo,
    WatchSpec,
)

router = APIRouter(prefix="/api/v1")
_bearer = HTTPBearer(auto_error=False, description="The admin token (JHIV_SERVICE_ADMIN_TOKEN)")

ServiceDep = Annotated[Service, Depends(service)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# Ids are 64-bit signed in both databases; a larger one cannot name a row.
MAX_ID = 2**63 - 1
WatchId = Annotated[int, Path(ge=1, le=MAX_ID, description="The watch's id.")]
ValidationId = Annotated[int, Path(ge=1, le=MAX_ID, description="The validation's id.")]
# A query parameter longer than this names nothing the store holds.
MAX_QUERY = 1024


def _check_admin(
    svc: Service, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> None:
    source = svc.source(request)
    locked = svc.lockout.blocked(source)
    if locked > 0:
        # Whatever the token: a guesser must not learn it was right during the lock-out.
        raise HTTPException(
            429,
            "too many failed authentications from this address; try again later",
            headers={"Retry-After": retry_after(locked)},
        )
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    check = auth.bearer(header, svc.settings.admin_token.reveal())
    if check is auth.Check.WRONG:
        svc.lockout.failed(source)
        raise HTTPException(403, "the admin token is not valid")
    if check is auth.Check.MISSING:
        raise HTTPException(
            401,
            "this needs the admin token: Authorization: Bearer TOKEN",
            headers={"WWW-Authenticate": 'Bearer realm="jhiv-admin"'},
        )
    svc.lockout.succeeded(source)


def admin(svc: ServiceDep, request: Request, credentials: BearerDep) -> Service:
    _check_admin(svc, request, credentials)
    return svc


def reader(svc: ServiceDep, request: Request, credentials: BearerDep) -> Service:
    if not svc.settings.public_results:
        _check_admin(svc, request, credentials)
    return svc


AdminDep = Annotated[Service, Depends(admin)]
ReaderDep = Annotated[Service, Depends(reader)]


# --- models -------------------------------------------------------------------------


def _shown(value: str) -> str:
    """A rejected value as an error quotes it: short, and without URL credentials."""
    shown = redact_text(value if len(value) <= 80 else value[:80] + "...")
    return repr(shown)


class WatchIn(BaseModel):
    """A repository to validate on every push, for one profile."""

    model_config = ConfigDict(extra="forbid")

    registry: str = Field(
        max_length=255,
        description="Registry host[:port] as pushers address it (docker.io for Docker Hub).",
        examples=["registry.example.com:5000"],
    )
    repository: str = Field(
        max_length=255,
        description="Repository path; `*` and `?` match any characters (`team/*`).",
        examples=["team/notebook"],
    )
    tags: str = Field("*", max_length=128, description="Tag pattern (`*`, `v*`, `latest`).")
    profile: str = Field(
        DEFAULT_PROFILE, max_length=64, description="Built-in profile the hub matches."
    )
    insecure: bool = Field(False, description="The registry speaks plain HTTP or has no valid TLS.")
    username: str | None = Field(
        None, max_length=255, description="Login at the registry, to pull."
    )
    password: SecretStr | None = Field(
        None,
        max_length=4096,
        description="Password or read-only token; stored encrypted, never returned.",
    )
    callback_url: str | None = Field(
        None,
        max_length=2048,
        description="Where to POST each verdict. Credentials in it (`https://user:pass@...`) "
        "are stored encrypted and shown as `***`.",
    )
    callback_secret: SecretStr | None = Field(
        None,
        max_length=4096,
        description="HMAC key of X-JHIV-Signature-256 on callbacks; stored encrypted.",
    )

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        # A lone surrogate ("\ud800" in the JSON) is a str no database can store.
        jsonbody.check_tree(data)
        return data

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        host = registry_host(value.removeprefix("https://").removeprefix("http://"))
        if "@" in host:
            # Not quoted: what precedes the @ is most likely a password.
            raise ValueError("the registry holds credentials (user:password@); give them as "
                             "username and password")  # fmt: skip
        if not HOST_RE.match(host):
            raise ValueError(f"{_shown(value)} is not a registry host[:port]")
        return host

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not valid_repository_pattern(value):
            raise ValueError(f"{_shown(value)} is not a repository path (lower case, / . _ - * ?)")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: str) -> str:
        if not valid_tag_pattern(value):
            raise ValueError(f"{_shown(value)} is not a tag pattern")
        return value

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if value not in builtin_names():
            raise ValueError(
                f"unknown profile {_shown(value)}; one of {', '.join(builtin_names())}"
            )
        return value

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parts = urlsplit(value)
                parts.port  # noqa: B018 -- raises on a port that is not a number
            except ValueError:
                raise ValueError("callback_url is not a URL") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("callback_url must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _login(self) -> WatchIn:
        if self.password is not None and not self.username:
            raise ValueError("a password needs a username")
        if self.registry == DOCKER_HUB and "/" not in self.repository:
            self.repository = f"library/{self.repository}"
        return self


class ValidationOut(BaseModel):
    id: int
    image: str = Field(description="registry/repository@digest: what was validated.")
    registry: str
    repository: str
    tag: str = Field(description="The tag whose push queued the validation.")
    tags: list[str] = Field(description="The tags that name this digest now.")
    digest: str
    profile: str
    hub_version: str
    status: Status = Field(description="Where the validation is.")
    verdict: str | None = Field(description="compatible | incompatible | error, once done")
    error: str | None
    attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    counts: dict[str, int] | None
    links: dict[str, str]
    report: dict[str, Any] | None = Field(
        None, description="The validator's JSON report (docs/report-format.md), by id only."
    )


class PendingOut(BaseModel):
    # Read straight from the store's ResolutionInfo.
    model_config = ConfigDict(from_attributes=True)

    registry: str
    repository: str
    tag: str
    status: Status = Field(description="Where asking the registry for the digest is.")
    error: str | None
    attempts: int
    created_at: str | None


class ResultsOut(BaseModel):
    query: str
    digest: str | None = Field(description="For a tag: the digest it names now.")
    validations: list[ValidationOut]
    pending: list[PendingOut] = Field(description="Pushes whose digest is not known yet.")


# --- watches --------------------------------------------------------------------------


def _secret(value: SecretStr | None) -> Secret | None:
    return Secret(value.get_secret_value()) if value is not None else None


@router.post("/watches", status_code=201, response_model=WatchInfo, tags=["watches"])
def create_watch(body: WatchIn, svc: AdminDep) -> WatchInfo:
    """Watch a repository: every push of a matching tag is validated for the profile."""
    spec = WatchSpec(
        registry=body.registry,
        repository=body.repository,
        tags=body.tags,
        profile=body.profile,
        insecure=body.insecure,
        username=body.username,
        password=_secret(body.password),
        callback_url=body.callback_url,
        callback_secret=_secret(body.callback_secret),
    )
    try:
        info = svc.store.create_watch(spec)
    except SecretKeyError as exc:
        raise HTTPException(503, exc.one_line()) from None
    except Duplicate:
        raise HTTPException(
            409, "a watch with this registry, repository, tags and profile exists"
        ) from None
    svc.watches_changed()
    return info


@router.get("/watches", response_model=list[WatchInfo], tags=["watches"])
def list_watches(svc: AdminDep) -> list[WatchInfo]:
    return svc.store.watches()


@router.get("/watches/{watch_id}", response_model=WatchInfo, tags=["watches"])
def get_watch(watch_id: WatchId, svc: AdminDep) -> WatchInfo:
    info = svc.store.watch(watch_id)
    if info is None:
        raise HTTPException(404, f"no watch {watch_id}")
    return info


@router.delete("/watches/{watch_id}", status_code=204, tags=["watches"])
def delete_watch(watch_id: WatchId, svc: AdminDep) -> Response:
    """Delete the watch, its stored secrets and its jobs not yet started (results stay)."""
    if not svc.store.delete_watch(watch_id):
        raise HTTPException(404, f"no watch {watch_id}")
    svc.watches_changed()
    return Response(status_code=204)


# --- results --------------------------------------------------------------------------


def _links(info: ValidationInfo) -> dict[str, str]:
    image = quote(f"{info.registry}/{info.repository}@{info.digest}", safe="")
    return {
        "self": f"/api/v1/validations/{info.id}",
        "badge": f"/api/v1/badge?image={image}&profile={info.profile}",
    }


def _validation_out(
    info: ValidationInfo, tags: dict[str, list[str]], full: bool = False
) -> ValidationOut:
    """The stored fields as they are, and the few the API derives from them."""
    return ValidationOut.model_validate(
        {
            **asdict(info),
            "image": f"{info.registry}/{info.repository}@{info.digest}",
            "tags": tags.get(info.digest, []),
            "counts": (info.report or {}).get("counts"),
            "links": _links(info),
            "report": info.report if full else None,
        }
    )


def _lookup(
    svc: Service, image: str | None, digest: str | None, profile: str | None
) -> tuple[str | None, list[ValidationInfo], list[ResolutionInfo]]:
    store = svc.store
    if image is None:
        if digest is None or not DIGEST_RE.match(digest):
            raise HTTPException(400, "give image=REGISTRY/REPOSITORY[:TAG|@DIGEST] or digest=")
        return digest, store.by_digest(digest, profile), []
    if _has_credentials(image):
        raise HTTPException(400, "an image reference holds no credentials (user:password@)")
    try:
        query = parse_query(image)
    except ValueError as exc:
        raise HTTPException(
            400, f"invalid image {_shown(image)}: {redact_text(str(exc))}"
        ) from None
    if query.digest is not None:
        return query.digest, store.by_digest(query.digest, profile), []
    if query.tag is not None:
        named = store.tag_digest(query.registry, query.repository, query.tag)
        pending = store.resolutions(query.registry, query.repository, query.tag)
        return named, store.by_digest(named, profile) if named else [], pending
    return (
        None,
        store.by_repository(query.registry, query.repository, profile),
        store.resolutions(query.registry, query.repository),
    )


def _has_credentials(image: str) -> bool:
    """``[scheme://]user:pass@host/...``: an @ before the first slash of the name."""
    name = image.strip().partition("://")[2] or image.strip()
    _head, at, rest = name.partition("/")[0].partition("@")
    return bool(at) and not rest.startswith("sha256:")


def _results(
    svc: Service, image: str | None, digest: str | None, profile: str | None
) -> ResultsOut:
    named, found, pending = _lookup(svc, image, digest, profile)
    tags = svc.store.tags_of(sorted({v.digest for v in found}))
    return ResultsOut(
        query=redact_text(image or digest or ""),
        digest=named,
        validations=[_validation_out(v, tags) for v in found],
        pending=[PendingOut.model_validate(p) for p in pending],
    )


@router.get("/validations", response_model=ResultsOut, tags=["results"])
async def results(
    svc: ReaderDep,
    image: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY,
            description="`host/repo` (every digest its tags named), `host/repo:tag` "
            "(the digest the tag names now) or `host/repo@sha256:...`.",
        ),
    ] = None,
    digest: Annotated[
        str | None, Query(max_length=MAX_QUERY, description="sha256:... alone")
    ] = None,
    profile: Annotated[
        str | None, Query(max_length=MAX_QUERY, description="Only this profile's results")
    ] = None,
) -> ResultsOut:
    """Validations of an image, a tag or a digest, newest first."""
    return await run_in_threadpool(_results, svc, image, digest, profile)


@router.get("/validations/{validation_id}", response_model=ValidationOut, tags=["results"])
def validation(validation_id: ValidationId, svc: ReaderDep) -> ValidationOut:
    """One validation with the validator's complete JSON report."""
    info = svc.store.validation(validation_id)
    if info is None:
        raise HTTPException(404, f"no validation {validation_id}")
    return _validation_out(info, svc.store.tags_of([info.digest]), full=True)


def badge_state(found: list[ValidationInfo], pending: list[ResolutionInfo]) -> str:
    if not found:
        return "pending" if any(p.status != Status.FAILED for p in pending) else "unknown"
    latest = found[0] if len(found) == 1 else max(found, key=lambda v: v.id)
    if latest.status == Status.DONE:
        return latest.verdict or "error"
    return "failed" if latest.status == Status.FAILED else "pending"


@router.get(
    "/badge",
    tags=["results"],
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "An SVG badge."}},
)
async def image_badge(
    svc: ReaderDep,
    image: Annotated[
        str,
        Query(
            max_length=MAX_QUERY,
            description="`host/repo:tag`, `host/repo@digest` or `host/repo`",
        ),
    ],
    profile: Annotated[
        str | None,
        Query(max_length=MAX_QUERY, description="The profile (default: the newest result)"),
    ] = None,
) -> Response:
    """`jupyterhub 5.4 | compatible`: the verdict for the image's current digest."""
    _, found, pending = await run_in_threadpool(_lookup, svc, image, None, profile)
    state = badge_state(found, pending)
    hub = found[0].hub_version if found else None
    return Response(
        badge.for_result(hub, state),
        media_type="image/svg+xml",
        # Pushes change the answer: proxies and README renderers must ask again.
        headers={"Cache-Control": "no-cache, max-age=0"},
    )
