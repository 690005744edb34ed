"""Drift watch state, CodeBuild project baselines, store settings, event ids, and
the keyed hash of stored declarations.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "watch_state",
        sa.Column("pipeline_key", sa.String(512), primary_key=True),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.Column("seen_at", _tz(), nullable=False),
    )
    op.create_table(
        "project_baselines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_key", sa.String(512), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("pipelines", sa.JSON, nullable=False),
        sa.Column("approved_by", sa.String(256), nullable=False),
        sa.Column("approved_at", _tz(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_project_baselines_key", "project_baselines", ["project_key", "id"])
    op.add_column("pipeline_versions", sa.Column("keyed_hash", sa.String(64), nullable=True))
    op.add_column("drift_events", sa.Column("event_id", sa.String(128), nullable=True))
    # NULL ids (drift checks, watch passes) never conflict: NULLs are distinct.
    op.create_index("uq_drift_event", "drift_events", ["event_id", "pipeline_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_drift_event", table_name="drift_events")
    with op.batch_alter_table("drift_events") as batch:
        batch.drop_column("event_id")
    with op.batch_alter_table("pipeline_versions") as batch:
        batch.drop_column("keyed_hash")
    for table in ("project_baselines", "watch_state", "settings"):
        op.drop_table(table)
