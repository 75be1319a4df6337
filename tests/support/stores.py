"""The store's two backends for tests: SQLite in a temporary file, and a real PostgreSQL,
the production database (docs/service.md: ``postgresql+psycopg://``).

``store_backend`` is parametrized over both, so a store test is written once and runs on
each; the PostgreSQL parameter is marked ``docker`` (a server of its own, like the other
integration tests). The PostgreSQL cluster is private to the test session: Debian's
``initdb``/``pg_ctl`` (installed by scripts/setup-postgres.sh) in a temporary directory,
on a free loopback port, with a password login over TCP. initdb refuses to run as root,
so as root the server runs as the ``postgres`` user.

A conftest imports the fixtures; the helpers here hold no tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import create_engine, text

from tests.support.registry import free_port
from tests.support.service import settings
from tests.support.skip import unavailable
from validator.service import jobs
from validator.service.events import Push
from validator.service.secretbox import SecretBox
from validator.service.store import Enqueue, Store, WatchSpec

DB_USER = "jhiv"


def _pg_bin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


@dataclass
class Cluster:
    """One postgres server: its data directory, port and superuser password."""

    bin: Path
    root: Path
    port: int
    password: str
    as_postgres: bool  # running as root: every server-side command as the postgres user

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._own(pwfile)
        # --no-sync: the cluster lives for one test run; durability on power loss is moot.
        self._run(
            "initdb", "-D", str(self.data), "-U", DB_USER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=reject", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def _own(self, path: Path) -> None:
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"store_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return name

    def dump(self, database: str) -> str:
        """The whole database as pg_dump writes it (schema and rows)."""
        command = [
            str(self.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", DB_USER, "-d", database,
        ]  # fmt: skip
        done = subprocess.run(
            command,
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def files_containing(self, needle: bytes) -> list[Path]:
        """Files of the cluster (tables, WAL, the server log) whose bytes contain ``needle``."""
        return [
            path
            for path in self.root.rglob("*")
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
        ]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One private PostgreSQL server for the session (each test gets a database of its own)."""
    pg_bin = _pg_bin()
    if pg_bin is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        unavailable("PostgreSQL is missing: run scripts/setup-postgres.sh")
    assert pg_bin is not None  # unavailable() skipped or failed the test otherwise
    as_postgres = os.geteuid() == 0
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="jhiv-postgres-"))
    made = Cluster(pg_bin, root, free_port(), secrets.token_urlsafe(18), as_postgres)
    made._own(root)
    try:
        made.init()
        made.start()
        yield made
    finally:
        # postmaster.pid: a server runs (a start that timed out may have left one too).
        if (made.data / "postmaster.pid").exists():
            try:
                made.stop()
            except (AssertionError, subprocess.TimeoutExpired):
                _quit_postmaster(made.data)
        shutil.rmtree(root, ignore_errors=True)


def _quit_postmaster(data: Path) -> None:
    """pg_ctl could not stop the server: end it by the pid it wrote, and only that one.
    SIGQUIT is PostgreSQL's immediate shutdown, which takes its backends down with it."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)


class StoreBackend(Protocol):
    """Where a test's store lives; ``open`` is a (re)started service process's Store."""

    name: str
    box: SecretBox

    @property
    def url(self) -> str: ...

    def open(self, box: SecretBox | None = None) -> Store: ...

    def leaks(self, needle: str) -> list[str]:
        """Where ``needle`` shows in what the database keeps outside the store's API."""
        ...


def _open(url: str, box: SecretBox) -> Store:
    made = Store(url, box)
    made.create_schema()
    return made


@dataclass
class SqliteBackend:
    directory: Path
    box: SecretBox
    name: str = "sqlite"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.directory / 'service.sqlite3'}"

    def open(self, box: SecretBox | None = None) -> Store:
        return _open(self.url, box or self.box)

    def leaks(self, needle: str) -> list[str]:
        """The database file and its write-ahead log, byte by byte."""
        return [
            str(file) for file in self.directory.iterdir() if needle.encode() in file.read_bytes()
        ]


@dataclass
class Database:
    """A database of its own on the session's cluster."""

    cluster: Cluster
    database: str
    box: SecretBox
    name: str = "postgresql"

    @property
    def url(self) -> str:
        return self.cluster.url(self.database)

    def open(self, box: SecretBox | None = None) -> Store:
        return _open(self.url, box or self.box)

    def execute(self, sql: str) -> object:
        """One statement outside the store, on a connection of its own; its first value."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()

    def leaks(self, needle: str) -> list[str]:
        """The database's dump, and every file of the server: table pages, WAL, its log."""
        self.execute("CHECKPOINT")
        found = ["pg_dump"] if needle in self.cluster.dump(self.database) else []
        return found + [str(p) for p in self.cluster.files_containing(needle.encode())]


@pytest.fixture
def postgres_database(pg_cluster: Cluster) -> Database:
    """A database of its own for each test: no state leaks from one to the next."""
    return Database(pg_cluster, pg_cluster.create_database(), SecretBox(settings().secret_keys))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.docker)])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """Each backend the service supports, empty."""
    if request.param == "postgresql":
        database: Database = request.getfixturevalue("postgres_database")
        return database
    return SqliteBackend(tmp_path, SecretBox(settings().secret_keys))


@pytest.fixture
def store(store_backend: StoreBackend) -> Iterator[Store]:
    """An open store on each backend, as the service process holds one."""
    made = store_backend.open()
    yield made
    made.close()


def add_watch(store: Store, profile: str = "dockerspawner", **kw: object) -> int:
    """A watch of ``team/*`` on reg.example; its id."""
    spec = WatchSpec("reg.example", "team/*", "*", profile, **kw)  # type: ignore[arg-type]
    return store.create_watch(spec).id


def enqueue(store: Store, watch_id: int, push: Push) -> Enqueue:
    """What a receiver hands the store for ``push`` seen by the watch."""
    info = store.watch(watch_id)
    assert info is not None
    prof = jobs.profile(info.profile)
    key = jobs.validation_key(push.digest, prof) if push.digest else None
    return Enqueue(push, info.view, key, prof.hub_version)
