"""The webhook service's store on a real PostgreSQL, the production database
(docs/service.md: ``postgresql+psycopg://``): the SQLite behaviours of
tests/unit/service/test_store.py, and what only a server with concurrent connections
shows (row locks skipped by a second worker, two deliveries of one digest at once, a
database restart under a running store).

The cluster is private to this module: Debian's ``initdb``/``pg_ctl`` (installed by
scripts/setup-postgres.sh) in a temporary directory, on a free loopback port, with a
password login over TCP. initdb refuses to run as root, so as root the server runs as
the ``postgres`` user.
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
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text

from tests.support.registry import free_port
from tests.support.service import DIGEST_A, DIGEST_B, digest_of, settings
from tests.support.skip import unavailable
from tests.unit.service.test_store import (  # the same behaviours, run on PostgreSQL
    _enqueue,
    _watch,
    test_a_digest_is_validated_once_per_profile,
    test_deleting_a_watch_drops_its_queue_and_keeps_its_results,
    test_replayed_delivery_is_refused_and_records_nothing,
    test_resolution_queues_the_validation_unless_known,
)
from validator.registry.credentials import Secret
from validator.service.events import Push
from validator.service.secretbox import SecretBox, generate_key
from validator.service.store import (
    Duplicate,
    Enqueue,
    ResolveJob,
    Store,
    ValidateJob,
)

PASSWORD = "pw-" + secrets.token_hex(12)
CALLBACK = "cb-" + secrets.token_hex(12)
DB_USER = "jhiv"
T = TypeVar("T")


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


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
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


@dataclass
class Database:
    cluster: Cluster
    name: str
    box: SecretBox

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    def store(self) -> Store:
        """A new Store on the database, as a (re)started service process makes one."""
        made = Store(self.url, self.box)
        made.create_schema()
        return made

    def execute(self, sql: str) -> object:
        """One statement outside the store, on a connection of its own; its first value."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


@pytest.fixture
def database(cluster: Cluster) -> Database:
    """A database of its own for each test: no state leaks from one to the next."""
    return Database(cluster, cluster.create_database(), SecretBox(settings().secret_keys))


@pytest.fixture
def db(database: Database) -> Iterator[Store]:
    made = database.store()
    yield made
    made.close()


def _in_thread(call: Callable[[], T], timeout: float) -> T:
    """``call()`` in another thread; fails the test if it blocks past ``timeout``."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"blocked for more than {timeout} s"
    if errors:
        raise errors[0]
    return result[0]


# --- watches and their secrets ---------------------------------------------------------


def test_a_watch_is_stored_with_its_secrets_encrypted_listed_and_deleted(
    database: Database, db: Store
) -> None:
    watch = _watch(
        db,
        username="robot",
        password=Secret(PASSWORD),
        callback_url="https://hooks.example/verdict",
        callback_secret=Secret(CALLBACK),
    )
    [listed] = db.watches()
    assert (listed.id, listed.username, listed.has_password, listed.has_callback_secret) == (
        watch,
        "robot",
        True,
        True,
    )
    access = db.access(watch)
    assert access is not None and access.password is not None
    assert access.password.reveal() == PASSWORD
    assert access.callback_secret is not None and access.callback_secret.reveal() == CALLBACK

    with db.engine.connect() as conn:
        ciphertexts = [row[0] for row in conn.execute(text("SELECT ciphertext FROM secrets"))]
    assert len(ciphertexts) == 2
    dump = database.cluster.dump(database.name)
    # The dump has the secrets table's rows, and only in their encrypted form.
    assert all(c in dump for c in ciphertexts)
    assert PASSWORD not in dump and CALLBACK not in dump
    # Nor did the plaintext reach the server at all: no table page, WAL segment or log line.
    database.execute("CHECKPOINT")
    for secret in (PASSWORD, CALLBACK):
        assert database.cluster.files_containing(secret.encode()) == []

    assert db.delete_watch(watch) is True
    assert db.watches() == []
    assert db.access(watch) is None
    assert database.execute("SELECT count(*) FROM secrets") == 0
    dump = database.cluster.dump(database.name)
    assert not any(c in dump for c in ciphertexts)


def test_duplicate_watch_is_refused_and_the_store_goes_on(db: Store) -> None:
    _watch(db)
    with pytest.raises(Duplicate):
        _watch(db)
    # The failed transaction was rolled back, not left aborted on a pooled connection.
    assert len(db.watches()) == 1
    assert _watch(db, "z2jh") > 0


def test_rotate_keys_re_encrypts_every_secret(database: Database) -> None:
    old, new = Secret(generate_key()), Secret(generate_key())
    first = Store(database.url, SecretBox((old,)))
    first.create_schema()
    watch = _watch(first, username="robot", password=Secret(PASSWORD))
    first.close()
    rotating = Store(database.url, SecretBox((new, old)))
    assert rotating.rotate_secrets() == 1
    rotating.close()
    only_new = Store(database.url, SecretBox((new,)))
    try:
        access = only_new.access(watch)
        assert access is not None and access.password is not None
        assert access.password.reveal() == PASSWORD
    finally:
        only_new.close()


# --- the queue ---------------------------------------------------------------------------


def test_a_job_is_claimed_finished_and_a_failed_one_gets_a_new_chance(db: Store) -> None:
    watch = _watch(db)
    db.accept(
        [
            _enqueue(db, watch, Push("reg.example", "team/nb", "v1", DIGEST_A)),
            _enqueue(db, watch, Push("reg.example", "team/nb", "v2", DIGEST_B)),
        ]
    )
    assert db.depth() == {("validation", "queued"): 2}
    done = db.claim()
    assert isinstance(done, ValidateJob) and done.digest == DIGEST_A and done.attempts == 1
    assert db.depth() == {("validation", "queued"): 1, ("validation", "running"): 1}
    info = db.finish(done, {"verdict": "compatible", "duration_s": 2.5, "counts": {"pass": 1}})
    assert (info.status, info.verdict, info.duration_s) == ("done", "compatible", 2.5)
    assert info.report == {"verdict": "compatible", "duration_s": 2.5, "counts": {"pass": 1}}

    failed = db.claim()
    assert isinstance(failed, ValidateJob) and failed.digest == DIGEST_B
    db.fail(failed, "registry reg.example is unreachable")
    assert db.claim() is None
    [row] = db.by_digest(DIGEST_B)
    assert (row.status, row.error) == ("failed", "registry reg.example is unreachable")
    # A finished verdict stays; a failure is retried on the next push.
    again = [
        _enqueue(db, watch, Push("reg.example", "team/nb", "v1", DIGEST_A)),
        _enqueue(db, watch, Push("reg.example", "team/nb", "v2", DIGEST_B)),
    ]
    accepted = db.accept(again)
    assert (accepted.queued, accepted.deduplicated) == (1, 1)
    retried = db.claim()
    assert isinstance(retried, ValidateJob) and retried.id == failed.id


def test_accepted_jobs_survive_a_restart_of_the_service(database: Database) -> None:
    first = database.store()
    watch = _watch(first)
    first.accept(
        [
            _enqueue(first, watch, Push("reg.example", "team/a", "v1", DIGEST_A)),
            _enqueue(first, watch, Push("reg.example", "team/b", "v1")),  # to resolve
        ]
    )
    cut_off = first.claim()  # the process dies while running this one
    assert isinstance(cut_off, ResolveJob)
    first.close()

    second = database.store()
    try:
        assert second.requeue_running() == 1
        claimed = [second.claim(), second.claim(), second.claim()]
        assert isinstance(claimed[0], ResolveJob) and claimed[0].id == cut_off.id
        assert claimed[0].attempts == 2
        assert isinstance(claimed[1], ValidateJob) and claimed[1].digest == DIGEST_A
        assert claimed[2] is None
    finally:
        second.close()


def test_the_store_reconnects_after_the_database_restarts(database: Database, db: Store) -> None:
    watch = _watch(db)
    db.accept([_enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A))])
    # Every pooled connection now points at a server process that is gone.
    database.cluster.restart()
    job = db.claim()
    assert isinstance(job, ValidateJob) and job.digest == DIGEST_A


def test_a_job_locked_by_one_worker_is_skipped_by_the_next(database: Database, db: Store) -> None:
    watch = _watch(db)
    db.accept(
        [
            _enqueue(db, watch, Push("reg.example", "team/a", "v1", DIGEST_A)),
            _enqueue(db, watch, Push("reg.example", "team/b", "v1", DIGEST_B)),
        ]
    )
    other = create_engine(database.url)
    try:
        with other.connect() as conn, conn.begin():
            # Another service process is between its SELECT ... FOR UPDATE and its commit.
            locked = conn.execute(
                text("SELECT id FROM validations ORDER BY id LIMIT 1 FOR UPDATE")
            ).scalar()
            job = _in_thread(db.claim, timeout=10)
            assert isinstance(job, ValidateJob) and job.id != locked and job.digest == DIGEST_B
    finally:
        other.dispose()


def test_concurrent_workers_claim_each_job_exactly_once(db: Store) -> None:
    watch = _watch(db)
    pushes = [Push("reg.example", f"team/n{i}", "v1", digest_of(f"n{i}")) for i in range(30)]
    db.accept([_enqueue(db, watch, p) for p in pushes])
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        while (job := db.claim()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert len(claimed) == len(set(claimed)) == len(pushes)


def test_simultaneous_deliveries_of_one_digest_queue_one_validation(database: Database) -> None:
    # One Store per "process", as several service replicas share one database.
    stores = [database.store() for _ in range(6)]
    try:
        watch = _watch(stores[0])
        # One push of several tags: the registry sends an event per tag, all at once.
        tags = [f"v{i}" for i in range(len(stores))]
        items = [
            _enqueue(stores[0], watch, Push("reg.example", "team/nb", tag, DIGEST_A))
            for tag in tags
        ]
        start = threading.Barrier(len(stores))
        results: list[tuple[int, int]] = []
        errors: list[BaseException] = []

        def deliver(store: Store, item: Enqueue) -> None:
            start.wait()
            try:
                accepted = store.accept([item])
                results.append((accepted.queued, accepted.deduplicated))
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=deliver, args=pair) for pair in zip(stores, items, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(results) == [(0, 1)] * (len(stores) - 1) + [(1, 0)]
        assert len(stores[0].by_digest(DIGEST_A)) == 1
        assert all(stores[0].tag_digest("reg.example", "team/nb", t) == DIGEST_A for t in tags)
    finally:
        for store in stores:
            store.close()


__all__ = [  # collected here with this module's PostgreSQL ``db`` fixture
    "test_a_digest_is_validated_once_per_profile",
    "test_deleting_a_watch_drops_its_queue_and_keeps_its_results",
    "test_replayed_delivery_is_refused_and_records_nothing",
    "test_resolution_queues_the_validation_unless_known",
]
