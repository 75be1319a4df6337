"""The tables of validation on demand: a caller's stored configurations and the
validations they ask for directly, each owned by a caller identity.

Kept apart from store.py's webhook path on purpose (new tables, the same database and
transactions). A login given with a request is encrypted until its job ends, then its
row is deleted; a configuration's token lives as long as the configuration.

Tables:
  configurations         image + registry + username + mount path + profile, per owner
  configuration_secrets  the configuration's registry token, Fernet-encrypted
  requests               one per validation asked for: the queue and the report
  request_secrets        the login a request pulls with, deleted when it ends

A request whose digest already has a conclusive result under the same key (digest +
effective profile + validator version, the webhook validations' key) is finished with
that report instead of running again; ``reusable`` finds it and says where it came from.
"""

from __future__ import annotations

import json
import secrets as random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, defer, mapped_column

from validator.registry.credentials import Secret
from validator.service.store import Base, Status, Store, Validation, iso, utcnow

# Public ids of requests: unguessable, and distinct from the webhook validations' ints.
REQUEST_PREFIX = "od-"
REQUEST_ID_RE = r"od-[0-9a-f]{32}"


class Configuration(Base):
    __tablename__ = "configurations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    image: Mapped[str] = mapped_column(String(1024))
    profile: Mapped[str] = mapped_column(String(64))
    hub_version: Mapped[str | None] = mapped_column(String(32))
    mount_path: Mapped[str | None] = mapped_column(String(1024))
    host: Mapped[str | None] = mapped_column("registry", String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ConfigurationSecret(Base):
    __tablename__ = "configuration_secrets"

    configuration_id: Mapped[int] = mapped_column(
        ForeignKey("configurations.id", ondelete="CASCADE"), primary_key=True
    )
    ciphertext: Mapped[str] = mapped_column(Text)


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    configuration_id: Mapped[int | None] = mapped_column(
        ForeignKey("configurations.id", ondelete="SET NULL")
    )
    image: Mapped[str] = mapped_column(String(1024))
    profile: Mapped[str] = mapped_column(String(64))
    hub_version: Mapped[str | None] = mapped_column(String(32))
    mount_path: Mapped[str | None] = mapped_column(String(1024))
    host: Mapped[str | None] = mapped_column("registry", String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str | None] = mapped_column(String(71))
    verdict: Mapped[str | None] = mapped_column(String(16))
    report: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The result key once the digest is known (jobs.validation_key), for reuse.
    key: Mapped[str | None] = mapped_column(String(64), index=True)
    # Set when the report was taken from an earlier result: where from (ON_DEMAND or
    # WEBHOOK), its id (None for another caller's request) and when it finished.
    reused_source: Mapped[str | None] = mapped_column(String(16))
    reused_id: Mapped[str | None] = mapped_column(String(40))
    reused_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Asked to run again rather than reuse: the way out of a verdict that no longer
    # holds (a machine too loaded to start the server once), newest result wins after.
    fresh: Mapped[bool] = mapped_column(Boolean, default=False)


class RequestSecret(Base):
    __tablename__ = "request_secrets"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    ciphertext: Mapped[str] = mapped_column(Text)


# --- values handed out --------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    registry: str
    username: str
    password: Secret | None
    insecure: bool = False


@dataclass(frozen=True)
class Target:
    """What to validate and how: the fields of a request and of a configuration."""

    image: str
    profile: str
    hub_version: str | None = None
    mount_path: str | None = None
    registry: str | None = None
    username: str | None = None
    insecure: bool = False


# Where a reused report came from.
ON_DEMAND = "on demand"
WEBHOOK = "webhook"
# Only a verdict about the image itself is reused; an error may be the machine's.
REUSABLE_VERDICTS = ("compatible", "incompatible")


@dataclass(frozen=True)
class Reused:
    """The earlier validation a request's report was taken from."""

    source: str  # ON_DEMAND or WEBHOOK
    id: str | int | None  # None: another caller's request, not theirs to see
    finished_at: str | None


@dataclass(frozen=True)
class Reusable:
    """A finished, conclusive result found under a request's key."""

    report: dict[str, Any]
    source: str
    id: str | int | None
    finished_at: datetime | None

    @property
    def reused(self) -> Reused:
        return Reused(self.source, self.id, iso(self.finished_at))


@dataclass(frozen=True)
class ConfigurationInfo:
    id: int
    owner: str
    target: Target
    has_token: bool
    created_at: str | None


@dataclass(frozen=True)
class RequestInfo:
    id: str
    owner: str
    configuration_id: int | None
    target: Target
    status: Status
    digest: str | None
    verdict: str | None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    report: dict[str, Any] | None
    reused: Reused | None = None


@dataclass(frozen=True)
class RequestJob:
    id: str
    target: Target
    password: Secret | None
    owner: str = ""
    fresh: bool = False


def _target(row: Configuration | Request) -> Target:
    return Target(
        row.image,
        row.profile,
        row.hub_version,
        row.mount_path,
        row.host,
        row.username,
        row.insecure,
    )


def _request_info(row: Request, *, with_report: bool = True) -> RequestInfo:
    return RequestInfo(
        id=row.public_id,
        owner=row.owner,
        configuration_id=row.configuration_id,
        target=_target(row),
        status=Status(row.status),
        digest=row.digest,
        verdict=row.verdict,
        error=row.error,
        created_at=iso(row.created_at),
        started_at=iso(row.started_at),
        finished_at=iso(row.finished_at),
        report=json.loads(row.report) if with_report and row.report else None,
        reused=(
            Reused(row.reused_source, _stored_id(row.reused_id), iso(row.reused_finished_at))
            if row.reused_source
            else None
        ),
    )


def _stored_id(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


def newest(found: list[Reusable]) -> Reusable | None:
    """The most recently finished of the results found (ties: the first)."""
    if not found:
        return None
    return max(found, key=lambda r: r.finished_at or datetime.min)


class OnDemandStore:
    """The on-demand tables, in ``store``'s database and transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- configurations -----------------------------------------------------------------

    def create_configuration(
        self, owner: str, target: Target, token: Secret | None
    ) -> ConfigurationInfo:
        # Encrypt first: a missing key fails without writing anything.
        ciphertext = self.store.box.encrypt(token) if token else None
        with self.store._tx() as session:
            row = Configuration(owner=owner, created_at=utcnow(), **_columns(target))
            session.add(row)
            session.flush()
            if ciphertext:
                session.add(ConfigurationSecret(configuration_id=row.id, ciphertext=ciphertext))
            return ConfigurationInfo(row.id, owner, target, bool(ciphertext), iso(row.created_at))

    def configurations(self, owner: str) -> list[ConfigurationInfo]:
        with self.store._tx() as session:
            tokens = set(session.scalars(select(ConfigurationSecret.configuration_id)))
            rows = session.scalars(
                select(Configuration).where(Configuration.owner == owner).order_by(Configuration.id)
            )
            return [
                ConfigurationInfo(r.id, r.owner, _target(r), r.id in tokens, iso(r.created_at))
                for r in rows
            ]

    def configuration(self, owner: str, config_id: int) -> ConfigurationInfo | None:
        with self.store._tx() as session:
            row = session.get(Configuration, config_id)
            if row is None or row.owner != owner:
                return None
            token = session.get(ConfigurationSecret, config_id) is not None
            return ConfigurationInfo(row.id, row.owner, _target(row), token, iso(row.created_at))

    def delete_configuration(self, owner: str, config_id: int) -> bool:
        """The configuration and its token; its requests stay, unlinked (their reports)."""
        with self.store._tx() as session:
            row = session.get(Configuration, config_id)
            if row is None or row.owner != owner:
                return False
            # Explicit, not only ON DELETE CASCADE: see Store.delete_watch.
            session.execute(
                delete(ConfigurationSecret).where(ConfigurationSecret.configuration_id == config_id)
            )
            session.execute(
                update(Request)
                .where(Request.configuration_id == config_id)
                .values(configuration_id=None)
            )
            session.execute(delete(Configuration).where(Configuration.id == config_id))
        self.store._forget_deleted()
        return True

    # --- requests -------------------------------------------------------------------------

    def create_request(
        self, owner: str, target: Target, password: Secret | None, *, fresh: bool = False
    ) -> RequestInfo:
        ciphertext = self.store.box.encrypt(password) if password else None
        with self.store._tx() as session:
            row = self._add_request(session, owner, target, None, fresh=fresh)
            if ciphertext:
                session.add(RequestSecret(request_id=row.id, ciphertext=ciphertext))
            return _request_info(row)

    def request_from_configuration(
        self, owner: str, config_id: int, *, fresh: bool = False
    ) -> RequestInfo | None:
        """A request with the configuration's fields; its token is copied, still encrypted."""
        with self.store._tx() as session:
            config = session.get(Configuration, config_id)
            if config is None or config.owner != owner:
                return None
            row = self._add_request(session, owner, _target(config), config_id, fresh=fresh)
            token = session.get(ConfigurationSecret, config_id)
            if token is not None:
                session.add(RequestSecret(request_id=row.id, ciphertext=token.ciphertext))
            return _request_info(row)

    def _add_request(
        self, session: Any, owner: str, target: Target, config_id: int | None, *, fresh: bool
    ) -> Request:
        row = Request(
            fresh=fresh,
            public_id=REQUEST_PREFIX + random.token_hex(16),
            owner=owner,
            configuration_id=config_id,
            status=Status.QUEUED,
            created_at=utcnow(),
            **_columns(target),
        )
        session.add(row)
        session.flush()
        return row

    def request(self, owner: str, public_id: str) -> RequestInfo | None:
        with self.store._tx() as session:
            row = session.scalar(select(Request).where(Request.public_id == public_id))
            return _request_info(row) if row is not None and row.owner == owner else None

    def recent(self, owner: str, limit: int = 20) -> list[RequestInfo]:
        """The owner's newest requests, newest first, without their reports (a list)."""
        with self.store._tx() as session:
            rows = session.scalars(
                select(Request)
                .options(defer(Request.report))
                .where(Request.owner == owner)
                .order_by(Request.id.desc())
                .limit(limit)
            )
            return [_request_info(row, with_report=False) for row in rows]

    def unfinished(self) -> list[str]:
        """Requests queued or cut off while running (a restart): to run (again)."""
        with self.store._tx() as session:
            return list(
                session.scalars(
                    select(Request.public_id)
                    .where(Request.status.in_((Status.QUEUED, Status.RUNNING)))
                    .order_by(Request.id)
                )
            )

    def claim(self, public_id: str) -> RequestJob | None:
        """Mark the request running and decrypt its login for the one pull."""
        with self.store._tx() as session:
            row = session.scalar(select(Request).where(Request.public_id == public_id))
            if row is None or row.status not in (Status.QUEUED, Status.RUNNING):
                return None
            row.status, row.started_at = Status.RUNNING, utcnow()
            secret = session.get(RequestSecret, row.id)
            ciphertext = secret.ciphertext if secret else None
            target, owner, fresh = _target(row), row.owner, bool(row.fresh)
        password = self.store.box.decrypt(ciphertext) if ciphertext else None
        return RequestJob(public_id, target, password, owner, fresh)

    def reusable(self, key: str, owner: str, *, any_owner: bool) -> Reusable | None:
        """The newest conclusive result under ``key``: the caller's own on-demand
        validations and, with ``any_owner``, everyone's and the webhook validations'.

        ``any_owner`` is for a digest the registry gave with the caller's own login:
        whoever may read the manifest may pull the image, so may see its report. A
        digest typed by the caller proves no such thing (a private image someone else
        validated), so then only the caller's own results count.
        """
        found: list[Reusable] = []
        with self.store._tx() as session:
            query = (
                select(Request)
                .where(
                    Request.key == key,
                    Request.status == Status.DONE,
                    Request.verdict.in_(REUSABLE_VERDICTS),
                )
                .order_by(Request.finished_at.desc())
            )
            if not any_owner:
                query = query.where(Request.owner == owner)
            row = session.scalars(query.limit(1)).first()
            if row is not None and row.report:
                shown = row.public_id if row.owner == owner else None
                found.append(Reusable(json.loads(row.report), ON_DEMAND, shown, row.finished_at))
            if any_owner:
                hook = session.scalars(
                    select(Validation)
                    .where(
                        Validation.key == key,
                        Validation.status == Status.DONE,
                        Validation.verdict.in_(REUSABLE_VERDICTS),
                    )
                    .order_by(Validation.finished_at.desc())
                    .limit(1)
                ).first()
                if hook is not None and hook.report:
                    found.append(
                        Reusable(json.loads(hook.report), WEBHOOK, hook.id, hook.finished_at)
                    )
        best = newest(found)
        # A report that ended in a tool error is no verdict about the image.
        return best if best is not None and not best.report.get("error") else None

    def finish(
        self,
        public_id: str,
        *,
        digest: str | None,
        report: dict[str, Any] | None,
        error: str | None,
        key: str | None = None,
        reused: Reusable | None = None,
    ) -> None:
        """The result, and the login deleted in the same transaction."""
        with self.store._tx() as session:
            row = session.scalar(select(Request).where(Request.public_id == public_id))
            if row is None:
                return
            session.execute(delete(RequestSecret).where(RequestSecret.request_id == row.id))
            row.digest, row.key = digest, key
            row.finished_at = utcnow()
            if reused is not None:
                row.reused_source = reused.source
                row.reused_id = None if reused.id is None else str(reused.id)
                row.reused_finished_at = reused.finished_at
            if report is not None:
                row.status, row.verdict = Status.DONE, str(report.get("verdict"))
                row.report, row.error = json.dumps(report), report.get("error")
            else:
                row.status, row.error = Status.FAILED, error
        self.store._forget_deleted()

    def requeue(self, public_id: str) -> None:
        """Cut off by shutdown: queued again, its login kept for the next start."""
        with self.store._tx() as session:
            session.execute(
                update(Request)
                .where(Request.public_id == public_id)
                .values(status=Status.QUEUED, started_at=None)
            )


def _columns(target: Target) -> dict[str, Any]:
    return {
        "image": target.image,
        "profile": target.profile,
        "hub_version": target.hub_version,
        "mount_path": target.mount_path,
        "host": target.registry,
        "username": target.username,
        "insecure": target.insecure,
    }
