"""``pipewarden baseline approve INPUT... --reason TEXT``: record the approved
declaration of every pipeline in INPUT (any input kind the scanner reads), and
the state of every CodeBuild project they run that INPUT holds (a snapshot, a
template or a Terraform plan; get-pipeline JSON holds none).

The approval (who, when, why) is appended to the store; the newest approval of
a pipeline or project is its baseline for ``pipewarden drift``. Secrets are
sealed before they are stored (see :mod:`pipewarden.drift.secrets`).
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, say
from pipewarden.errors import ConfigError

__all__ = ["add_db_argument", "add_parser", "approver", "run"]


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db URL`` (shared by the commands that use the store)."""
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (postgresql://..., sqlite:///FILE or a file path; default "
        "$PIPEWARDEN_DB, else pipewarden.db in the user data directory)",
    )


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``baseline`` sub-command."""
    parser = sub.add_parser(
        "baseline",
        help="approve pipeline declarations as the baseline drift is judged against",
        description="Manage approved pipeline baselines.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    approve = actions.add_parser(
        "approve",
        help="record the declarations in INPUT as approved",
        description="Record every pipeline declaration in INPUT as its approved baseline.",
    )
    approve.add_argument("paths", metavar="INPUT", nargs="+", type=Path, help="file or directory")
    approve.add_argument("--reason", required=True, help="why these declarations are approved")
    approve.add_argument("--by", default=None, help="who approves (default: the current user)")
    add_db_argument(approve)
    approve.set_defaults(command=run)
    parser.set_defaults(command=_need_action)


def _need_action(_args: argparse.Namespace, _ctx: Context) -> int:
    raise ConfigError("an action is required: approve (see `pipewarden baseline --help`)")


def approver(args: argparse.Namespace, ctx: Context) -> str:
    """``--by``, else the user named by the environment."""
    if args.by:
        return str(args.by)
    for name in ("PIPEWARDEN_USER", "USER", "LOGNAME", "USERNAME"):
        if ctx.environ.get(name):
            return ctx.environ[name]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Approve; returns the exit code."""
    from pipewarden.cli.drift import load_inventories, store_url
    from pipewarden.drift.normalise import canonical
    from pipewarden.drift.projects import project_state, projects_used
    from pipewarden.drift.results import pipeline_key
    from pipewarden.store import open_store

    reason = args.reason.strip()
    if not reason:
        raise ConfigError("--reason must not be empty")
    inventories = load_inventories(args.paths)
    pipelines = [p for inv in inventories for p in inv.pipelines]
    if not pipelines:
        raise ConfigError("no pipeline definition found to approve")
    used, missing = projects_used(inventories, pipeline_key)
    by = approver(args, ctx)
    store = open_store(store_url(args, ctx))
    try:
        items = [(pipeline_key(p), canonical(p)) for p in pipelines]
        hashes = store.approve(items, by=by, reason=reason)
        projects = [
            (key, project_state(use.project), use.pipelines) for key, use in sorted(used.items())
        ]
        project_hashes = store.approve_projects(projects, by=by, reason=reason)
    finally:
        store.close()
    for (key, _), digest in zip(items, hashes, strict=True):
        say(ctx.stderr, "", f"approved {key} ({digest[:12]}) by {by}")
    for (key, _, _), digest in zip(projects, project_hashes, strict=True):
        say(ctx.stderr, "", f"approved CodeBuild project {key} ({digest[:12]}) by {by}")
    if missing:
        names = sorted({name for _, name in missing})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        say(
            ctx.stderr,
            "warning",
            f"{len(names)} CodeBuild project(s) are not in the input, so their settings are "
            f"not baselined: {shown} (approve a snapshot or template that holds them)",
        )
    return 0
