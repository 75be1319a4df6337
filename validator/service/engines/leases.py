"""Job leases and the workers seen: what makes a distributed run exactly-once.

The SQL store stays the source of truth; a broker message only carries a job's kind and
id. Two tables join the store's (same database, same transactions):

  leases          one row per job handed to the broker: the queue it was published to
                  and when, and once a worker claims it, the owner and until when the
                  claim holds (renewed while the job runs)
  engine_workers  each Celery worker's name, own queue, Docker host and last heartbeat

A claim takes the job and writes its owner and expiry in one transaction; a second
delivery of a job claimed by a live owner, or of a finished one, claims nothing. A
result is written only while its writer still holds the lease (``hold``), and the
lease row is deleted after the write, so a worker that lost its lease to a takeover
cannot overwrite the result of the one that took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import DateTime, Integer, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from validator.service.ondemand_store import Request
from validator.service.store import (
    Base,
    Resolution,
    ResolveJob,
    Status,
    Store,
    ValidateJob,
    Validation,
    utcnow,
)

Kind = Literal["resolution", "validation", "request"]
KINDS: tuple[Kind, ...] = ("resolution", "validation", "request")
_ACTIVE = (Status.QUEUED, Status.RUNNING)


class Lease(Base):
    __tablename__ = "leases"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    queue: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(DateTime)
    owner: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class WorkerRecord(Base):
    __tablename__ = "engine_workers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    queue: Mapped[str] = mapped_column(String(255))
    docker_host: Mapped[str] = mapped_column(String(1024))
    concurrency: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    seen_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class Due:
    """A queued job no message carries yet; ``route`` is what picks its worker."""

    kind: Kind
    ref: str
    route: str


@dataclass(frozen=True)
class Published:
    kind: Kind
    ref: str
    queue: str


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    queue: str
    docker_host: str
    concurrency: int
    seen_at: datetime


@dataclass(frozen=True)
class Reconciled:
    requeued: int = 0  # claims that expired: queued again
    failed: int = 0  # claims that expired once too often: failed
    dropped: int = 0  # leases of jobs gone or finished


Claimed = ResolveJob | ValidateJob | str


def lease_state(
    status: str,
    owner: str | None,
    expires_at: datetime | None,
    claimant: str,
    now: datetime,
) -> bool:
    """Whether ``claimant`` may claim a job in ``status`` with this lease (pure).

    A queued job may be claimed; so may a running one whose claim expired (its worker
    is gone) or that no live claim holds. A running job another owner holds until
    later may not: that is a second delivery of a job being run.
    """
    if status == Status.QUEUED:
        return True
    if status != Status.RUNNING:
        return False
    if owner is None or owner == claimant:
        return True
    return expires_at is None or expires_at <= now


def _job_row(session: Session, kind: str, ref: str) -> Resolution | Validation | Request | None:
    if kind == "request":
        return session.scalar(select(Request).where(Request.public_id == ref).with_for_update())
    if not ref.isdigit():
        return None
    if kind == "resolution":
        return session.scalar(select(Resolution).where(Resolution.id == int(ref)).with_for_update())
    return session.scalar(select(Validation).where(Validation.id == int(ref)).with_for_update())


class LeaseStore:
    """Leases and workers, in ``store``'s database and transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- the service: publishing -------------------------------------------------------

    def due(self, limit: int = 500) -> list[Due]:
        """Queued jobs that are due and that no lease row says were published."""
        now = utcnow()
        found: list[Due] = []
        with self.store._tx() as session:
            leased = {(k, r) for k, r in session.execute(select(Lease.kind, Lease.ref))}
            for res in session.scalars(
                select(Resolution)
                .where(Resolution.status == Status.QUEUED, Resolution.not_before <= now)
                .order_by(Resolution.id)
                .limit(limit)
            ):
                if ("resolution", str(res.id)) not in leased:
                    found.append(Due("resolution", str(res.id), f"{res.host}/{res.repository}"))
            for val in session.scalars(
                select(Validation)
                .where(Validation.status == Status.QUEUED, Validation.not_before <= now)
                .order_by(Validation.id)
                .limit(limit)
            ):
                if ("validation", str(val.id)) not in leased:
                    found.append(Due("validation", str(val.id), val.digest))
            for req in session.scalars(
                select(Request)
                .where(Request.status == Status.QUEUED)
                .order_by(Request.id)
                .limit(limit)
            ):
                if ("request", req.public_id) not in leased:
                    found.append(Due("request", req.public_id, req.image))
        return found[:limit]

    def mark_published(self, kind: Kind, ref: str, queue: str) -> bool:
        """Record that a message for the job goes to ``queue``; False if one went already
        (another service process published it first)."""
        try:
            with self.store._tx() as session:
                session.add(Lease(kind=kind, ref=ref, queue=queue, published_at=utcnow()))
        except IntegrityError:
            return False
        return True

    def unpublish(self, kinds_refs: list[tuple[str, str]]) -> int:
        """Forget that unclaimed jobs were published (the message is lost): they are due
        again. A claimed lease is never touched here."""
        count = 0
        with self.store._tx() as session:
            for kind, ref in kinds_refs:
                result = session.execute(
                    delete(Lease).where(Lease.kind == kind, Lease.ref == ref, Lease.owner.is_(None))
                )
                count += int(result.rowcount)  # type: ignore[attr-defined]
        return count

    def unclaimed(self, older_than_s: float) -> list[Published]:
        """Jobs published more than ``older_than_s`` ago that no worker has claimed."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        with self.store._tx() as session:
            rows = session.scalars(
                select(Lease).where(Lease.owner.is_(None), Lease.published_at < cutoff)
            )
            return [Published(_kind(r.kind), r.ref, r.queue) for r in rows]

    def holding(self) -> dict[str, int]:
        """Live claims per owner's worker name (the part of the owner before ':')."""
        now = utcnow()
        with self.store._tx() as session:
            counts: dict[str, int] = {}
            for owner in session.scalars(
                select(Lease.owner).where(Lease.owner.is_not(None), Lease.expires_at > now)
            ):
                name = (owner or "").split(":", 1)[0]
                counts[name] = counts.get(name, 0) + 1
            return counts

    # --- a worker: claiming and holding ------------------------------------------------

    def claim(self, kind: Kind, ref: str, owner: str, lease_s: float) -> Claimed | None:
        """Take the job for ``owner`` until ``lease_s`` from now; None if it is not to run
        (finished, gone, not yet due, or held by a live claim elsewhere)."""
        now = utcnow()
        with self.store._tx() as session:
            row = _job_row(session, kind, ref)
            if row is None:
                return None
            lease = session.get(Lease, (kind, ref), with_for_update=True)
            if not lease_state(
                row.status,
                lease.owner if lease else None,
                lease.expires_at if lease else None,
                owner,
                now,
            ):
                return None
            if isinstance(row, (Resolution, Validation)) and (
                row.status == Status.QUEUED and row.not_before > now
            ):
                return None  # a retry not yet due: its own message comes when it is
            expires = now + timedelta(seconds=lease_s)
            if lease is None:
                session.add(
                    Lease(
                        kind=kind,
                        ref=ref,
                        queue="",
                        published_at=now,
                        owner=owner,
                        expires_at=expires,
                    )
                )
            else:
                lease.owner, lease.expires_at = owner, expires
            if isinstance(row, Request):
                row.status, row.started_at = Status.RUNNING, now
                return row.public_id
            return self.store._claimed(row, now)

    def hold(self, kind: str, ref: str, owner: str, lease_s: float) -> bool:
        """Renew ``owner``'s claim; False when the claim was taken over (lost)."""
        with self.store._tx() as session:
            result = session.execute(
                update(Lease)
                .where(Lease.kind == kind, Lease.ref == ref, Lease.owner == owner)
                .values(expires_at=utcnow() + timedelta(seconds=lease_s))
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def release(self, kind: str, ref: str, owner: str) -> None:
        """The job's outcome is written: its lease goes (a retry is published again)."""
        with self.store._tx() as session:
            session.execute(
                delete(Lease).where(Lease.kind == kind, Lease.ref == ref, Lease.owner == owner)
            )

    def owner_of(self, kind: str, ref: str) -> str | None:
        with self.store._tx() as session:
            lease = session.get(Lease, (kind, ref))
            return lease.owner if lease else None

    # --- the reconciler ----------------------------------------------------------------

    def reconcile(self, max_attempts: int) -> Reconciled:
        """Expired claims: the job is queued again (or failed after ``max_attempts``
        claims), and its lease goes so the dispatcher publishes it again. Leases of
        jobs that are finished or gone go too. Running jobs no lease holds (the local
        engine's, cut off) are queued again."""
        now = utcnow()
        requeued = failed = dropped = 0
        with self.store._tx() as session:
            leased: set[tuple[str, str]] = set()
            for kind, ref in list(session.execute(select(Lease.kind, Lease.ref))):
                leased.add((kind, ref))
                # The job's row first, then its lease, as claim() takes them: two
                # transactions that lock in the same order cannot deadlock (PostgreSQL).
                row = _job_row(session, kind, ref)
                lease = session.scalar(
                    select(Lease).where(Lease.kind == kind, Lease.ref == ref).with_for_update()
                )
                if lease is None:
                    continue  # released meanwhile
                if row is None or row.status not in _ACTIVE:
                    session.delete(lease)
                    dropped += 1
                    continue
                expired = lease.owner is not None and (
                    lease.expires_at is None or lease.expires_at <= now
                )
                if not expired:
                    continue
                session.delete(lease)
                if row.status != Status.RUNNING:
                    continue
                attempts = getattr(row, "attempts", 1)
                if isinstance(row, (Resolution, Validation)) and attempts >= max_attempts:
                    row.status, row.finished_at = Status.FAILED, now
                    row.error = (
                        f"the worker running it was lost or exceeded the time limit "
                        f"{attempts} times"
                    )
                    failed += 1
                    continue
                row.status = Status.QUEUED
                if isinstance(row, Request):
                    row.started_at = None
                requeued += 1
            for kind, ids in (
                ("resolution", select(Resolution.id).where(Resolution.status == Status.RUNNING)),
                ("validation", select(Validation.id).where(Validation.status == Status.RUNNING)),
            ):
                for job_id in list(session.scalars(ids)):
                    if (kind, str(job_id)) in leased:
                        continue
                    job = _job_row(session, kind, str(job_id))
                    if job is not None:
                        job.status = Status.QUEUED
                        requeued += 1
            for req in session.scalars(
                select(Request).where(Request.status == Status.RUNNING).with_for_update()
            ):
                if ("request", req.public_id) not in leased:
                    req.status, req.started_at = Status.QUEUED, None
                    requeued += 1
        return Reconciled(requeued, failed, dropped)

    # --- workers -----------------------------------------------------------------------

    def heartbeat(self, name: str, queue: str, docker_host: str, concurrency: int) -> None:
        now = utcnow()
        with self.store._tx() as session:
            row = session.get(WorkerRecord, name)
            if row is None:
                session.add(
                    WorkerRecord(
                        name=name,
                        queue=queue,
                        docker_host=docker_host,
                        concurrency=concurrency,
                        started_at=now,
                        seen_at=now,
                    )
                )
            else:
                row.queue, row.docker_host = queue, docker_host
                row.concurrency, row.seen_at = concurrency, now

    def leave(self, name: str) -> None:
        with self.store._tx() as session:
            session.execute(delete(WorkerRecord).where(WorkerRecord.name == name))

    def workers(self, within_s: float | None = None) -> list[WorkerInfo]:
        """Workers seen (within ``within_s`` seconds when given), by name."""
        with self.store._tx() as session:
            query = select(WorkerRecord).order_by(WorkerRecord.name)
            if within_s is not None:
                query = query.where(WorkerRecord.seen_at >= utcnow() - timedelta(seconds=within_s))
            return [
                WorkerInfo(r.name, r.queue, r.docker_host, r.concurrency, r.seen_at)
                for r in session.scalars(query)
            ]


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValueError(f"unknown job kind {value!r}")
