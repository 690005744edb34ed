"""``pipewarden policy``: the least-privilege IAM policy that collection needs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipewarden.cli._io import Context, emit

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``policy`` sub-command."""
    parser = sub.add_parser(
        "policy",
        help="print the least-privilege read-only IAM policy for collect and scan --aws",
        description=(
            "Print the IAM policy (JSON) that `pipewarden collect` and `pipewarden scan --aws` "
            "need: every read-only action the collector may call, and nothing else. "
            "deploy/scanner-role.yaml deploys it as the PipeWardenReadOnly role."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print the policy; returns 0."""
    from pipewarden.collect import policy_document

    del args
    emit(ctx.stdout, json.dumps(policy_document(), indent=2) + "\n")
    return 0
