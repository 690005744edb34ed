"""Persistent history: scans, pipeline versions, baselines, trust and drift events.

:func:`open_store` connects to a SQLite file (default: ``pipewarden.db`` in the
user data directory) or any SQLAlchemy URL (``postgresql+psycopg://...`` for
teams) and brings the schema to the newest Alembic revision. Every write is one
short transaction: SQLite runs in WAL mode with a busy timeout and takes the
write lock at ``BEGIN``; version rows are inserted with ``ON CONFLICT DO
NOTHING``, so concurrent writers never lose or duplicate a row.

Nothing is stored with a plaintext secret in it: declarations and CodeBuild
project states are sealed (:mod:`pipewarden.drift.secrets`) with the store's
own random key, created on first use and kept in the ``settings`` table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipewarden.errors import Error

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from pipewarden.drift.secrets import Sealer
    from pipewarden.model import Result

__all__ = [
    "ApprovedBaseline",
    "ApprovedProject",
    "DriftRecord",
    "Store",
    "StoreError",
    "WatchEntry",
    "default_url",
    "open_store",
]

DB_ENV: Final = "PIPEWARDEN_DB"
_BUSY_MS: Final = 30_000
_SEAL_KEY: Final = "seal-key"
_CHUNK: Final = 500


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
    """The baseline in force for one pipeline.

    ``text`` is the stored canonical JSON (secrets sealed); :attr:`declaration`
    decodes it on each access, so loading thousands of baselines costs no more
    than reading them when most are compared by hash alone."""

    pipeline_key: str
    hash: str
    approved_by: str
    approved_at: dt.datetime
    reason: str
    text: str = field(repr=False)
    keyed_hash: str | None = None  # see Store.keyed_hash

    @property
    def declaration(self) -> dict[str, Any]:
        """The approved canonical declaration (secrets sealed)."""
        doc: dict[str, Any] = json.loads(self.text)
        return doc


@dataclass(frozen=True, slots=True)
class ApprovedProject:
    """The approved state in force of one CodeBuild project."""

    project_key: str
    state: dict[str, Any]
    hash: str
    pipelines: tuple[str, ...]
    approved_by: str
    approved_at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DriftRecord:
    """One drift event to store (see :meth:`Store.record_drifts`)."""

    pipeline_key: str
    event_name: str
    actor: str
    baseline_hash: str | None
    current_hash: str | None
    findings: list[dict[str, Any]]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """What ``drift watch`` saw of one pipeline the last time it changed."""

    pipeline_key: str
    account: str
    region: str
    name: str
    version: int
    updated: str
    hash: str | None


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
            cursor.execute("PRAGMA secure_delete=ON")  # freed pages keep no old values
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
        self._sealer: Sealer | None = None

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

    # -- secrets ---------------------------------------------------------------

    def sealer(self) -> Sealer:
        """The sealer of this store: its key is created (random, 32 bytes) on first
        use and kept in the store, so every writer seals alike."""
        if self._sealer is None:
            import secrets

            from sqlalchemy import select

            from pipewarden.drift.secrets import Sealer
            from pipewarden.store.models import Setting

            with self.session() as session:
                session.execute(
                    self._insert(session, Setting)
                    .values(name=_SEAL_KEY, value=secrets.token_hex(32))
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                value = session.execute(
                    select(Setting.value).where(Setting.name == _SEAL_KEY)
                ).scalar_one()
            self._sealer = Sealer(bytes.fromhex(value))
        return self._sealer

    def seal(self, declaration: Mapping[str, Any]) -> dict[str, Any]:
        """``declaration`` with its secrets sealed, as it is stored and compared."""
        return self.sealer().declaration(declaration)

    def keyed_hash(self, declaration: Mapping[str, Any]) -> str:
        """HMAC (this store's key) of ``declaration``'s canonical JSON as given. Equal
        keyed hashes mean equal declarations, so an unchanged pipeline is known
        without sealing it; a different one proves nothing (compare sealed hashes)."""
        from pipewarden.drift.normalise import canonical_json

        return self.sealer().keyed_digest(canonical_json(declaration))

    @staticmethod
    def _insert(session: Session, table: Any) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    # -- pipeline versions and baselines -------------------------------------

    def _version_values(self, key: str, declaration: Mapping[str, Any]) -> dict[str, Any]:
        from pipewarden.drift.normalise import canonical_json, declaration_hash

        sealed = self.seal(declaration)
        return {
            "pipeline_key": key,
            "hash": declaration_hash(sealed),
            "declaration": canonical_json(sealed).decode("utf-8"),
            "keyed_hash": self.keyed_hash(declaration),
            "first_seen": dt.datetime.now(dt.UTC),
        }

    def _insert_versions(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Insert version rows; an existing one only gains its keyed hash when it has none."""
        from pipewarden.store.models import PipelineVersion

        statement = self._insert(session, PipelineVersion)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["pipeline_key", "hash"],
                set_={"keyed_hash": statement.excluded.keyed_hash},
                where=PipelineVersion.keyed_hash.is_(None),
            ),
            list(rows),
        )

    def record_version(self, key: str, declaration: Mapping[str, Any]) -> str:
        """Store a declaration version, secrets sealed (idempotent); returns its hash.
        Pass the declaration as read (unsealed): the store seals it."""
        return self.record_versions([(key, declaration)])[0]

    def record_versions(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """:meth:`record_version` of many, in one transaction."""
        self.sealer()
        rows = [self._version_values(key, decl) for key, decl in items]
        if rows:
            with self.session() as session:
                for start in range(0, len(rows), _CHUNK):
                    self._insert_versions(session, rows[start : start + _CHUNK])
        return [str(r["hash"]) for r in rows]

    def approve(
        self, items: Sequence[tuple[str, Mapping[str, Any]]], *, by: str, reason: str
    ) -> list[str]:
        """Approve each (pipeline key, canonical declaration) as its baseline (secrets
        sealed); returns the hashes of the stored declarations."""
        from sqlalchemy import select, tuple_

        from pipewarden.store.models import Baseline, PipelineVersion

        self.sealer()
        versions = [self._version_values(key, decl) for key, decl in items]
        now = dt.datetime.now(dt.UTC)
        with self.session() as session:
            ids: dict[tuple[str, str], int] = {}
            for start in range(0, len(versions), _CHUNK):
                chunk = versions[start : start + _CHUNK]
                self._insert_versions(session, chunk)
                wanted = {(str(v["pipeline_key"]), str(v["hash"])) for v in chunk}
                found = session.execute(
                    select(PipelineVersion.id, PipelineVersion.pipeline_key, PipelineVersion.hash)
                    .where(PipelineVersion.pipeline_key.in_({k for k, _ in wanted}))
                    .where(tuple_(PipelineVersion.pipeline_key, PipelineVersion.hash).in_(wanted))
                ).all()
                ids.update({(k, h): int(i) for i, k, h in found})
            rows = [
                {
                    "pipeline_key": v["pipeline_key"],
                    "version_id": ids[(str(v["pipeline_key"]), str(v["hash"]))],
                    "approved_by": by,
                    "approved_at": now,
                    "reason": reason,
                }
                for v in versions
            ]
            for start in range(0, len(rows), _CHUNK):
                session.execute(self._insert(session, Baseline), rows[start : start + _CHUNK])
        return [str(v["hash"]) for v in versions]

    def baselines(self, keys: Sequence[str]) -> dict[str, ApprovedBaseline]:
        """The baseline in force for each key that has one."""
        from sqlalchemy import func, select

        from pipewarden.store.models import Baseline, PipelineVersion

        out: dict[str, ApprovedBaseline] = {}
        wanted = list(dict.fromkeys(keys))
        with self.session() as session:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                newest = (
                    select(func.max(Baseline.id).label("id"))
                    .where(Baseline.pipeline_key.in_(chunk))
                    .group_by(Baseline.pipeline_key)
                    .subquery()
                )
                rows = session.execute(
                    select(
                        Baseline.pipeline_key,
                        PipelineVersion.hash,
                        Baseline.approved_by,
                        Baseline.approved_at,
                        Baseline.reason,
                        PipelineVersion.declaration,
                        PipelineVersion.keyed_hash,
                    )
                    .join(newest, newest.c.id == Baseline.id)
                    .join(PipelineVersion, PipelineVersion.id == Baseline.version_id)
                ).all()
                for key, digest, by, when, why, text, keyed in rows:
                    out[key] = ApprovedBaseline(key, digest, by, _aware(when), why, text, keyed)
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
        return [(h, b, _aware(w), r) for h, b, w, r in rows]

    # -- CodeBuild projects ------------------------------------------------------

    def approve_projects(
        self,
        items: Sequence[tuple[str, Mapping[str, Any], Sequence[str]]],
        *,
        by: str,
        reason: str,
    ) -> list[str]:
        """Approve (project key, state, pipeline keys using it) records, secrets
        sealed; returns the hashes of the stored states."""
        from pipewarden.drift.normalise import declaration_hash
        from pipewarden.drift.projects import seal_project
        from pipewarden.store.models import ProjectBaseline

        sealer = self.sealer()
        now = dt.datetime.now(dt.UTC)
        rows = []
        for key, state, pipelines in items:
            sealed = seal_project(state, sealer)
            rows.append(
                {
                    "project_key": key[:512],
                    "state": sealed,
                    "hash": declaration_hash(sealed),
                    "pipelines": sorted(set(pipelines)),
                    "approved_by": by,
                    "approved_at": now,
                    "reason": reason,
                }
            )
        if rows:
            with self.session() as session:
                session.execute(self._insert(session, ProjectBaseline), rows)
        return [str(r["hash"]) for r in rows]

    def project_baselines(self, keys: Sequence[str]) -> dict[str, ApprovedProject]:
        """The approved state in force for each project key that has one."""
        from sqlalchemy import func, select

        from pipewarden.store.models import ProjectBaseline

        wanted = list(dict.fromkeys(keys))
        out: dict[str, ApprovedProject] = {}
        with self.session() as session:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                newest = (
                    select(func.max(ProjectBaseline.id).label("id"))
                    .where(ProjectBaseline.project_key.in_(chunk))
                    .group_by(ProjectBaseline.project_key)
                    .subquery()
                )
                for row in session.scalars(
                    select(ProjectBaseline).join(newest, newest.c.id == ProjectBaseline.id)
                ):
                    out[row.project_key] = ApprovedProject(
                        row.project_key,
                        dict(row.state),
                        row.hash,
                        tuple(row.pipelines),
                        row.approved_by,
                        _aware(row.approved_at),
                        row.reason,
                    )
        return out

    # -- scans, results and drift events -------------------------------------

    def record_scan(self, kind: str, source: str, results: Sequence[tuple[str, Result]]) -> int:
        """Store a run and its (pipeline key, result) pairs; returns the scan id."""
        from sqlalchemy import insert

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
            rows = [
                {
                    "scan_id": scan.id,
                    "pipeline_key": key[:512],
                    "rule_id": r.rule_id,
                    "status": str(r.status),
                    "severity": str(r.severity),
                    "pointer": r.location.pointer,
                    "fingerprint": r.fingerprint,
                    "message": r.message[:4000],
                }
                for key, r in results
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(RuleResultRow), rows[start : start + 5000])
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
        event_id: str | None = None,
    ) -> int:
        """Store one drift event; returns its id (an event id already recorded for
        ``key`` is not stored again: the id of the first is returned)."""
        record = DriftRecord(
            key, event_name, actor, baseline_hash, current_hash, findings, event_id
        )
        return self.record_drifts([record])[0]

    def record_drifts(self, records: Sequence[DriftRecord]) -> list[int]:
        """Store drift events in one transaction; returns their ids."""
        from sqlalchemy import select

        from pipewarden.store.models import DriftEvent

        ids: list[int] = []
        with self.session() as session:
            now = dt.datetime.now(dt.UTC)
            for r in records:
                values = {
                    "pipeline_key": r.pipeline_key[:512],
                    "detected_at": now,
                    "event_name": r.event_name[:64],
                    "actor": r.actor[:1024],
                    "baseline_hash": r.baseline_hash,
                    "current_hash": r.current_hash,
                    "weakening": sum(1 for f in r.findings if f.get("rule_id") == "PW901"),
                    "findings": r.findings,
                    "event_id": r.event_id[:128] if r.event_id else None,
                }
                if values["event_id"] is None:
                    row = DriftEvent(**values)
                    session.add(row)
                    session.flush()
                    ids.append(int(row.id))
                    continue
                session.execute(
                    self._insert(session, DriftEvent)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=["event_id", "pipeline_key"])
                )
                found = session.execute(
                    select(DriftEvent.id).where(
                        DriftEvent.event_id == values["event_id"],
                        DriftEvent.pipeline_key == values["pipeline_key"],
                    )
                ).scalar_one()
                ids.append(int(found))
        return ids

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
                    "event_id": e.event_id,
                    "at": _aware(e.detected_at).isoformat(),
                    "actor": e.actor,
                    "baseline_hash": e.baseline_hash,
                    "current_hash": e.current_hash,
                    "weakening": e.weakening,
                    "findings": e.findings,
                }
                for e in session.scalars(query)
            ]

    # -- drift watch -------------------------------------------------------------

    def watched(self, account: str, region: str) -> dict[str, WatchEntry]:
        """What ``drift watch`` saw last of the pipelines of one account and region."""
        from sqlalchemy import select

        from pipewarden.store.models import WatchState

        with self.session() as session:
            rows = session.scalars(
                select(WatchState).where(WatchState.account == account, WatchState.region == region)
            ).all()
            return {
                r.pipeline_key: WatchEntry(
                    r.pipeline_key, r.account, r.region, r.name, r.version, r.updated, r.hash
                )
                for r in rows
            }

    def update_watch(self, seen: Sequence[WatchEntry], *, forget: Sequence[str] = ()) -> None:
        """Remember the versions just seen, forget pipelines that are gone."""
        from sqlalchemy import delete

        from pipewarden.store.models import WatchState

        now = dt.datetime.now(dt.UTC)
        with self.session() as session:
            for entry in seen:
                values = {
                    "pipeline_key": entry.pipeline_key[:512],
                    "account": entry.account,
                    "region": entry.region,
                    "name": entry.name[:128],
                    "version": entry.version,
                    "updated": entry.updated[:64],
                    "hash": entry.hash,
                    "seen_at": now,
                }
                session.execute(
                    self._insert(session, WatchState)
                    .values(**values)
                    .on_conflict_do_update(
                        index_elements=["pipeline_key"],
                        set_={k: v for k, v in values.items() if k != "pipeline_key"},
                    )
                )
            for start in range(0, len(forget), _CHUNK):
                session.execute(
                    delete(WatchState).where(
                        WatchState.pipeline_key.in_(forget[start : start + _CHUNK])
                    )
                )

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
                        "at": _aware(when).isoformat(),
                        "from": last.get(rule_id),
                        "to": status,
                    }
                )
                last[rule_id] = status
        return out

    def pipeline_keys(self, name: str) -> list[str]:
        """The stored pipeline keys ``name`` stands for: itself when stored, else
        every ARN whose pipeline is called ``name``."""
        from sqlalchemy import select, union

        from pipewarden.store.models import Baseline, DriftEvent, RuleResultRow

        tables = (RuleResultRow.pipeline_key, Baseline.pipeline_key, DriftEvent.pipeline_key)
        with self.session() as session:
            exact = session.execute(union(*(select(c).where(c == name) for c in tables))).scalars()
            if list(exact):
                return [name]
            if name.startswith("arn:") or not name:
                return []
            suffix = f":{name}"
            found = session.execute(
                union(
                    *(
                        select(c).where(c.like("arn:%:codepipeline:%"), c.endswith(suffix))
                        for c in tables
                    )
                )
            ).scalars()
            return sorted({k for k in found if k.rsplit(":", 1)[-1] == name})


def _aware(when: dt.datetime) -> dt.datetime:
    """A stored time in UTC (SQLite returns naive datetimes for timezone-aware
    columns: they are UTC; PostgreSQL returns the session's time zone)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
