"""The store's tables (SQLAlchemy 2 declarative models).

History is append-only: a baseline approval, a trust approval and a drift event
are new rows, so who approved what, when and why is never overwritten.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "Baseline",
    "DriftEvent",
    "PipelineVersion",
    "ProjectBaseline",
    "RuleResultRow",
    "Scan",
    "Setting",
    "TrustEntity",
    "WatchState",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Scan(Base):
    """One scan (or drift check) run."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    kind: Mapped[str] = mapped_column(String(32))  # scan, drift-check, event
    source: Mapped[str] = mapped_column(Text, default="")
    tool_version: Mapped[str] = mapped_column(String(64), default="")


class PipelineVersion(Base):
    """A distinct normalised declaration of one pipeline (by content hash)."""

    __tablename__ = "pipeline_versions"
    __table_args__ = (UniqueConstraint("pipeline_key", "hash", name="uq_pipeline_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_key: Mapped[str] = mapped_column(String(512), index=True)
    hash: Mapped[str] = mapped_column(String(64))
    declaration: Mapped[str] = mapped_column(Text)  # canonical JSON, secrets sealed
    # HMAC (store key) of the canonical JSON before sealing: unchanged declarations
    # are recognised without sealing them again. NULL for rows older than 0002.
    keyed_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RuleResultRow(Base):
    """One rule result of one pipeline in one scan."""

    __tablename__ = "rule_results"
    __table_args__ = (Index("ix_rule_results_pipeline_rule", "pipeline_key", "rule_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    pipeline_key: Mapped[str] = mapped_column(String(512))
    rule_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    pointer: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")


class Baseline(Base):
    """An approval of a pipeline version; the newest row per pipeline is in force."""

    __tablename__ = "baselines"
    __table_args__ = (Index("ix_baselines_pipeline", "pipeline_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_key: Mapped[str] = mapped_column(String(512))
    version_id: Mapped[int] = mapped_column(ForeignKey("pipeline_versions.id"))
    approved_by: Mapped[str] = mapped_column(String(256))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    reason: Mapped[str] = mapped_column(Text)


class TrustEntity(Base):
    """An approved state of a trusted thing (connection, repository, action type,
    Lambda); the newest row per (kind, key) is in force."""

    __tablename__ = "trust_entities"
    __table_args__ = (Index("ix_trust_kind_key", "kind", "key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(1024))
    state: Mapped[dict[str, object]] = mapped_column(JSON)
    hash: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(256))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    reason: Mapped[str] = mapped_column(Text, default="")


class DriftEvent(Base):
    """A detected drift: what changed, who did it (when known), the findings.

    ``event_id`` is the CloudTrail event's id: a redelivered event (a retried
    Lambda invocation) is recorded once per pipeline."""

    __tablename__ = "drift_events"
    __table_args__ = (
        Index("ix_drift_pipeline", "pipeline_key", "id"),
        Index("uq_drift_event", "event_id", "pipeline_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_key: Mapped[str] = mapped_column(String(512))
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    event_name: Mapped[str] = mapped_column(String(64), default="")
    actor: Mapped[str] = mapped_column(String(1024), default="")
    baseline_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weakening: Mapped[int] = mapped_column(Integer, default=0)  # number of PW901 changes
    findings: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Setting(Base):
    """A named value of the store itself (the secret sealing key)."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WatchState(Base):
    """The pipeline version ``pipewarden drift watch`` saw last, per pipeline."""

    __tablename__ = "watch_state"

    pipeline_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    updated: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ProjectBaseline(Base):
    """An approved state of a CodeBuild project (secrets sealed) and the pipelines
    that used it; the newest row per project is in force."""

    __tablename__ = "project_baselines"
    __table_args__ = (Index("ix_project_baselines_key", "project_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_key: Mapped[str] = mapped_column(String(512))
    state: Mapped[dict[str, object]] = mapped_column(JSON)
    hash: Mapped[str] = mapped_column(String(64))
    pipelines: Mapped[list[str]] = mapped_column(JSON)
    approved_by: Mapped[str] = mapped_column(String(256))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    reason: Mapped[str] = mapped_column(Text, default="")
