"""The check form: what the browser posts, turned into the API's own request models.

Pure: ``parse_form`` takes the posted fields and returns either a ``CheckForm`` (the
validated request, and a configuration when the user asked to save one) or the
messages to show next to each field. The rules are the on-demand API's
(``ondemand_api.ValidationRequestIn``/``ConfigurationIn``), so the page accepts and
refuses exactly what the API does. No message quotes the password or token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from pydantic import ValidationError

from validator.redact import redact_text
from validator.service.ondemand_api import ConfigurationIn, ValidationRequestIn

FIELDS = ("image", "registry", "username", "token", "mount_path", "profile")
# A message about the whole form, not one field.
GENERAL = "form"
_MAX_SHOWN = 200
# The check form has eight fields; a body with many more is not from this page.
MAX_FIELDS = 32


@dataclass(frozen=True)
class CheckForm:
    request: ValidationRequestIn
    save: ConfigurationIn | None


@dataclass(frozen=True)
class FormErrors:
    messages: dict[str, str]
    # What the user typed, to fill the form again; never the token.
    values: dict[str, str] = field(default_factory=dict)


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (the pages' forms send
    nothing else); the first value of a repeated name. Parsed here rather than by
    Starlette, whose form parser needs python-multipart for this one format."""
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        return {}
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def registry_of(text: str) -> str:
    """The host[:port] of what users type as a registry: ``https://host:5000``,
    ``host:5000/user/repo`` (the Jupyter4NFDI placeholder) or a bare host."""
    text = text.strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    return text.split("/", 1)[0]


def without_login(image: str) -> str:
    """The image as typed, or "" when a login is written into it (``user:token@host/...``)."""
    rest = image.split("://", 1)[-1]
    return "" if "@" in rest.split("/", 1)[0] else image


def _message(error: Mapping[str, object]) -> str:
    text = str(error.get("msg", "is not valid"))
    text = text.removeprefix("Value error, ")
    if error.get("type") == "string_too_long":
        text = "is too long"
    # The validator's hints speak to command-line users (--username, --password-stdin).
    text = text.split(" (hint:", 1)[0]
    if "user name or token before '@'" in text:
        text = (
            "the image holds a login before '@': write the image without it, and the "
            "username and token in the private registry fields"
        )
    text = redact_text(text)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


def _clean(fields: Mapping[str, str]) -> dict[str, str]:
    return {name: str(fields.get(name, "")).strip() for name in FIELDS}


def shown_values(fields: Mapping[str, str]) -> dict[str, str]:
    """What to fill the form with again: as typed, but never the token, nor a login
    written into the image."""
    shown = {k: v for k, v in _clean(fields).items() if k != "token"}
    shown["image"] = without_login(shown["image"])
    return shown


def parse_form(fields: Mapping[str, str], *, fixed_profile: str | None) -> CheckForm | FormErrors:
    """The posted form as a validation request (and a configuration to save), or errors."""
    values = _clean(fields)
    # A reference with a login in it is shown again without the login.
    shown = {k: v for k, v in values.items() if k != "token"}
    shown["image"] = without_login(values["image"])
    if not values["image"]:
        return FormErrors({"image": "enter the image to check"}, shown)
    body: dict[str, object] = {"image": values["image"]}
    if fixed_profile:
        body["profile"] = fixed_profile
    elif values["profile"]:
        body["profile"] = values["profile"]
    if values["mount_path"]:
        body["mount_path"] = values["mount_path"]
    if values["registry"]:
        body["registry"] = registry_of(values["registry"])
    if values["username"]:
        body["username"] = values["username"]
    token = values["token"] or None
    try:
        request = ValidationRequestIn.model_validate({**body, "password": token})
        save = (
            ConfigurationIn.model_validate({**body, "token": token})
            if str(fields.get("save", "")).strip()
            else None
        )
    except ValidationError as exc:
        return FormErrors(_messages(exc), shown)
    return CheckForm(request, save)


def _messages(exc: ValidationError) -> dict[str, str]:
    messages: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ()
        name = str(loc[0]) if loc else GENERAL
        name = {"password": "token"}.get(name, name)
        if name not in FIELDS:
            name = GENERAL
        text = str(error.get("msg", ""))
        # The model's own checks name no field; their messages say which one they mean.
        if name == GENERAL and "username" in text:
            name = "username"  # "a password or token needs a username"
        elif name == GENERAL and "mount" in text:
            name = "mount_path"
            # "profile 'x' is invalid: mount_path: expected ... (hint: ...)": the middle part.
            text = text.split("mount_path: ", 1)[-1].split(" (hint:", 1)[0]
            error = {**error, "msg": text}
        messages.setdefault(name, _message(error))
    return messages
