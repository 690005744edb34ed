"""``pipewarden trust list|approve|diff INPUT...``: the connections, external
repositories, third-party action types and Lambdas the pipelines rely on.

``approve`` stores their current states (who, when, why); ``diff`` reports a
new or changed entity as PW903 in any report format. Exit codes as ``scan``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.cli.baseline import add_db_argument, approver
from pipewarden.cli.scan import DEFAULT_FAIL_ON, FAIL_ON_CHOICES
from pipewarden.errors import ConfigError
from pipewarden.model import Severity
from pipewarden.report import DEFAULT_FORMAT, FORMATS, render

if TYPE_CHECKING:
    from pipewarden.model import Inventory

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``trust`` sub-command."""
    parser = sub.add_parser(
        "trust",
        help="list, approve and diff the external things pipelines trust (PW903)",
        description="Connections, repositories, third-party action types and Lambdas.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    listing = actions.add_parser("list", help="list trust entities and their approval state")
    approve = actions.add_parser("approve", help="approve the current states")
    diff = actions.add_parser("diff", help="report PW903 for new or changed entities")
    for p in (listing, approve, diff):
        p.add_argument("paths", metavar="INPUT", nargs="+", type=Path, help="file or directory")
        add_db_argument(p)
    approve.add_argument("--reason", required=True, help="why these states are trusted")
    approve.add_argument("--by", default=None, help="who approves (default: the current user)")
    diff.add_argument("-f", "--format", choices=FORMATS, default=DEFAULT_FORMAT)
    diff.add_argument("--fail-on", choices=FAIL_ON_CHOICES, default=DEFAULT_FAIL_ON)
    listing.set_defaults(command=run_list)
    approve.set_defaults(command=run_approve)
    diff.set_defaults(command=run_diff)
    parser.set_defaults(command=_need_action)


def _need_action(_args: argparse.Namespace, _ctx: Context) -> int:
    raise ConfigError(
        "an action is required: list, approve or diff (see `pipewarden trust --help`)"
    )


def _inventories(paths: list[Path]) -> list[Inventory]:
    from pipewarden.parse import load_paths

    loaded = load_paths(paths)
    if loaded.errors:
        raise loaded.errors[0]
    return loaded.inventories


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    from pipewarden.cli.drift import store_url
    from pipewarden.drift.trust import trust_entities
    from pipewarden.store import open_store

    entities = trust_entities(_inventories(args.paths))
    store = open_store(store_url(args, ctx))
    try:
        approved = store.approved_trust()
    finally:
        store.close()
    for e in entities:
        old = approved.get((e.kind, e.key))
        state = "new" if old is None else ("approved" if old == e.state else "changed")
        line = {
            "kind": e.kind,
            "key": e.key,
            "trust": state,
            "state": e.state,
            "pipelines": list(e.pipelines),
        }
        emit(ctx.stdout, json.dumps(line, sort_keys=True) + "\n")
    return 0


def run_approve(args: argparse.Namespace, ctx: Context) -> int:
    from pipewarden.cli.drift import store_url
    from pipewarden.drift.trust import trust_entities
    from pipewarden.store import open_store

    if not args.reason.strip():
        raise ConfigError("--reason must not be empty")
    entities = trust_entities(_inventories(args.paths))
    by = approver(args, ctx)
    store = open_store(store_url(args, ctx))
    try:
        count = store.approve_trust(
            [(e.kind, e.key, e.state, e.hash) for e in entities], by=by, reason=args.reason.strip()
        )
    finally:
        store.close()
    say(ctx.stderr, "", f"approved {count} trust entities by {by}")
    return 0


def run_diff(args: argparse.Namespace, ctx: Context) -> int:
    from pipewarden.cli.drift import store_url
    from pipewarden.drift.trust import trust_changes, trust_entities, trust_result
    from pipewarden.store import open_store

    inventories = _inventories(args.paths)
    store = open_store(store_url(args, ctx))
    try:
        approved = store.approved_trust()
    finally:
        store.close()
    changes = trust_changes(trust_entities(inventories), approved)
    pipelines = [p for inv in inventories for p in inv.pipelines]
    result = trust_result(pipelines, changes)
    emit(ctx.stdout, render(result, args.format))
    threshold = None if args.fail_on == "none" else Severity(args.fail_on)
    return 1 if result.failures(threshold) else 0
