"""What every evidence record shares: the execution context and the time of the check.

A verifier's record is one JSON object. Besides its own fields it carries
``verifier`` (the command name), ``verified_at`` (UTC, ISO 8601, seconds, ``Z``)
and ``context``: the build that ran the check, read from the environment.

CodeBuild sets ``CODEBUILD_BUILD_ARN``, ``CODEBUILD_BUILD_ID``,
``CODEBUILD_RESOLVED_SOURCE_VERSION`` (the commit it built, for a CodeCommit,
GitHub, GitHub Enterprise or Bitbucket source) and ``CODEBUILD_INITIATOR``
(``codepipeline/<pipeline name>`` when CodePipeline started the build). It does
*not* set the pipeline execution id: the action passes it explicitly with the
pipeline variable ``#{codepipeline.PipelineExecutionId}`` as the environment
variable ``CODEPIPELINE_EXECUTION_ID`` (an action's ``EnvironmentVariables``
configuration). Absent variables are left out of the record, never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = [
    "CONTEXT_VARIABLES",
    "Clock",
    "dump_record",
    "evidence_context",
    "system_clock",
    "utc_now_iso",
]

Clock = Callable[[], dt.datetime]
"""Returns the current time; must be timezone-aware."""

# record key -> environment variable, in record order.
CONTEXT_VARIABLES: Final[tuple[tuple[str, str], ...]] = (
    ("codebuild_build_arn", "CODEBUILD_BUILD_ARN"),
    ("codebuild_build_id", "CODEBUILD_BUILD_ID"),
    ("codebuild_resolved_source_version", "CODEBUILD_RESOLVED_SOURCE_VERSION"),
    ("codebuild_initiator", "CODEBUILD_INITIATOR"),
    ("pipeline_execution_id", "CODEPIPELINE_EXECUTION_ID"),
)

# An environment value longer than this is cut (and marked) rather than copied whole.
_MAX_VALUE: Final = 2048


def system_clock() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


def evidence_context(environ: Mapping[str, str]) -> dict[str, str]:
    """The execution context found in ``environ``: only the variables that are set and non-empty.

    Keys are the record keys of :data:`CONTEXT_VARIABLES`; values longer than
    2048 characters are truncated with a trailing ``...``.
    """
    context: dict[str, str] = {}
    for key, variable in CONTEXT_VARIABLES:
        value = environ.get(variable, "")
        if value:
            context[key] = value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE] + "..."
    return context


def utc_now_iso(clock: Clock | None = None) -> str:
    """``clock()`` (default: the system clock) in UTC as ``YYYY-MM-DDTHH:MM:SSZ``.

    A naive datetime from ``clock`` is a programming error: ``ValueError``.
    """
    now = (clock or system_clock)()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the clock returned a naive datetime; it must be timezone-aware")
    return now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def dump_record(record: Mapping[str, Any]) -> str:
    """One evidence record as one line of JSON (ASCII, keys in insertion order), no newline."""
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
