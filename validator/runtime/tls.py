"""Internal SSL as JupyterHub's ``internal_ssl = True`` sets it up, for one spawn.

The hub makes its own certificate authorities, gives each server a certificate signed
by them (``Spawner.create_certs``), makes them readable for the server
(``Spawner.move_certs``; KubeSpawner mounts a secret at /etc/jupyterhub/ssl/), and from
then on every connection is mutual TLS: the hub and the proxy present client
certificates to the server, which requires them (``JUPYTERHUB_SSL_CLIENT_CA``), and the
server presents its own certificate to the hub API, verifying the hub's against the same
CA file (jupyterhub/services/auth.py, ``make_ssl_context(keyfile, certfile,
cafile=client_ca)``).

One CA stands in for the hub's five (hub-ca, notebooks-ca, proxy-client-ca ...): the
trust they form for a server is that one bundle. ``InternalSSL`` makes the CA, the stub
hub's certificate, the server's and the probes' client certificate, keeps the host-side
copies in a private temporary directory for the life of the spawn, and tells the probes
how to reach a server over TLS (``session_for``).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import ipaddress
import os
import secrets
import shutil
import ssl
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from validator.runtime.waiting import UpResult

__all__ = [
    "CA_FILE",
    "CERT_FILE",
    "KEY_FILE",
    "Authority",
    "InternalSSL",
    "KeyPair",
    "TlsCause",
    "TlsClient",
    "cert_archive",
    "plain_http_status",
    "session_for",
    "ssl_environment",
    "tls_cause",
]

# The names KubeSpawner gives the files of its internal-SSL secret.
KEY_FILE = "ssl.key"
CERT_FILE = "ssl.crt"
CA_FILE = "notebooks-ca_trust.crt"

# A spawn lasts minutes; a day of validity leaves room for a slow pull or a clock skew.
_VALIDITY = datetime.timedelta(days=1)
# JupyterHub's Spawner.ssl_alt_names_include_local default.
_LOCAL_NAMES = ("localhost",)
_LOCAL_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyterhub-image-validator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class Authority:
    """A certificate authority made in memory; its key never leaves this process."""

    def __init__(self, common_name: str = "jhiv internal CA") -> None:
        # P-256 rather than RSA: a key in milliseconds, and every OpenSSL a server may
        # link against accepts it.
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = _name(common_name)
        now = datetime.datetime.now(datetime.timezone.utc)
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        *,
        dns: Iterable[str] = (),
        ips: Iterable[str] = (),
        server: bool = True,
        client: bool = True,
    ) -> KeyPair:
        """A key pair signed by this CA, for the given names and uses.

        A singleuser presents its server certificate as its client certificate to the
        hub API, so a server's certificate carries both uses.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dict.fromkeys(dns)]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in dict.fromkeys(ips)]
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
        usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def ssl_environment(mount_path: str) -> dict[str, str]:
    """The JUPYTERHUB_SSL_* variables for certificates mounted at ``mount_path``."""
    base = mount_path.rstrip("/")
    return {
        "JUPYTERHUB_SSL_KEYFILE": f"{base}/{KEY_FILE}",
        "JUPYTERHUB_SSL_CERTFILE": f"{base}/{CERT_FILE}",
        "JUPYTERHUB_SSL_CLIENT_CA": f"{base}/{CA_FILE}",
    }


def cert_archive(files: Mapping[str, bytes]) -> bytes:
    """A tar of ``files`` for ``put_archive``: owned by root, readable by every uid.

    The image's USER is not known in advance (an entrypoint may switch it), so, like
    KubeSpawner's secret (defaultMode 0777), the files must be readable by anyone; the
    mount is read-only, so nobody can change them.
    """
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o444, now
            info.uid = info.gid = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class _PinnedHostAdapter(HTTPAdapter):
    """Verifies the server's certificate for ``hostname`` while connecting to its IP.

    The hub reaches a server by a DNS name its certificate carries (KubeSpawner: the
    pod's service); the validator cannot resolve the container's name, so it connects
    to the address and checks the name.
    """

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_hostname"] = self._hostname
        kwargs["server_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class TlsClient:
    """How a probe reaches one server over internal SSL: the CA and a client certificate."""

    hostname: str  # the name the server's certificate is checked for
    ca_file: str
    cert_file: str
    key_file: str

    def session(self) -> requests.Session:
        """A requests session that verifies the server and presents the client cert."""
        session = requests.Session()
        # Otherwise REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment replace the
        # session's CA (psf/requests#4726), and a proxy variable would reroute a probe
        # meant for the container's own address.
        session.trust_env = False
        session.verify = self.ca_file
        session.cert = (self.cert_file, self.key_file)
        session.mount("https://", _PinnedHostAdapter(self.hostname))
        return session

    def sslopt(self) -> dict[str, Any]:
        """The same for websocket-client's ``sslopt``."""
        return {
            "cert_reqs": ssl.CERT_REQUIRED,
            "ca_certs": self.ca_file,
            "certfile": self.cert_file,
            "keyfile": self.key_file,
            "server_hostname": self.hostname,
            "check_hostname": True,
        }


# Origins ("https://ip:port") of the servers started with internal SSL, so the probes
# that only have a URL reach them with the right client.
_CLIENTS: dict[str, TlsClient] = {}
_CLIENTS_LOCK = threading.Lock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def session_for(url: str) -> requests.Session:
    """A requests session for ``url``: mutual TLS for a server started with internal SSL."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(_origin(url))
    return client.session() if client is not None else requests.Session()


class InternalSSL:
    """The certificates of one spawn with internal SSL, and their host-side files.

    Close it (or use it as a context manager) to forget the servers registered with
    it and to remove the files.
    """

    def __init__(self) -> None:
        self.ca = Authority()
        # 0700: the host-side copies hold the client's and the stub hub's keys.
        self._dir = tempfile.mkdtemp(prefix="jhiv-ssl-")
        self.ca_file = self._write("ca.crt", self.ca.cert_pem)
        pair = self.ca.issue("proxy-client", server=False)
        self._client_cert = self._write("client.crt", pair.cert_pem)
        self._client_key = self._write("client.key", pair.key_pem)
        self._origins: list[str] = []

    def _write(self, name: str, data: bytes) -> str:
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def server_files(self, hostname: str) -> dict[str, bytes]:
        """What the spawner mounts for the server (KubeSpawner's file names).

        The names are JupyterHub's local defaults (localhost, 127.0.0.1) plus the
        container's hostname, which the probes check; the container's IP is only
        assigned when it starts, after the certificate must exist.
        """
        pair = self.ca.issue(
            f"user-{hostname}", dns=(hostname, *_LOCAL_NAMES), ips=_LOCAL_IPS, server=True
        )
        return {KEY_FILE: pair.key_pem, CERT_FILE: pair.cert_pem, CA_FILE: self.ca.cert_pem}

    def hub_context(self, host: str) -> ssl.SSLContext:
        """The stub hub's server context: its certificate for ``host``, client certs required.

        The hub's own API with internal SSL demands a certificate from its CA of every
        client (``make_ssl_context(..., purpose=CLIENT_AUTH)``).
        """
        ips = [host] if _is_ip(host) else []
        dns = [] if ips else [host]
        pair = self.ca.issue("hub", dns=(*dns, *_LOCAL_NAMES), ips=(*ips, *_LOCAL_IPS))
        suffix = secrets.token_hex(4)
        cert = self._write(f"hub-{suffix}.crt", pair.cert_pem)
        key = self._write(f"hub-{suffix}.key", pair.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(cert, key)
        return context

    def client(self, hostname: str) -> TlsClient:
        """The probes' TLS settings for a server whose certificate names ``hostname``."""
        return TlsClient(hostname, self.ca_file, self._client_cert, self._client_key)

    def register(self, url: str, client: TlsClient) -> None:
        """Probes that only have a URL under ``url``'s origin use ``client`` from now on."""
        origin = _origin(url)
        with _CLIENTS_LOCK:
            _CLIENTS[origin] = client
        self._origins.append(origin)

    def close(self) -> None:
        with _CLIENTS_LOCK:
            for origin in self._origins:
                _CLIENTS.pop(origin, None)
        self._origins.clear()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> InternalSSL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- a server that does not speak TLS ------------------------------------------------


def plain_http_status(url: str, timeout: float = 5.0) -> int | None:
    """The status a plain-HTTP GET of ``url`` (an https URL) answers, or None.

    Asked after a TLS handshake failed: an answer proves the server ignored the
    JUPYTERHUB_SSL_* settings and serves HTTP on the hub's port.
    """
    parts = urlsplit(url)
    plain = urlunsplit(("http", parts.netloc, parts.path, parts.query, ""))
    with contextlib.suppress(requests.RequestException), requests.Session() as session:
        return session.get(plain, timeout=timeout, allow_redirects=False).status_code
    return None


class TlsCause(NamedTuple):
    message: str
    fix: str


_FIX = (
    "Let jupyterhub-singleuser run with the hub's settings: keep JUPYTERHUB_SSL_KEYFILE, "
    "JUPYTERHUB_SSL_CERTFILE and JUPYTERHUB_SSL_CLIENT_CA in the server's environment and "
    "JUPYTERHUB_SERVICE_URL as given (https); a wrapper script must not unset or rewrite "
    'them, and must end with exec "$@".'
)
_HANDSHAKE_FIX = (
    "Use the certificates the hub mounts: do not set the server's own certfile, keyfile "
    "or client_ca (ServerApp.certfile and friends) in the image; the hub sets them "
    "through JUPYTERHUB_SSL_*."
)
# What the stub hub's side of a failed handshake says about the server's client.
_REFUSALS = {
    "TLSV1_ALERT_UNKNOWN_CA": "it does not trust the hub's certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "it does not trust the hub's certificate",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "it presents no client certificate",
}


def tls_cause(up: UpResult, hub_refusals: tuple[str, ...], port: int) -> TlsCause | None:
    """Why a server under internal SSL fails the spawn, when TLS is the cause.

    Named from what was seen, never guessed from a timeout: a plain-HTTP answer on the
    port where the hub speaks TLS, the stub hub's record of the server's own failed
    handshakes (it called the https hub API without the hub's CA or client
    certificate), or the TLS error the readiness poll kept getting.
    """
    if up.plain_http is not None:
        return TlsCause(
            f"the server answers plain HTTP ({up.plain_http}) on port {port}: it ignores "
            "JUPYTERHUB_SSL_*; with internal_ssl the hub connects with TLS and fails",
            _FIX,
        )
    if hub_refusals:
        reason = hub_refusals[-1]
        meaning = _REFUSALS.get(reason, "the handshake failed")
        exited = f"the container exited with code {up.exit_code}: " if up.exit_code else ""
        return TlsCause(
            f"{exited}the server's calls to the hub's https API fail TLS ({reason}: "
            f"{meaning}): it ignores JUPYTERHUB_SSL_CLIENT_CA (the CA that signs the hub's "
            "certificate) or JUPYTERHUB_SSL_CERTFILE/KEYFILE (the client certificate the "
            "hub demands); with internal_ssl it cannot reach the hub",
            _FIX,
        )
    if up.tls_error is not None and up.exit_code is None:
        return TlsCause(
            f"the TLS handshake on port {port} fails ({up.tls_error}): the hub connects "
            "with its internal certificates and cannot reach the server",
            _HANDSHAKE_FIX,
        )
    return None
