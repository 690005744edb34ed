"""Persistent history: scans, pipeline versions, baselines, trust and drift events.

:func:`open_store` connects to a SQLite file (default: ``pipewarden.db`` in the
user data directory) or any SQLAlchemy URL (``postgresql+psycopg://...`` for
teams) and brings the schema to the newest Alembic revision. Every write is one
short transaction: SQLite runs in WAL mode with a busy timeout and takes the
write lock at ``BEGIN``; version rows are inserted with ``ON CONFLICT DO
NOTHING``, so concurrent writers never lose or duplicate a row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipewarden.errors import Error

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from pipewarden.model import Result

__all__ = [
    "ApprovedBaseline",
    "Store",
    "StoreError",
    "default_url",
    "open_store",
]

DB_ENV: Final = "PIPEWARDEN_DB"
_BUSY_MS: Final = 30_000


class StoreError(Error):
    """The store cannot be opened or written."""


def default_url() -> str:
    """``sqlite:///<user data dir>/pipewarden.db`` (the directory is created)."""
    from platformdirs import user_data_path

    path = user_data_path("pipewarden", appauthor=False, ensure_exists=True) / "pipewarden.db"
    return f"sqlite:///{path}"


def _normalise_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    return url


@dataclass(frozen=True, slots=True)
class ApprovedBaseline:
    """The baseline in force for one pipeline."""

    pipeline_key: str
    declaration: dict[str, Any]
    hash: str
    approved_by: str
    approved_at: dt.datetime
    reason: str


def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": _BUSY_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # transactions are begun below
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (from an empty database too)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7091)")  # one migrator at a time
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and migrate) the store at ``url`` (default: ``$PIPEWARDEN_DB`` or the
    SQLite file in the user data directory)."""
    import os

    from sqlalchemy.exc import SQLAlchemyError

    target = _normalise_url(url or os.environ.get(DB_ENV) or default_url())
    try:
        engine = _engine(target)
        if upgrade:
            migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open the store: {type(exc).__name__}: {_first_line(exc)}"
        ) from exc
    except ModuleNotFoundError as exc:
        raise StoreError(f"cannot open the store: database driver missing ({exc.name})") from exc
    return Store(engine)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""


class Store:
    """Reads and writes of the history tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error."""
        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.orm import Session

        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store write failed: {type(exc).__name__}: {_first_line(exc)}"
            ) from exc

    # -- pipeline versions and baselines -------------------------------------

    def _version_id(
        self, session: Session, key: str, declaration: Mapping[str, Any]
    ) -> tuple[int, str]:
        from sqlalchemy import select
        from sqlalchemy.dialects import postgresql, sqlite

        from pipewarden.drift.normalise import canonical_json, declaration_hash
        from pipewarden.store.models import PipelineVersion

        digest = declaration_hash(declaration)
        values = {
            "pipeline_key": key,
            "hash": digest,
            "declaration": canonical_json(declaration).decode("utf-8"),
            "first_seen": dt.datetime.now(dt.UTC),
        }
        dialect = session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(PipelineVersion)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["pipeline_key", "hash"])
        )
        found = session.execute(
            select(PipelineVersion.id).where(
                PipelineVersion.pipeline_key == key, PipelineVersion.hash == digest
            )
        ).scalar_one()
        return int(found), digest

    def record_version(self, key: str, declaration: Mapping[str, Any]) -> str:
        """Store a declaration version (idempotent); returns its hash."""
        with self.session() as session:
            return self._version_id(session, key, declaration)[1]

    def approve(
        self, items: Sequence[tuple[str, Mapping[str, Any]]], *, by: str, reason: str
    ) -> list[str]:
        """Approve each (pipeline key, canonical declaration) as its baseline; returns hashes."""
        from pipewarden.store.models import Baseline

        hashes = []
        with self.session() as session:
            now = dt.datetime.now(dt.UTC)
            for key, declaration in items:
                version_id, digest = self._version_id(session, key, declaration)
                session.add(
                    Baseline(
                        pipeline_key=key,
                        version_id=version_id,
                        approved_by=by,
                        approved_at=now,
                        reason=reason,
                    )
                )
                hashes.append(digest)
        return hashes

    def baselines(self, keys: Sequence[str]) -> dict[str, ApprovedBaseline]:
        """The baseline in force for each key that has one."""
        from sqlalchemy import func, select

        from pipewarden.store.models import Baseline, PipelineVersion

        out: dict[str, ApprovedBaseline] = {}
        wanted = list(dict.fromkeys(keys))
        with self.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                newest = (
                    select(func.max(Baseline.id))
                    .where(Baseline.pipeline_key.in_(chunk))
                    .group_by(Baseline.pipeline_key)
                    .scalar_subquery()
                )
                rows = session.execute(
                    select(Baseline, PipelineVersion)
                    .join(PipelineVersion, PipelineVersion.id == Baseline.version_id)
                    .where(Baseline.id.in_(newest))
                ).all()
                for base, version in rows:
                    out[base.pipeline_key] = ApprovedBaseline(
                        base.pipeline_key,
                        json.loads(version.declaration),
                        version.hash,
                        base.approved_by,
                        base.approved_at,
                        base.reason,
                    )
        return out

    def baseline_history(self, key: str) -> list[tuple[str, str, dt.datetime, str]]:
        """Every approval of ``key``, oldest first: (hash, by, when, why)."""
        from sqlalchemy import select

        from pipewarden.store.models import Baseline, PipelineVersion

        with self.session() as session:
            rows = session.execute(
                select(
                    PipelineVersion.hash,
                    Baseline.approved_by,
                    Baseline.approved_at,
                    Baseline.reason,
                )
                .join(PipelineVersion, PipelineVersion.id == Baseline.version_id)
                .where(Baseline.pipeline_key == key)
                .order_by(Baseline.id)
            ).all()
        return [(h, b, w, r) for h, b, w, r in rows]

    # -- scans, results and drift events -------------------------------------

    def record_scan(self, kind: str, source: str, results: Sequence[tuple[str, Result]]) -> int:
        """Store a run and its (pipeline key, result) pairs; returns the scan id."""
        from pipewarden import __version__
        from pipewarden.store.models import RuleResultRow, Scan

        with self.session() as session:
            scan = Scan(
                kind=kind,
                source=source[:2000],
                tool_version=__version__,
                started_at=dt.datetime.now(dt.UTC),
            )
            session.add(scan)
            session.flush()
            session.add_all(
                RuleResultRow(
                    scan_id=scan.id,
                    pipeline_key=key,
                    rule_id=r.rule_id,
                    status=str(r.status),
                    severity=str(r.severity),
                    pointer=r.location.pointer,
                    fingerprint=r.fingerprint,
                    message=r.message[:4000],
                )
                for key, r in results
            )
            return int(scan.id)

    def record_drift(
        self,
        key: str,
        *,
        event_name: str,
        actor: str,
        baseline_hash: str | None,
        current_hash: str | None,
        findings: list[dict[str, Any]],
    ) -> int:
        """Store one drift event; returns its id."""
        from pipewarden.store.models import DriftEvent

        with self.session() as session:
            row = DriftEvent(
                pipeline_key=key,
                detected_at=dt.datetime.now(dt.UTC),
                event_name=event_name[:64],
                actor=actor[:1024],
                baseline_hash=baseline_hash,
                current_hash=current_hash,
                weakening=sum(1 for f in findings if f.get("rule_id") == "PW901"),
                findings=findings,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def drift_events(self, key: str | None = None) -> list[dict[str, Any]]:
        """Drift events (of ``key``, or all), oldest first."""
        from sqlalchemy import select

        from pipewarden.store.models import DriftEvent

        query = select(DriftEvent).order_by(DriftEvent.id)
        if key is not None:
            query = query.where(DriftEvent.pipeline_key == key)
        with self.session() as session:
            return [
                {
                    "id": e.id,
                    "pipeline": e.pipeline_key,
                    "event": e.event_name,
                    "actor": e.actor,
                    "baseline_hash": e.baseline_hash,
                    "current_hash": e.current_hash,
                    "weakening": e.weakening,
                    "findings": e.findings,
                }
                for e in session.scalars(query)
            ]

    # -- trust -----------------------------------------------------------------

    def approve_trust(
        self, entities: Sequence[tuple[str, str, Mapping[str, Any], str]], *, by: str, reason: str
    ) -> int:
        """Approve (kind, key, state, hash) records; returns how many were stored."""
        from pipewarden.store.models import TrustEntity

        with self.session() as session:
            now = dt.datetime.now(dt.UTC)
            session.add_all(
                TrustEntity(
                    kind=kind,
                    key=key[:1024],
                    state=dict(state),
                    hash=digest,
                    approved_by=by,
                    approved_at=now,
                    reason=reason,
                )
                for kind, key, state, digest in entities
            )
        return len(entities)

    def approved_trust(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The approved state in force of every trust entity."""
        from sqlalchemy import func, select

        from pipewarden.store.models import TrustEntity

        newest = (
            select(func.max(TrustEntity.id))
            .group_by(TrustEntity.kind, TrustEntity.key)
            .scalar_subquery()
        )
        with self.session() as session:
            rows = session.scalars(select(TrustEntity).where(TrustEntity.id.in_(newest))).all()
            return {(r.kind, r.key): dict(r.state) for r in rows}

    # -- history ---------------------------------------------------------------

    def rule_history(self, key: str) -> list[dict[str, Any]]:
        """When each rule changed state for pipeline ``key``: one entry per change of
        the rule's worst status between stored runs, oldest first."""
        from sqlalchemy import select

        from pipewarden.store.models import RuleResultRow, Scan

        rank = {"pass": 0, "unknown": 1, "fail": 2}
        with self.session() as session:
            rows = session.execute(
                select(
                    Scan.id, Scan.started_at, Scan.kind, RuleResultRow.rule_id, RuleResultRow.status
                )
                .join(RuleResultRow, RuleResultRow.scan_id == Scan.id)
                .where(RuleResultRow.pipeline_key == key)
                .order_by(Scan.id)
            ).all()
        per_scan: dict[tuple[int, str], tuple[dt.datetime, str, str]] = {}
        for scan_id, when, kind, rule_id, status in rows:
            prev = per_scan.get((scan_id, rule_id))
            if prev is None or rank.get(status, 0) > rank.get(prev[2], 0):
                per_scan[(scan_id, rule_id)] = (when, kind, status)
        last: dict[str, str] = {}
        out = []
        for (scan_id, rule_id), (when, kind, status) in sorted(per_scan.items()):
            if last.get(rule_id) != status:
                out.append(
                    {
                        "rule_id": rule_id,
                        "scan": scan_id,
                        "run": kind,
                        "at": when.isoformat(),
                        "from": last.get(rule_id),
                        "to": status,
                    }
                )
                last[rule_id] = status
        return out
