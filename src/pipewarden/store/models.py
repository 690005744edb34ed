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
    "RuleResultRow",
    "Scan",
    "TrustEntity",
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
    declaration: Mapped[str] = mapped_column(Text)  # canonical JSON
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
    """A detected drift: what changed, who did it (when known), the findings."""

    __tablename__ = "drift_events"
    __table_args__ = (Index("ix_drift_pipeline", "pipeline_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_key: Mapped[str] = mapped_column(String(512))
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    event_name: Mapped[str] = mapped_column(String(64), default="")
    actor: Mapped[str] = mapped_column(String(1024), default="")
    baseline_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weakening: Mapped[int] = mapped_column(Integer, default=0)  # number of PW901 changes
    findings: Mapped[list[dict[str, object]]] = mapped_column(JSON)
