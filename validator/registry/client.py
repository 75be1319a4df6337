"""The registry side of getting an image: which registry, how to reach it, what it holds.

Before the engine pulls, the validator asks the registry itself for the image's manifest.
That answer gives the digest (so a cached result can be found without pulling gigabytes),
names the cause of a failure precisely (login, repository, tag, platform), and checks the
registry the way a hub's node does. The engine is not asked: its trust settings are not
the hub's (it reaches every 127.0.0.0/8 registry and daemon.json's insecure-registries
without verifying TLS). Here TLS is verified against the system CAs or ``--ca-cert``, and
plain HTTP is used only for hosts named with ``--insecure-registry``.

Only the distribution API's handshake is ours (ping-less manifest GET, the Basic/Bearer
challenge, the token request); HTTP and TLS are requests'.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import ssl
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from validator.errors import (
    ImageNotFound,
    PlatformUnavailable,
    RegistryAuthError,
    RegistryError,
    RegistryMismatch,
    RegistryTLSError,
    RegistryUnreachable,
    ValidatorError,
)
from validator.redact import has_userinfo, redact_url
from validator.reference import DOCKER_HUB, HOST_RE, ImageRef, fold_docker_hub
from validator.registry.credentials import Credentials, Secret, scrub

log = logging.getLogger(__name__)

# Docker Hub's API lives on another host than its name.
DOCKER_HUB_API = "registry-1.docker.io"
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
IMAGE_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
# A registry that drops packets should not hold the run for long; one that answers slowly may.
_CONNECT_S = 10.0
_READ_S = 30.0


@dataclass(frozen=True)
class RegistryAddress:
    """What ``--registry`` names: a host, maybe a scheme, maybe a namespace under it."""

    host: str
    scheme: str | None = None
    path: str = ""

    def __str__(self) -> str:
        return f"{self.host}/{self.path}" if self.path else self.host


def parse_registry_url(text: str) -> RegistryAddress:
    """``https://host:5000``, ``host:5000``, ``https://host/v2/``, ``host/group`` -> address."""
    rest = text.strip()
    scheme = None
    match = re.match(r"^(https?)://", rest, flags=re.IGNORECASE)
    if match:
        scheme = match.group(1).lower()
        rest = rest[match.end() :]
    host, _, path = rest.strip("/").partition("/")
    # Docker's own spellings of the API root are not a namespace.
    path = re.sub(r"^v[12](?:/|$)", "", path.strip("/")).strip("/")
    if has_userinfo(text):
        # The password would be quoted back in the error, as in an image reference.
        raise RegistryMismatch(
            f"invalid registry {redact_url(text)!r}: it contains a user name or token before '@'",
            hint="give the login with --username and --password-stdin, never in the URL",
        )
    if not HOST_RE.match(host):
        raise RegistryMismatch(
            f"invalid registry {text!r}: {host!r} is not a host name",
            hint="give it as https://registry.example.com[:port]",
        )
    return RegistryAddress(host=fold_docker_hub(host), scheme=scheme, path=path.lower())


def check_same_registry(ref: ImageRef, address: RegistryAddress, typed: str) -> None:
    """The image must live on the registry the credentials are for; say so when not.

    The hub pulls exactly the reference it is given: credentials for one registry do not
    make a short name resolve there, so a disagreement would validate another image.
    """
    if ref.registry != address.host:
        short = ref.repository.removeprefix("library/") if ref.is_docker_hub else ref.repository
        if address.path and not short.startswith(f"{address.path}/"):
            short = f"{address.path}/{short}"
        suffix = f":{ref.tag}" if ref.tag else ""
        suffix += f"@{ref.digest}" if ref.digest else ""
        raise RegistryMismatch(
            f"the image {typed!r} is on {ref.registry} but --registry names {address.host}",
            hint=f"give the image's full path, as the hub needs it: {address.host}/{short}{suffix}",
        )
    if address.scheme and ref.scheme and address.scheme != ref.scheme:
        raise RegistryMismatch(
            f"the image {typed!r} says {ref.scheme}:// but --registry says {address.scheme}://",
            hint="use the same scheme in both, or leave it out of one",
        )
    if address.path and not ref.repository.startswith(f"{address.path}/"):
        raise RegistryMismatch(
            f"the image {typed!r} is not under --registry {address}",
            hint=f"give the image's full path, e.g. {address}/{ref.repository.rsplit('/', 1)[-1]}",
        )


@dataclass(frozen=True)
class RegistryAccess:
    """How to reach registries: logins (at most one per host), extra trust, HTTP hosts.

    The caller gathers the logins up front (stdin, environment, Docker's config); nothing
    here reads a file or a terminal.
    """

    logins: tuple[Credentials, ...] = ()
    # What --registry named, for its scheme; None when it was not given.
    address: RegistryAddress | None = None
    ca_cert: Path | None = None
    insecure: frozenset[str] = field(default_factory=frozenset)

    def credentials_for(self, host: str) -> Credentials | None:
        return next((login for login in self.logins if login.registry == host), None)

    def secrets(self) -> tuple[Secret, ...]:
        return tuple(login.password for login in self.logins)

    def scheme_for(self, ref: ImageRef) -> str:
        if ref.scheme:
            return ref.scheme
        if self.address is not None and self.address.host == ref.registry and self.address.scheme:
            return self.address.scheme
        return "https"


@dataclass(frozen=True)
class Manifest:
    """What the registry holds under a reference."""

    digest: str
    media_type: str
    # os/arch[/variant] of each image in an index; empty for a single-image manifest.
    platforms: tuple[str, ...] = ()
    # The index's platform objects, for matching the hub's platform.
    entries: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)
    # The manifest digest of each entry, in the same order.
    entry_digests: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # What a node downloads: the compressed layers of the hub's platform's image (pull-time).
    layer_bytes: int | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def platform_matches(wanted: str, entry: Mapping[str, Any]) -> bool:
    os_name, _, rest = wanted.lower().partition("/")
    arch, _, variant = rest.partition("/")
    if entry.get("os") != os_name or entry.get("architecture") != arch:
        return False
    return not variant or entry.get("variant") == variant


def platforms_of(index: Mapping[str, Any]) -> tuple[str, ...]:
    """The platforms an index offers; attestation entries ("unknown/unknown") left out."""
    found: list[str] = []
    for entry in index.get("manifests") or []:
        plat = entry.get("platform") or {}
        if not plat.get("os") or plat.get("os") == "unknown":
            continue
        name = f"{plat['os']}/{plat.get('architecture', '?')}"
        name += f"/{plat['variant']}" if plat.get("variant") else ""
        found.append(name)
    return tuple(dict.fromkeys(found))


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, params = header.strip().partition(" ")
    found = dict(re.findall(r'(\w+)="([^"]*)"', params))
    return scheme.lower(), found


def _api_host(registry: str) -> str:
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


def _default_ca_bundle() -> str | bool:
    """The CAs this machine trusts, as the engine (Go) reads them, not only certifi's.

    A private CA installed with update-ca-certificates must count here as it does for
    the engine; the usual variables still override.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return value
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    return True  # requests' own bundle (certifi)


@contextlib.contextmanager
def _verify_setting(access: RegistryAccess, host: str) -> Iterator[str | bool]:
    """requests' ``verify`` for ``host``: the usual CAs, plus --ca-cert when given."""
    if host in access.insecure:
        yield False
        return
    if access.ca_cert is None:
        yield _default_ca_bundle()
        return
    # The registry's own CA adds to the usual ones: a token service may sit on another
    # host with a public certificate.
    default = _default_ca_bundle()
    default_path = Path(default if isinstance(default, str) else DEFAULT_CA_BUNDLE_PATH)
    with tempfile.TemporaryDirectory(prefix="jhiv-ca-") as tmp:
        bundle = Path(tmp) / "bundle.pem"
        bundle.write_bytes(default_path.read_bytes() + b"\n" + access.ca_cert.read_bytes() + b"\n")
        yield str(bundle)


def _reason(exc: BaseException) -> str:
    """The informative tail of a requests/urllib3 error, without pool and URL noise."""
    text = str(exc)
    for pattern in (
        r"certificate verify failed: ([^(')\]]+)",
        r"(Hostname mismatch[^(')\]]*)",
        r"(wrong version number|record layer failure|packet length too long)",
        r"(Connection refused|Name or service not known|No route to host|"
        r"Temporary failure in name resolution|Network is unreachable|timed out)",
    ):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip().rstrip(".")
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _errors(response: requests.Response) -> list[dict[str, Any]]:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def _error_text(response: requests.Response) -> str:
    errors = _errors(response)
    if errors:
        return "; ".join(str(e.get("message") or e.get("code")) for e in errors)
    return response.reason or f"HTTP {response.status_code}"


class _Client:
    """One conversation with one registry about one repository."""

    def __init__(
        self, ref: ImageRef, access: RegistryAccess, verify: str | bool, scheme: str
    ) -> None:
        self.ref = ref
        self.host = ref.registry
        self.base = f"{scheme}://{_api_host(ref.registry)}/v2/{ref.repository}"
        self.credentials = access.credentials_for(ref.registry)
        self.verify = verify
        self.session = requests.Session()
        self.authorization: str | None = None

    def close(self) -> None:
        self.session.close()

    @property
    def secrets(self) -> tuple[Secret | None, ...]:
        return (self.credentials.password if self.credentials else None,)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        headers = dict(headers or {})
        if self.authorization:
            headers["Authorization"] = self.authorization
        response = self._send(url, headers)
        if response.status_code == 401 and self.authorization is None:
            self.authorization = self._login(response)
            headers["Authorization"] = self.authorization
            response = self._send(url, headers)
        return response

    def _send(
        self,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        try:
            with _quiet_insecure_warnings(self.verify is False):
                return self.session.get(
                    url,
                    headers=headers,
                    params=params,
                    auth=auth,
                    verify=self.verify,
                    timeout=(_CONNECT_S, _READ_S),
                    allow_redirects=True,
                )
        except requests.exceptions.SSLError as exc:
            reason = scrub(_reason(exc), *self.secrets)
            if re.search(r"wrong version number|record layer failure|packet length", str(exc)):
                raise RegistryTLSError(
                    f"registry {self.host} does not speak TLS (HTTPS): {reason}",
                    hint=f"if it serves plain HTTP and you trust the network, "
                    f"add --insecure-registry {self.host}",
                ) from None
            raise RegistryTLSError(
                f"TLS verification of registry {self.host} failed: {reason}",
                hint="if it uses a private CA, pass that CA's certificate with --ca-cert FILE",
            ) from None
        except requests.exceptions.Timeout:
            raise RegistryUnreachable(
                f"registry {self.host} did not answer in time "
                f"({_CONNECT_S:.0f} s to connect, {_READ_S:.0f} s to reply)",
                hint="check the host and port, your network and proxy settings",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise RegistryUnreachable(
                f"registry {self.host} is unreachable: {scrub(_reason(exc), *self.secrets)}",
                hint="check the host name and port, your network and proxy settings",
            ) from None

    def _login(self, challenge_response: requests.Response) -> str:
        scheme, params = parse_challenge(challenge_response.headers.get("WWW-Authenticate", ""))
        creds = self.credentials
        if scheme == "basic":
            if creds is None:
                raise self._login_required()
            token = base64.b64encode(
                f"{creds.username}:{creds.password.reveal()}".encode()
            ).decode()
            return f"Basic {token}"
        if scheme != "bearer" or "realm" not in params:
            raise RegistryAuthError(
                f"registry {self.host} asks for an unsupported login ({scheme or 'none'})",
            )
        # Anonymous tokens are how public repositories on token registries are read.
        query = {"scope": f"repository:{self.ref.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        auth = (creds.username, creds.password.reveal()) if creds else None
        response = self._send(params["realm"], {}, params=query, auth=auth)
        if response.status_code in (401, 403):
            raise self.login_failed(response.status_code)
        if not response.ok:
            raise RegistryError(
                f"the token service of registry {self.host} failed: HTTP {response.status_code}"
            )
        body: Any = None
        with contextlib.suppress(ValueError):
            body = response.json()
        bearer = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not bearer:
            raise RegistryError(f"the token service of registry {self.host} sent no token")
        return f"Bearer {bearer}"

    def _login_required(self) -> RegistryAuthError:
        return RegistryAuthError(
            f"registry {self.host} requires a login to pull {self.ref.repository}",
            hint="give --username NAME and the password or token on --password-stdin "
            "(or `docker login` first)",
        )

    def login_failed(self, status: int) -> RegistryAuthError:
        creds = self.credentials
        if creds is None:
            return self._login_required()
        if status == 403:
            return RegistryAuthError(
                f"registry {self.host} denied user {creds.username!r} access to "
                f"{self.ref.repository} (HTTP 403)",
                hint="the account or token needs pull (read) permission on this repository",
            )
        return RegistryAuthError(
            f"registry {self.host} rejected the login of user {creds.username!r}: "
            f"authentication failed (HTTP 401)",
            hint=f"check the username and the password or access token (from {creds.source})",
        )

    def manifest(self, reference: str) -> requests.Response:
        return self.get(
            f"{self.base}/manifests/{reference}",
            {"Accept": ", ".join((*INDEX_TYPES, *IMAGE_TYPES))},
        )

    def tags(self) -> requests.Response:
        return self.get(f"{self.base}/tags/list")


@contextlib.contextmanager
def _quiet_insecure_warnings(quiet: bool) -> Iterator[None]:
    """--insecure-registry was asked for: urllib3's warning per request would only repeat it."""
    if not quiet:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


def resolve(ref: ImageRef, access: RegistryAccess, platform: str) -> Manifest:
    """Ask the registry what ``ref`` is: its digest and, for an index, its platforms.

    Raises RegistryAuthError, ImageNotFound, RegistryUnreachable, RegistryTLSError,
    PlatformUnavailable or RegistryError, each naming the registry (and the user).
    """
    scheme = access.scheme_for(ref)
    host = ref.registry
    if scheme == "http" and host not in access.insecure:
        raise RegistryTLSError(
            f"plain HTTP to registry {host} was asked for; it is used only when allowed",
            hint=f"add --insecure-registry {host} if you trust the network, or use https://",
        )
    reference = ref.digest or ref.tag or "latest"
    with _verify_setting(access, host) as verify:
        client = _Client(ref, access, verify, scheme)
        try:
            response = client.manifest(reference)
        except RegistryTLSError:
            if scheme != "https" or host not in access.insecure:
                raise
            # Docker's rule for insecure registries: HTTPS unverified, else plain HTTP.
            log.info("Registry %s refused HTTPS; trying plain HTTP (insecure)", host)
            client.close()
            client = _Client(ref, access, verify, "http")
            response = client.manifest(reference)
        try:
            manifest = _answer(client, ref, response)
            if manifest.is_index:
                manifest = _with_platform_layers(client, manifest, platform)
        finally:
            client.close()
    log.info("Registry %s has %s as %s", host, ref.canonical, manifest.digest)
    if manifest.is_index and not any(platform_matches(platform, e) for e in manifest.entries):
        offered = ", ".join(manifest.platforms) or "none"
        raise PlatformUnavailable(
            f"{ref.canonical} has no image for {platform} (the hub's platform); "
            f"it offers: {offered}",
            hint=f"build and push it for the hub: docker buildx build --platform {platform} --push ...",
        )
    return manifest


def _answer(client: _Client, ref: ImageRef, response: requests.Response) -> Manifest:
    """The manifest in ``response``, or the error that explains why there is none."""
    if response.status_code in (401, 403):
        raise client.login_failed(response.status_code)
    if response.status_code == 404:
        raise _not_found(client, ref, response)
    if not response.ok:
        raise RegistryError(
            f"registry {ref.registry} failed to give the manifest of {ref.canonical}: "
            f"HTTP {response.status_code} {scrub(_error_text(response), *client.secrets)}"
        )
    return _manifest_from(response)


def _manifest_from(response: requests.Response) -> Manifest:
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    digest = response.headers.get("Docker-Content-Digest") or (
        "sha256:" + hashlib.sha256(response.content).hexdigest()
    )
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = response.json()
    media_type = media_type or str(body.get("mediaType") or "")
    if media_type not in INDEX_TYPES:
        return Manifest(digest=digest, media_type=media_type, layer_bytes=layer_bytes(body))
    listed = [e for e in body.get("manifests") or [] if isinstance(e, dict)]
    entries = tuple(e.get("platform") or {} for e in listed)
    digests = tuple(str(e.get("digest") or "") for e in listed)
    return Manifest(digest, media_type, platforms_of(body), entries, digests)


def layer_bytes(manifest: Mapping[str, Any]) -> int | None:
    """The sum of an image manifest's (compressed) layer sizes; None when it lists none."""
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers:
        return None
    sizes = [layer.get("size") if isinstance(layer, dict) else None for layer in layers]
    counted = [size for size in sizes if isinstance(size, int) and size >= 0]
    return sum(counted) if len(counted) == len(sizes) else None


def _with_platform_layers(client: _Client, index: Manifest, platform: str) -> Manifest:
    """``index`` with the layer sizes of its image for ``platform``, when the registry says.

    Only pull-time needs them: a registry that will not give the platform's manifest
    leaves them unknown rather than failing the validation.
    """
    matching = [
        d
        for e, d in zip(index.entries, index.entry_digests, strict=False)
        if d and platform_matches(platform, e)
    ]
    if not matching:
        return index
    try:
        response = client.manifest(matching[0])
    except ValidatorError:
        return index
    if not response.ok:
        return index
    return dataclasses.replace(index, layer_bytes=_manifest_from(response).layer_bytes)


def _not_found(client: _Client, ref: ImageRef, response: requests.Response) -> ValidatorError:
    codes = {e.get("code") for e in _errors(response)}
    where = f"registry {ref.registry}"
    if "NAME_UNKNOWN" not in codes:
        # A missing tag and a missing repository look alike here; the tag list tells.
        with contextlib.suppress(ValidatorError, ValueError):
            tags = client.tags()
            if tags.status_code == 404:
                codes.add("NAME_UNKNOWN")
            elif tags.ok:
                names = sorted(tags.json().get("tags") or [])
                shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
                what = f"digest {ref.digest}" if ref.digest else f"tag {ref.tag!r}"
                return ImageNotFound(
                    f"{where} has repository {ref.repository!r} but no {what}",
                    hint=f"its tags: {shown}" if names else "push the image first",
                )
    if "NAME_UNKNOWN" in codes:
        return ImageNotFound(
            f"{where} has no repository {ref.repository!r}",
            hint="check the path (the hub needs the complete one) and that the image was pushed",
        )
    return ImageNotFound(
        f"{where} has no {ref.canonical}",
        hint="check the repository path and the tag",
    )
