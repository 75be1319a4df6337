"""A real private registry for the tests: CNCF distribution (Debian's ``docker-registry``)
on loopback, with an htpasswd (bcrypt) login and TLS from a CA made for the run.

``scripts/setup-registry.sh`` installs the binaries. The certificates come from the
openssl CLI; the password reaches htpasswd on stdin, never in an argv. The engine is
told to trust the CA the documented way, ``/etc/docker/certs.d/HOST:PORT/ca.crt`` (read
at each push and pull, no restart), and that file is removed again by ``stop()``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests

REGISTRY_BIN = "docker-registry"
ENGINE_CERTS = Path("/etc/docker/certs.d")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=jhiv test registry CA",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=directory,
    )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "san.ext",
        cwd=directory,
    )  # fmt: skip
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry; the password goes to htpasswd on stdin (-i)."""
    done = subprocess.run(
        ["htpasswd", "-niB", username],
        input=password,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@dataclass
class TestRegistry:
    """One registry process. ``tls=False`` makes a plain-HTTP one (no login)."""

    workdir: Path
    username: str = "jhiv-user"
    password: str = ""
    tls: bool = True
    port: int = field(default_factory=free_port)
    ca_cert: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    __test__ = False  # not a pytest test class, despite its name

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def auth(self) -> dict[str, str] | None:
        if not self.password:
            return None
        return {"username": self.username, "password": self.password}

    def start(self) -> TestRegistry:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.workdir / "data")}},
            "http": {"addr": self.host, "secret": "jhiv-test"},
        }
        if self.tls:
            self.ca_cert, cert, key = make_tls(self.workdir / "tls")
            config["http"] = {**config["http"], "tls": {"certificate": str(cert), "key": str(key)}}  # type: ignore[dict-item]
            self._trust_in_engine()
        if self.password:
            passwd = self.workdir / "htpasswd"
            passwd.write_text(htpasswd_line(self.username, self.password) + "\n")
            config["auth"] = {"htpasswd": {"realm": "jhiv-test", "path": str(passwd)}}
        # JSON is YAML; no YAML writer needed.
        config_file = self.workdir / "config.yml"
        config_file.write_text(json.dumps(config))
        log = (self.workdir / "registry.log").open("wb")
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config_file)], stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the registry exited with {self.process.returncode}: "
                    + (self.workdir / "registry.log").read_text()[-2000:]
                )
            try:
                response = requests.get(
                    f"{self.url}/v2/",
                    verify=str(self.ca_cert) if self.ca_cert else False,
                    timeout=2,
                )
                if response.status_code in (200, 401):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the registry on {self.host} did not answer within {timeout} s")

    def _trust_in_engine(self) -> None:
        assert self.ca_cert is not None
        target = ENGINE_CERTS / self.host
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ca_cert, target / "ca.crt")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(ENGINE_CERTS / self.host, ignore_errors=True)

    # --- content ------------------------------------------------------------------

    def push(self, client: docker.DockerClient, image: str, repository: str, tag: str) -> str:
        """Push a local image as HOST/repository:tag; returns the manifest digest.

        The registry-named tag is removed again, so a validation must pull it.
        """
        target = f"{self.host}/{repository}"
        client.images.get(image).tag(target, tag)
        digest = None
        try:
            for event in client.api.push(
                target, tag=tag, auth_config=self.auth, stream=True, decode=True
            ):
                if event.get("error"):
                    raise RuntimeError(f"push of {target}:{tag} failed: {event['error']}")
                digest = (event.get("aux") or {}).get("Digest") or digest
        finally:
            client.images.remove(f"{target}:{tag}")
        assert digest, f"the push of {target}:{tag} reported no digest"
        return str(digest)

    def put_index(self, repository: str, tag: str, entries: list[dict[str, object]]) -> str:
        """Store an OCI image index (a multi-platform manifest) under ``tag``."""
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": entries,
            }
        ).encode()
        response = requests.put(
            f"{self.url}/v2/{repository}/manifests/{tag}",
            data=body,
            headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
            auth=(self.username, self.password) if self.password else None,
            verify=str(self.ca_cert) if self.ca_cert else False,
            timeout=10,
        )
        response.raise_for_status()
        return str(response.headers["Docker-Content-Digest"])

    def manifest_size(self, repository: str, digest: str) -> int:
        response = requests.get(
            f"{self.url}/v2/{repository}/manifests/{digest}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            auth=(self.username, self.password) if self.password else None,
            verify=str(self.ca_cert) if self.ca_cert else False,
            timeout=10,
        )
        response.raise_for_status()
        return len(response.content)

    def docker_config(self, directory: Path) -> Path:
        """A Docker client config with this registry's login, as ``docker login`` writes it."""
        directory.mkdir(parents=True, exist_ok=True)
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        (directory / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": token}}}))
        os.chmod(directory / "config.json", 0o600)
        return directory
