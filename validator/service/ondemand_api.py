"""The API of validation on demand: ``POST /api/v1/validations`` and stored
configurations under ``/api/v1/configurations``.

Authentication is the admin API's (bearer token, lock-out after failures). What is
created belongs to a caller: the token holder itself ("admin"), or the user a trusted
front end (the hub page of issue #17) names in ``X-JHIV-User`` while holding the token.
A caller sees only what it owns; anything else is a 404, as if it did not exist. Each
caller has a token bucket of its own (the service's rate and burst).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from starlette.convertors import Convertor, register_url_convertor

from validator.choices import DEFAULT_PROFILE
from validator.errors import ValidatorError
from validator.profiles import builtin_names, load_profile
from validator.redact import redact_text
from validator.reference import HOST_RE, parse_reference, registry_host
from validator.registry.credentials import Secret
from validator.service import jsonbody
from validator.service.api import MAX_ID, BearerDep, ServiceDep, _check_admin
from validator.service.engines.base import Engine
from validator.service.errors import SecretKeyError
from validator.service.ondemand_store import (
    REQUEST_ID_RE,
    ConfigurationInfo,
    OnDemandStore,
    RequestInfo,
    Target,
)
from validator.service.ratelimit import retry_after
from validator.service.store import Status

OWNER_HEADER = "X-JHIV-User"
ADMIN_OWNER = "admin"
# JupyterHub user names: anything printable, bounded; no control characters in a log.
_OWNER_RE = re.compile(r"^[^\x00-\x20\x7f]{1,255}$")


class _RequestId(Convertor[str]):
    # Only on-demand ids match, so /validations/{int} still reaches the webhook results.
    regex = REQUEST_ID_RE

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ondemand", _RequestId())

router = APIRouter(prefix="/api/v1")
ConfigId = Annotated[int, Path(ge=1, le=MAX_ID, description="The configuration's id.")]


def caller(
    svc: ServiceDep,
    request: Request,
    credentials: BearerDep,
    user: Annotated[
        str | None,
        Header(
            alias=OWNER_HEADER,
            max_length=255,
            description="The user a trusted front end acts for (default: admin).",
        ),
    ] = None,
) -> str:
    _check_admin(svc, request, credentials)
    owner = ADMIN_OWNER if user is None else user
    if not _OWNER_RE.match(owner):
        raise HTTPException(400, f"{OWNER_HEADER} is not a user name")
    wait = svc.limiter.acquire(f"caller:{owner}")
    if wait > 0:
        raise HTTPException(
            429, "too many requests from this caller", headers={"Retry-After": retry_after(wait)}
        )
    return owner


CallerDep = Annotated[str, Depends(caller)]


def _parts(request: Request) -> tuple[OnDemandStore, Engine]:
    return request.app.state.ondemand_store, request.app.state.engine


# --- models -------------------------------------------------------------------------


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str = Field(
        max_length=1024,
        description="The image as users type it (`jupyter/base-notebook`, "
        "`registry.example.org/team/nb:v1`, `...@sha256:...`); no credentials in it.",
    )
    profile: str = Field(DEFAULT_PROFILE, max_length=64, description="Built-in profile.")
    hub_version: str | None = Field(
        None, max_length=32, description="Override the profile's JupyterHub version."
    )
    mount_path: str | None = Field(
        None, max_length=1024, description="Mount an empty user-data volume here."
    )
    registry: str | None = Field(
        None, max_length=255, description="Registry host[:port] the login is for."
    )
    username: str | None = Field(None, max_length=255)
    insecure: bool = Field(False, description="The registry speaks plain HTTP.")

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        jsonbody.check_tree(data)
        return data

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        try:
            return parse_reference(value).canonical
        except ValidatorError as exc:
            # Its message never quotes credentials (reference.py refuses them by name).
            raise ValueError(redact_text(exc.one_line())) from None

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if value not in builtin_names():
            raise ValueError(f"unknown profile; one of {', '.join(builtin_names())}")
        return value

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host = registry_host(value.removeprefix("https://").removeprefix("http://"))
        if "@" in host:
            raise ValueError("the registry holds credentials; give them as username and token")
        if not HOST_RE.match(host):
            raise ValueError("registry is not a host[:port]")
        return host

    def _checked(self, secret: SecretStr | None) -> None:
        if secret is not None and not self.username:
            raise ValueError("a password or token needs a username")
        try:
            load_profile(self.profile).with_overrides(
                hub_version=self.hub_version, mount_path=self.mount_path
            )
        except ValidatorError as exc:
            raise ValueError(redact_text(exc.one_line())) from None

    def target(self) -> Target:
        return Target(
            self.image,
            self.profile,
            self.hub_version,
            self.mount_path,
            self.registry,
            self.username,
            self.insecure,
        )


class ValidationRequestIn(TargetIn):
    """An image to validate now, with an optional login used for this pull only."""

    password: SecretStr | None = Field(
        None, max_length=4096, description="Password or token; deleted when the job ends."
    )

    @model_validator(mode="after")
    def _login(self) -> ValidationRequestIn:
        self._checked(self.password)
        return self


class ConfigurationIn(TargetIn):
    """An image configuration as a platform's form holds it."""

    token: SecretStr | None = Field(
        None, max_length=4096, description="Password or token; encrypted, never returned."
    )

    @model_validator(mode="after")
    def _login(self) -> ConfigurationIn:
        self._checked(self.token)
        return self


class ReusedOut(BaseModel):
    """The earlier validation whose report this one reuses (same digest, profile, version)."""

    source: str = Field(description="`on demand` or `webhook`.")
    id: str | int | None = Field(
        description="Its id (an `od-` id, or a webhook validation's number); null when it "
        "was another caller's."
    )
    finished_at: str | None


class RequestOut(BaseModel):
    id: str
    owner: str
    configuration_id: int | None
    image: str
    profile: str
    hub_version: str | None
    mount_path: str | None
    registry: str | None
    username: str | None
    status: Status
    digest: str | None
    verdict: str | None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    links: dict[str, str]
    reused: ReusedOut | None = None
    report: dict[str, Any] | None = None


class ConfigurationOut(BaseModel):
    id: int
    image: str
    profile: str
    hub_version: str | None
    mount_path: str | None
    registry: str | None
    username: str | None
    insecure: bool
    has_token: bool
    created_at: str | None
    links: dict[str, str]


def _request_out(info: RequestInfo, full: bool = False) -> RequestOut:
    fields = {k: v for k, v in asdict(info).items() if k not in ("target", "report")}
    target = asdict(info.target)
    target.pop("insecure")
    return RequestOut(
        **fields,
        **target,
        links={"self": f"/api/v1/validations/{info.id}"},
        report=info.report if full else None,
    )


def _configuration_out(info: ConfigurationInfo) -> ConfigurationOut:
    own = f"/api/v1/configurations/{info.id}"
    return ConfigurationOut(
        id=info.id,
        **asdict(info.target),
        has_token=info.has_token,
        created_at=info.created_at,
        links={"self": own, "validate": f"{own}/validations"},
    )


def _accepted(response: Response, info: RequestInfo, runner: Engine) -> RequestOut:
    runner.submit(info.id)
    response.headers["Location"] = f"/api/v1/validations/{info.id}"
    return _request_out(info)


def _password(value: SecretStr | None) -> Secret | None:
    return Secret(value.get_secret_value()) if value is not None else None


# --- validations on demand -------------------------------------------------------------


@router.post("/validations", status_code=202, response_model=RequestOut, tags=["on demand"])
def request_validation(
    body: ValidationRequestIn, owner: CallerDep, request: Request, response: Response
) -> RequestOut:
    """Validate an image now; 202 with the job's URL (`Location`, `links.self`)."""
    store, runner = _parts(request)
    try:
        info = store.create_request(owner, body.target(), _password(body.password))
    except SecretKeyError as exc:
        raise HTTPException(503, exc.one_line()) from None
    return _accepted(response, info, runner)


@router.get("/validations/{request_id:ondemand}", response_model=RequestOut, tags=["on demand"])
def requested_validation(request_id: str, owner: CallerDep, request: Request) -> RequestOut:
    """Status of an on-demand validation, and its report once done."""
    info = _parts(request)[0].request(owner, request_id)
    if info is None:
        raise HTTPException(404, "no such validation")
    return _request_out(info, full=True)


# --- configurations ----------------------------------------------------------------------


@router.post(
    "/configurations", status_code=201, response_model=ConfigurationOut, tags=["on demand"]
)
def create_configuration(body: ConfigurationIn, owner: CallerDep, request: Request) -> Any:
    store = _parts(request)[0]
    try:
        info = store.create_configuration(owner, body.target(), _password(body.token))
    except SecretKeyError as exc:
        raise HTTPException(503, exc.one_line()) from None
    return _configuration_out(info)


@router.get("/configurations", response_model=list[ConfigurationOut], tags=["on demand"])
def list_configurations(owner: CallerDep, request: Request) -> Any:
    return [_configuration_out(c) for c in _parts(request)[0].configurations(owner)]


@router.get("/configurations/{config_id}", response_model=ConfigurationOut, tags=["on demand"])
def get_configuration(config_id: ConfigId, owner: CallerDep, request: Request) -> Any:
    info = _parts(request)[0].configuration(owner, config_id)
    if info is None:
        raise HTTPException(404, f"no configuration {config_id}")
    return _configuration_out(info)


@router.post(
    "/configurations/{config_id}/validations",
    status_code=202,
    response_model=RequestOut,
    tags=["on demand"],
)
def validate_configuration(
    config_id: ConfigId, owner: CallerDep, request: Request, response: Response
) -> RequestOut:
    """Validate the configuration again, now: a new on-demand validation."""
    store, runner = _parts(request)
    info = store.request_from_configuration(owner, config_id)
    if info is None:
        raise HTTPException(404, f"no configuration {config_id}")
    return _accepted(response, info, runner)


@router.delete("/configurations/{config_id}", status_code=204, tags=["on demand"])
def delete_configuration(config_id: ConfigId, owner: CallerDep, request: Request) -> Response:
    """Delete the configuration and its token (its validations' reports stay)."""
    if not _parts(request)[0].delete_configuration(owner, config_id):
        raise HTTPException(404, f"no configuration {config_id}")
    return Response(status_code=204)
