"""Seal the plaintext secrets that stores written before 0002 kept in full.

Creates the store's sealing key when absent, then rewrites every stored
declaration with its secrets sealed (and its hash, and the drift events that
name that hash), the drift events' finding values and the PW901/PW902 result
messages that held a secret. See :mod:`pipewarden.drift.secrets`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY_NAME = "seal-key"

_settings = sa.table("settings", sa.column("name", sa.String), sa.column("value", sa.Text))
_versions = sa.table(
    "pipeline_versions",
    sa.column("id", sa.Integer),
    sa.column("pipeline_key", sa.String),
    sa.column("hash", sa.String),
    sa.column("declaration", sa.Text),
)
_events = sa.table(
    "drift_events",
    sa.column("id", sa.Integer),
    sa.column("pipeline_key", sa.String),
    sa.column("baseline_hash", sa.String),
    sa.column("current_hash", sa.String),
    sa.column("findings", sa.JSON),
)
_results = sa.table(
    "rule_results",
    sa.column("id", sa.Integer),
    sa.column("rule_id", sa.String),
    sa.column("pointer", sa.Text),
    sa.column("message", sa.Text),
)


def _key(conn: sa.Connection) -> bytes:
    found = conn.execute(sa.select(_settings.c.value).where(_settings.c.name == KEY_NAME)).first()
    if found is None:
        value = secrets.token_hex(32)
        conn.execute(sa.insert(_settings).values(name=KEY_NAME, value=value))
        return bytes.fromhex(value)
    return bytes.fromhex(found[0])


def _holds_secret(field: str, value: str) -> bool:
    from pipewarden.drift.secrets import is_sealed
    from pipewarden.rules._secrets import find_secret, find_secret_in_text

    if is_sealed(value) or value.startswith("secret "):
        return False
    return find_secret(field, value) is not None or find_secret_in_text(value) is not None


def upgrade() -> None:
    from pipewarden.drift.normalise import canonical_json, declaration_hash
    from pipewarden.drift.secrets import Sealer, display

    conn = op.get_bind()
    sealer = Sealer(_key(conn))
    renamed: list[tuple[str, str, str]] = []
    rows = conn.execute(
        sa.select(
            _versions.c.id, _versions.c.pipeline_key, _versions.c.hash, _versions.c.declaration
        )
    ).all()
    for row_id, key, old_hash, text in rows:
        doc = json.loads(text)
        sealed = sealer.declaration(doc)
        if sealed == doc:
            continue
        new_hash = declaration_hash(sealed)
        conn.execute(
            sa.update(_versions)
            .where(_versions.c.id == row_id)
            .values(declaration=canonical_json(sealed).decode("utf-8"), hash=new_hash)
        )
        renamed.append((key, old_hash, new_hash))
    for key, old_hash, new_hash in renamed:
        for column in (_events.c.baseline_hash, _events.c.current_hash):
            conn.execute(
                sa.update(_events)
                .where(_events.c.pipeline_key == key, column == old_hash)
                .values({column.name: new_hash})
            )

    for row_id, findings in conn.execute(sa.select(_events.c.id, _events.c.findings)).all():
        changed = False
        out: list[Any] = []
        for finding in findings or []:
            if isinstance(finding, dict):
                new = {
                    k: display(sealer.seal(v))
                    if isinstance(v, str) and k != "rule_id" and _holds_secret(k, v)
                    else v
                    for k, v in finding.items()
                }
                changed |= new != finding
                finding = new
            out.append(finding)
        if changed:
            conn.execute(sa.update(_events).where(_events.c.id == row_id).values(findings=out))

    drift_rows = conn.execute(
        sa.select(_results.c.id, _results.c.pointer, _results.c.message).where(
            _results.c.rule_id.in_(("PW901", "PW902"))
        )
    ).all()
    for row_id, pointer, message in drift_rows:
        if not _holds_secret("", message):
            continue
        marker = f" at {pointer or '/'}: "
        head = message.split(marker, 1)[0] + f" at {pointer or '/'}" if marker in message else ""
        conn.execute(
            sa.update(_results)
            .where(_results.c.id == row_id)
            .values(message=f"{head or 'changed'}: values withheld (they held a secret)")
        )


def downgrade() -> None:
    """Sealed values cannot be unsealed; the key is kept."""
