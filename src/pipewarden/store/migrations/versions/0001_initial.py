"""Initial schema: scans, pipeline versions, rule results, baselines, trust, drift events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", _tz(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
    )
    op.create_table(
        "pipeline_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline_key", sa.String(512), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("declaration", sa.Text, nullable=False),
        sa.Column("first_seen", _tz(), nullable=False),
        sa.UniqueConstraint("pipeline_key", "hash", name="uq_pipeline_version"),
    )
    op.create_index("ix_pipeline_versions_pipeline_key", "pipeline_versions", ["pipeline_key"])
    op.create_table(
        "rule_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("pipeline_key", sa.String(512), nullable=False),
        sa.Column("rule_id", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("pointer", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_rule_results_scan_id", "rule_results", ["scan_id"])
    op.create_index("ix_rule_results_pipeline_rule", "rule_results", ["pipeline_key", "rule_id"])
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline_key", sa.String(512), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("pipeline_versions.id"), nullable=False),
        sa.Column("approved_by", sa.String(256), nullable=False),
        sa.Column("approved_at", _tz(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_baselines_pipeline", "baselines", ["pipeline_key", "id"])
    op.create_table(
        "trust_entities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(256), nullable=False),
        sa.Column("approved_at", _tz(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_trust_kind_key", "trust_entities", ["kind", "key", "id"])
    op.create_table(
        "drift_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline_key", sa.String(512), nullable=False),
        sa.Column("detected_at", _tz(), nullable=False),
        sa.Column("event_name", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(1024), nullable=False),
        sa.Column("baseline_hash", sa.String(64), nullable=True),
        sa.Column("current_hash", sa.String(64), nullable=True),
        sa.Column("weakening", sa.Integer, nullable=False),
        sa.Column("findings", sa.JSON, nullable=False),
    )
    op.create_index("ix_drift_pipeline", "drift_events", ["pipeline_key", "id"])


def downgrade() -> None:
    for table in (
        "drift_events",
        "trust_entities",
        "baselines",
        "rule_results",
        "pipeline_versions",
        "scans",
    ):
        op.drop_table(table)
