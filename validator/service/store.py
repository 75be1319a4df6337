"""The service's durable state: watches and their encrypted secrets, the job queue, the
results. One SQL database: an embedded SQLite file by default, PostgreSQL in production.

Every accepted push is written here before the webhook is answered, and a job leaves
the queue only when its result is written, so a restart loses nothing that was
acknowledged (jobs found ``running`` at start were cut off and run again).

Tables:
  watches      what to validate: registry, repository pattern, tag pattern, profile
  secrets      a watch's registry password and callback secret, Fernet-encrypted;
               deleted with the watch
  resolutions  pushes whose payload had no digest (Docker Hub, Quay), waiting for the
               registry to say which digest the tag names
  validations  one per digest + effective profile + validator version (``key``): the
               queue while ``queued``/``running``, the result once ``done``/``failed``
  tags         which digest each tag named last
  deliveries   webhook delivery ids seen (GitHub's X-GitHub-Delivery), to refuse replays
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from validator.redact import redact_url
from validator.registry.credentials import Secret
from validator.service.events import Push
from validator.service.matching import WatchView
from validator.service.secretbox import SecretBox

log = logging.getLogger(__name__)

PASSWORD = "registry-password"
CALLBACK_SECRET = "callback-secret"
# A callback URL with credentials in it (https://user:pass@host/...): the watches table
# keeps it redacted, this secret the whole URL, encrypted.
CALLBACK_URL = "callback-url"


class Status(str, Enum):
    """Where a validation or a resolution (asking the registry for a digest) is."""

    # enum.StrEnum from Python 3.11 on; the package still supports 3.10.
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so none is stored anywhere."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else None


class Base(DeclarativeBase):
    pass


class Watch(Base):
    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("registry", "repository", "tags", "profile"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column("registry", String(255))
    repository: Mapped[str] = mapped_column(String(255))
    tags: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(64))
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(255))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class StoredSecret(Base):
    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("watch_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[str] = mapped_column(Text)


class Resolution(Base):
    __tablename__ = "resolutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column("registry", String(255))
    repository: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class Validation(Base):
    __tablename__ = "validations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(71), index=True)
    host: Mapped[str] = mapped_column("registry", String(255))
    repository: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(128))
    profile: Mapped[str] = mapped_column(String(64))
    hub_version: Mapped[str] = mapped_column(String(16))
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watches.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    verdict: Mapped[str | None] = mapped_column(String(16))
    report: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)


class TagRecord(Base):
    __tablename__ = "tags"

    host: Mapped[str] = mapped_column("registry", String(255), primary_key=True)
    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    digest: Mapped[str] = mapped_column(String(71), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Delivery(Base):
    __tablename__ = "deliveries"

    receiver: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)


# --- values handed out (ORM objects stay inside their session) ----------------------


@dataclass(frozen=True)
class WatchSpec:
    registry: str
    repository: str
    tags: str
    profile: str
    insecure: bool = False
    username: str | None = None
    password: Secret | None = None
    callback_url: str | None = None
    callback_secret: Secret | None = None


@dataclass(frozen=True)
class WatchInfo:
    id: int
    registry: str
    repository: str
    tags: str
    profile: str
    insecure: bool
    username: str | None
    has_password: bool
    callback_url: str | None
    has_callback_secret: bool
    created_at: str | None

    @property
    def view(self) -> WatchView:
        return WatchView(self.id, self.registry, self.repository, self.tags, self.profile)


@dataclass(frozen=True)
class WatchAccess:
    """What a job needs of its watch: the login and where to report."""

    registry: str
    insecure: bool
    username: str | None
    password: Secret | None
    callback_url: str | None
    callback_secret: Secret | None


@dataclass(frozen=True)
class Enqueue:
    """One push for one watch; ``key`` and ``hub_version`` when the digest is known."""

    push: Push
    watch: WatchView
    key: str | None = None
    hub_version: str = ""


@dataclass(frozen=True)
class Accepted:
    queued: int = 0  # validations that will run because of this delivery
    deduplicated: int = 0  # digests already validated (or queued) for the profile
    resolving: int = 0  # tags whose digest the registry will be asked for
    # Pushes not queued because their watch had ``watch_cap`` jobs waiting already.
    over_cap: tuple[Enqueue, ...] = ()


@dataclass(frozen=True)
class ResolveJob:
    id: int
    watch_id: int
    registry: str
    repository: str
    tag: str
    attempts: int


@dataclass(frozen=True)
class ValidateJob:
    id: int
    digest: str
    registry: str
    repository: str
    tag: str
    profile: str
    watch_id: int | None
    attempts: int

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


@dataclass(frozen=True)
class ValidationInfo:
    id: int
    digest: str
    registry: str
    repository: str
    tag: str
    profile: str
    hub_version: str
    status: Status
    verdict: str | None
    error: str | None
    attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    report: dict[str, Any] | None


@dataclass(frozen=True)
class ResolutionInfo:
    id: int
    registry: str
    repository: str
    tag: str
    status: Status
    error: str | None
    attempts: int
    created_at: str | None


@dataclass(frozen=True)
class Delivered:
    """One webhook delivery's jobs, as the group commit queues it (Store.accept_batch)."""

    items: tuple[Enqueue, ...]
    delivery: tuple[str, str] | None = None  # (receiver, delivery id), for replays
    watch_cap: int | None = None


class Replay(Exception):
    """This delivery id was accepted before."""


class Duplicate(Exception):
    """A watch with the same registry, repository, tags and profile exists."""


def _validation_info(row: Validation) -> ValidationInfo:
    return ValidationInfo(
        id=row.id,
        digest=row.digest,
        registry=row.host,
        repository=row.repository,
        tag=row.tag,
        profile=row.profile,
        hub_version=row.hub_version,
        status=Status(row.status),
        verdict=row.verdict,
        error=row.error,
        attempts=row.attempts,
        created_at=iso(row.created_at),
        started_at=iso(row.started_at),
        finished_at=iso(row.finished_at),
        duration_s=row.duration_s,
        report=json.loads(row.report) if row.report else None,
    )


def _watch_info(row: Watch, kinds: set[str]) -> WatchInfo:
    return WatchInfo(
        id=row.id,
        registry=row.host,
        repository=row.repository,
        tags=row.tags,
        profile=row.profile,
        insecure=row.insecure,
        username=row.username,
        has_password=PASSWORD in kinds,
        callback_url=row.callback_url,
        has_callback_secret=CALLBACK_SECRET in kinds,
        created_at=iso(row.created_at),
    )


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        # An in-memory database lives as long as its one connection.
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # SQLAlchemy, not the driver, says where transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a deleted watch's secret) are overwritten with zeros, not left
        # readable in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two deferred transactions that read then write
        # would fail with "database is locked" instead of waiting their turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_Queue = type[Resolution] | type[Validation]
# The two tables jobs wait in; in this order within a watch (look-ups are quick).
_QUEUES: tuple[_Queue, ...] = (Resolution, Validation)


class Store:
    def __init__(self, url: str, box: SecretBox) -> None:
        self.engine = make_engine(url)
        self.box = box
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite runs one write transaction at a time, and every one of ours takes the
        # lock (BEGIN IMMEDIATE). Queueing here wakes the next thread as soon as the
        # lock is free; SQLite's own busy handler would sleep in steps of up to 100 ms.
        sqlite = self.engine.dialect.name == "sqlite"
        self._serial: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if sqlite else contextlib.nullcontext()
        )
        # When each watch last had a job claimed (a counter, not a clock): the
        # round-robin of claim(). One process per database (docs/service.md), so memory
        # is enough; a restart starts every watch equal.
        self._served: dict[int | None, int] = {}
        self._tick = 0

    def create_schema(self) -> None:
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._serial, self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self._tx() as session:
            session.execute(select(1))

    # --- watches ----------------------------------------------------------------------

    def create_watch(self, spec: WatchSpec) -> WatchInfo:
        # Encrypt before the transaction: a missing key fails without writing anything.
        shown_url = redact_url(spec.callback_url) if spec.callback_url else None
        url_secret = (
            Secret(spec.callback_url)
            if spec.callback_url and shown_url != spec.callback_url
            else None
        )
        secrets = {
            kind: self.box.encrypt(value)
            for kind, value in (
                (PASSWORD, spec.password),
                (CALLBACK_SECRET, spec.callback_secret),
                (CALLBACK_URL, url_secret),
            )
            if value
        }
        try:
            with self._tx() as session:
                row = Watch(
                    host=spec.registry,
                    repository=spec.repository,
                    tags=spec.tags,
                    profile=spec.profile,
                    insecure=spec.insecure,
                    username=spec.username,
                    callback_url=shown_url,
                    created_at=utcnow(),
                )
                session.add(row)
                session.flush()
                for kind, ciphertext in secrets.items():
                    session.add(StoredSecret(watch_id=row.id, kind=kind, ciphertext=ciphertext))
                return _watch_info(row, set(secrets))
        except IntegrityError:
            raise Duplicate from None

    def _kinds(self, session: Session) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for watch_id, kind in session.execute(select(StoredSecret.watch_id, StoredSecret.kind)):
            found.setdefault(watch_id, set()).add(kind)
        return found

    def watches(self) -> list[WatchInfo]:
        with self._tx() as session:
            kinds = self._kinds(session)
            rows = session.scalars(select(Watch).order_by(Watch.id))
            return [_watch_info(row, kinds.get(row.id, set())) for row in rows]

    def watch(self, watch_id: int) -> WatchInfo | None:
        with self._tx() as session:
            row = session.get(Watch, watch_id)
            return _watch_info(row, self._kinds(session).get(watch_id, set())) if row else None

    def delete_watch(self, watch_id: int) -> bool:
        """Delete the watch, its secrets and its jobs not yet started; results stay."""
        with self._tx() as session:
            if session.get(Watch, watch_id) is None:
                return False
            # Explicit, not only ON DELETE CASCADE: a database without foreign key
            # enforcement must not keep a deleted watch's password.
            session.execute(delete(StoredSecret).where(StoredSecret.watch_id == watch_id))
            session.execute(delete(Resolution).where(Resolution.watch_id == watch_id))
            session.execute(
                delete(Validation).where(
                    Validation.watch_id == watch_id, Validation.status == Status.QUEUED
                )
            )
            session.execute(
                update(Validation).where(Validation.watch_id == watch_id).values(watch_id=None)
            )
            session.execute(delete(Watch).where(Watch.id == watch_id))
        self._forget_deleted()
        return True

    def _forget_deleted(self) -> None:
        """Move SQLite's WAL into the file and empty it: a deleted secret's ciphertext
        would otherwise stay readable in the -wal file until the next checkpoint.
        secure_delete (make_engine) has zeroed the row in the page the WAL now holds."""
        if self.engine.dialect.name != "sqlite":
            return
        with self._serial:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                # Outside any transaction (isolation_level None): a checkpoint inside one
                # could not finish.
                busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                cursor.close()
            finally:
                raw.close()
        if busy and busy[0]:
            log.warning("The database's WAL could not be emptied now (a reader holds it)")

    def access(self, watch_id: int | None) -> WatchAccess | None:
        """The watch's login and callback, decrypted for one job; None if it is gone."""
        if watch_id is None:
            return None
        with self._tx() as session:
            row = session.get(Watch, watch_id)
            if row is None:
                return None
            stored = {
                s.kind: s.ciphertext
                for s in session.scalars(
                    select(StoredSecret).where(StoredSecret.watch_id == watch_id)
                )
            }
            registry, insecure, username = row.host, row.insecure, row.username
            callback_url = row.callback_url
        if CALLBACK_URL in stored:
            callback_url = self.box.decrypt(stored[CALLBACK_URL]).reveal()
        return WatchAccess(
            registry=registry,
            insecure=insecure,
            username=username,
            password=self.box.decrypt(stored[PASSWORD]) if PASSWORD in stored else None,
            callback_url=callback_url,
            callback_secret=(
                self.box.decrypt(stored[CALLBACK_SECRET]) if CALLBACK_SECRET in stored else None
            ),
        )

    def rotate_secrets(self) -> int:
        """Re-encrypt every stored secret with the first key; returns how many."""
        with self._tx() as session:
            rows = list(session.scalars(select(StoredSecret)))
            for row in rows:
                row.ciphertext = self.box.rotate(row.ciphertext)
        self._forget_deleted()  # the ciphertexts under the old key
        return len(rows)

    # --- accepting pushes -----------------------------------------------------------------

    def accept(
        self,
        items: Sequence[Enqueue],
        delivery: tuple[str, str] | None = None,
        *,
        watch_cap: int | None = None,
    ) -> Accepted:
        """Record what one webhook delivery asks for, in one transaction.

        A watch with ``watch_cap`` jobs waiting gets no new one: those pushes come back
        in ``over_cap``. Raises Replay if ``delivery`` (receiver, id) was accepted before.
        """
        outcome = self.accept_batch([Delivered(tuple(items), delivery, watch_cap)])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def accept_batch(self, batch: Sequence[Delivered]) -> list[Accepted | BaseException]:
        """Record several deliveries in one transaction, each in a savepoint of its own.

        A delivery that fails alone (a replay) gets its exception in its place and the
        others are stored; if the commit fails, this raises and none is stored.
        """
        outcomes: list[Accepted | BaseException] = []
        with self._tx() as session:
            capped = any(d.watch_cap is not None for d in batch)
            waiting = self._waiting(session) if capped else {}
            for delivered in batch:
                # The counts move only once the delivery's savepoint is released.
                mine = dict(waiting)
                try:
                    with session.begin_nested():
                        outcomes.append(self._accept_one(session, delivered, mine))
                except Replay as exc:
                    outcomes.append(exc)
                    continue
                waiting = mine
        return outcomes

    def _accept_one(
        self, session: Session, delivered: Delivered, waiting: dict[int, int]
    ) -> Accepted:
        now = utcnow()
        queued = deduplicated = resolving = 0
        over_cap: list[Enqueue] = []
        watch_cap, delivery = delivered.watch_cap, delivered.delivery

        def full(watch_id: int) -> bool:
            return watch_cap is not None and waiting.get(watch_id, 0) >= watch_cap

        if delivery is not None:
            try:
                with session.begin_nested():
                    session.add(
                        Delivery(receiver=delivery[0], delivery_id=delivery[1], received_at=now)
                    )
            except IntegrityError:
                raise Replay from None
        for item in delivered.items:
            push = item.push
            if push.digest is None or item.key is None:
                if full(item.watch.id):
                    over_cap.append(item)
                    continue
                waiting[item.watch.id] = waiting.get(item.watch.id, 0) + 1
                session.add(
                    Resolution(
                        watch_id=item.watch.id,
                        host=push.registry,
                        repository=push.repository,
                        tag=push.tag,
                        status=Status.QUEUED,
                        attempts=0,
                        not_before=now,
                        created_at=now,
                    )
                )
                resolving += 1
                continue
            if full(item.watch.id) and not self._known(session, item.key):
                over_cap.append(item)
                continue
            self._remember_tag(session, push.registry, push.repository, push.tag, push.digest)
            new = self._queue_validation(
                session, push, push.digest, item.key, item.watch, item.hub_version
            )
            queued, deduplicated = queued + new, deduplicated + (not new)
            waiting[item.watch.id] = waiting.get(item.watch.id, 0) + new
        return Accepted(queued, deduplicated, resolving, tuple(over_cap))

    def _waiting(self, session: Session) -> dict[int, int]:
        """watch id -> its jobs queued (not running: those are being worked off)."""
        found: dict[int, int] = {}
        for table in _QUEUES:
            rows = session.execute(
                select(table.watch_id, func.count())
                .where(table.status == Status.QUEUED, table.watch_id.is_not(None))
                .group_by(table.watch_id)
            )
            for watch_id, count in rows:
                if watch_id is not None:
                    found[watch_id] = found.get(watch_id, 0) + int(count)
        return found

    def _known(self, session: Session, key: str) -> bool:
        """A validation under ``key`` exists and a new push would not run it again."""
        row = session.scalar(select(Validation).where(Validation.key == key))
        return row is not None and row.status != Status.FAILED and row.verdict != "error"

    def _remember_tag(
        self, session: Session, registry: str, repository: str, tag: str, digest: str
    ) -> None:
        row = session.get(TagRecord, (registry, repository, tag))
        if row is not None:
            row.digest, row.updated_at = digest, utcnow()
            return
        try:
            with session.begin_nested():
                session.add(
                    TagRecord(
                        host=registry,
                        repository=repository,
                        tag=tag,
                        digest=digest,
                        updated_at=utcnow(),
                    )
                )
        except IntegrityError:  # a concurrent delivery named the tag first
            session.execute(
                update(TagRecord)
                .where(
                    TagRecord.host == registry,
                    TagRecord.repository == repository,
                    TagRecord.tag == tag,
                )
                .values(digest=digest, updated_at=utcnow())
            )

    def _queue_validation(
        self,
        session: Session,
        push: Push,
        digest: str,
        key: str,
        watch: WatchView,
        hub_version: str,
    ) -> bool:
        """Queue the validation of ``digest`` under ``key`` unless it exists; True if queued."""
        now = utcnow()
        existing = session.scalar(select(Validation).where(Validation.key == key))
        if existing is None:
            try:
                with session.begin_nested():
                    session.add(
                        Validation(
                            key=key,
                            digest=digest,
                            host=push.registry,
                            repository=push.repository,
                            tag=push.tag,
                            profile=watch.profile,
                            hub_version=hub_version,
                            watch_id=watch.id,
                            status=Status.QUEUED,
                            attempts=0,
                            not_before=now,
                            created_at=now,
                        )
                    )
                return True
            except IntegrityError:
                existing = session.scalar(select(Validation).where(Validation.key == key))
                if existing is None:
                    raise
        if existing.status == Status.FAILED or existing.verdict == "error":
            # Not a verdict about the image: a new push is a new chance.
            existing.status, existing.attempts, existing.not_before = Status.QUEUED, 0, now
            existing.error = existing.verdict = existing.report = None
            existing.watch_id = watch.id
            existing.host, existing.repository, existing.tag = (
                push.registry,
                push.repository,
                push.tag,
            )
            return True
        return False

    # --- the queue ---------------------------------------------------------------------

    def requeue_running(self) -> int:
        """Jobs a previous process was running when it stopped: run them again."""
        with self._tx() as session:
            count = 0
            for table in (Resolution, Validation):
                result = session.execute(
                    update(table).where(table.status == Status.RUNNING).values(status=Status.QUEUED)
                )
                count += result.rowcount  # type: ignore[attr-defined]
            return count

    def claim(self) -> ResolveJob | ValidateJob | None:
        """The next due job, marked running, taken round-robin across watches.

        Each watch's oldest due job is a candidate; the one whose watch was served
        longest ago wins (a watch never served first), so a watch with a thousand jobs
        waiting delays another watch's push by at most one job per busy watch. Within
        a watch, digest look-ups go first (they are quick), then the oldest job.
        """
        now = utcnow()
        with self._tx() as session:
            heads: list[tuple[int, int, int, _Queue, int | None]] = []
            for order, table in enumerate(_QUEUES):
                rows = session.execute(
                    select(table.watch_id, func.min(table.id))
                    .where(table.status == Status.QUEUED, table.not_before <= now)
                    .group_by(table.watch_id)
                )
                for watch_id, job_id in rows:
                    heads.append((self._served.get(watch_id, -1), order, job_id, table, watch_id))
            for _, _, _, table, watch_id in sorted(heads, key=lambda h: h[:3]):
                # The watch's oldest due job that no other transaction holds: another
                # worker (or process) may be claiming its head right now.
                of_watch = (
                    table.watch_id.is_(None) if watch_id is None else table.watch_id == watch_id
                )
                row = session.scalar(
                    select(table)
                    .where(table.status == Status.QUEUED, table.not_before <= now, of_watch)
                    .order_by(table.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if not isinstance(row, (Resolution, Validation)):
                    continue
                self._tick += 1
                self._served[watch_id] = self._tick
                return self._claimed(row, now)
            return None

    def _claimed(self, row: Resolution | Validation, now: datetime) -> ResolveJob | ValidateJob:
        row.status, row.attempts = Status.RUNNING, row.attempts + 1
        if isinstance(row, Resolution):
            return ResolveJob(row.id, row.watch_id, row.host, row.repository, row.tag, row.attempts)
        row.started_at = now
        return ValidateJob(
            row.id,
            row.digest,
            row.host,
            row.repository,
            row.tag,
            row.profile,
            row.watch_id,
            row.attempts,
        )

    def resolved(
        self, job: ResolveJob, digest: str, key: str, hub_version: str, profile: str
    ) -> bool:
        """The tag names ``digest``: queue its validation unless known; True if queued."""
        with self._tx() as session:
            self._remember_tag(session, job.registry, job.repository, job.tag, digest)
            push = Push(job.registry, job.repository, job.tag, digest)
            watch = WatchView(job.watch_id, job.registry, job.repository, "*", profile)
            new = self._queue_validation(session, push, digest, key, watch, hub_version)
            session.execute(delete(Resolution).where(Resolution.id == job.id))
            return new

    def retry(self, job: ResolveJob | ValidateJob, error: str, delay_s: float) -> None:
        table = Resolution if isinstance(job, ResolveJob) else Validation
        with self._tx() as session:
            session.execute(
                update(table)
                .where(table.id == job.id)
                .values(
                    status=Status.QUEUED,
                    error=error,
                    not_before=utcnow() + timedelta(seconds=delay_s),
                )
            )

    def requeue(self, job: ResolveJob | ValidateJob) -> None:
        """Put a job cut off by shutdown back, without counting the attempt."""
        table = Resolution if isinstance(job, ResolveJob) else Validation
        with self._tx() as session:
            session.execute(
                update(table)
                .where(table.id == job.id)
                .values(status=Status.QUEUED, attempts=max(0, job.attempts - 1))
            )

    def fail(self, job: ResolveJob | ValidateJob, error: str) -> None:
        table = Resolution if isinstance(job, ResolveJob) else Validation
        with self._tx() as session:
            session.execute(
                update(table)
                .where(table.id == job.id)
                .values(status=Status.FAILED, error=error, finished_at=utcnow())
            )

    def finish(self, job: ValidateJob, report: dict[str, Any]) -> ValidationInfo:
        with self._tx() as session:
            row = session.get(Validation, job.id)
            if row is None:  # its watch was deleted meanwhile, with its queue
                raise LookupError(f"validation {job.id} is gone")
            row.status, row.verdict = Status.DONE, str(report.get("verdict"))
            row.report, row.error = json.dumps(report), report.get("error")
            row.finished_at = utcnow()
            row.duration_s = float(report.get("duration_s") or 0.0)
            return _validation_info(row)

    def prune_deliveries(self, older_than: timedelta) -> int:
        with self._tx() as session:
            result = session.execute(
                delete(Delivery).where(Delivery.received_at < utcnow() - older_than)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def depth(self) -> dict[tuple[str, str], int]:
        """(table, status) -> jobs, for /healthz and /metrics."""
        with self._tx() as session:
            counts: dict[tuple[str, str], int] = {}
            for name, table in (("resolution", Resolution), ("validation", Validation)):
                rows = session.execute(
                    select(table.status, func.count())
                    .where(table.status.in_((Status.QUEUED, Status.RUNNING)))
                    .group_by(table.status)
                )
                for status, count in rows:
                    counts[(name, status)] = int(count)
            return counts

    # --- results -------------------------------------------------------------------------

    def validation(self, validation_id: int) -> ValidationInfo | None:
        with self._tx() as session:
            row = session.get(Validation, validation_id)
            return _validation_info(row) if row else None

    def by_digest(self, digest: str, profile: str | None = None) -> list[ValidationInfo]:
        with self._tx() as session:
            query = select(Validation).where(Validation.digest == digest)
            if profile:
                query = query.where(Validation.profile == profile)
            return [_validation_info(r) for r in session.scalars(query.order_by(Validation.id))]

    def tag_digest(self, registry: str, repository: str, tag: str) -> str | None:
        with self._tx() as session:
            row = session.get(TagRecord, (registry, repository, tag))
            return row.digest if row else None

    def by_repository(
        self, registry: str, repository: str, profile: str | None = None
    ) -> list[ValidationInfo]:
        """Validations of every digest the repository's tags named, newest first."""
        with self._tx() as session:
            digests = select(TagRecord.digest).where(
                TagRecord.host == registry, TagRecord.repository == repository
            )
            query = select(Validation).where(
                or_(
                    (Validation.host == registry) & (Validation.repository == repository),
                    Validation.digest.in_(digests),
                )
            )
            if profile:
                query = query.where(Validation.profile == profile)
            return [
                _validation_info(r) for r in session.scalars(query.order_by(Validation.id.desc()))
            ]

    def tags_of(self, digests: Sequence[str]) -> dict[str, list[str]]:
        """digest -> ``registry/repository:tag`` of the tags that name it now."""
        if not digests:
            return {}
        with self._tx() as session:
            found: dict[str, list[str]] = {}
            rows = session.scalars(
                select(TagRecord)
                .where(TagRecord.digest.in_(list(digests)))
                .order_by(TagRecord.host, TagRecord.repository, TagRecord.tag)
            )
            for row in rows:
                found.setdefault(row.digest, []).append(f"{row.host}/{row.repository}:{row.tag}")
            return found

    def resolutions(
        self, registry: str, repository: str, tag: str | None = None
    ) -> list[ResolutionInfo]:
        """Pushes still waiting for (or that failed) their tag's digest."""
        with self._tx() as session:
            query = select(Resolution).where(
                Resolution.host == registry, Resolution.repository == repository
            )
            if tag is not None:
                query = query.where(Resolution.tag == tag)
            return [
                ResolutionInfo(
                    r.id,
                    r.host,
                    r.repository,
                    r.tag,
                    Status(r.status),
                    r.error,
                    r.attempts,
                    iso(r.created_at),
                )
                for r in session.scalars(query.order_by(Resolution.id.desc()))
            ]
