"""EventBridge CloudTrail events that can change a pipeline, read into plain facts.

Handled: ``UpdatePipeline``, ``CreatePipeline`` and ``DeletePipeline`` from
``aws.codepipeline`` (the declaration is ``requestParameters.pipeline``),
``PutWebhook`` (``requestParameters.webhook``) and CodeBuild ``UpdateProject``
from ``aws.codebuild``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.errors import Error

__all__ = ["HANDLED", "EventError", "PipelineEvent", "actor_of", "parse_event"]

HANDLED: Final = frozenset(
    {"UpdatePipeline", "CreatePipeline", "DeletePipeline", "PutWebhook", "UpdateProject"}
)
_SOURCES: Final = {
    "codepipeline.amazonaws.com": "aws.codepipeline",
    "codebuild.amazonaws.com": "aws.codebuild",
}


class EventError(Error):
    """The event is not one the drift handler understands."""


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    """What an event says: which call, by whom, on what, with which payload."""

    event_name: str
    event_id: str
    event_time: str
    actor: str
    account: str | None
    region: str | None
    target: str  # pipeline name (or CodeBuild project name for UpdateProject)
    declaration: Mapping[str, Any] | None = None
    request: Mapping[str, Any] = field(default_factory=dict)

    @property
    def pipeline_arn(self) -> str | None:
        if self.account and self.region and self.event_name != "UpdateProject":
            return f"arn:aws:codepipeline:{self.region}:{self.account}:{self.target}"
        return None


def actor_of(identity: Any) -> str:
    """A readable actor from CloudTrail ``userIdentity``: the ARN (for an assumed
    role, the role behind the session too) and the identity type."""
    if not isinstance(identity, Mapping):
        return "unknown"
    kind = str(identity.get("type") or "unknown")
    arn = identity.get("arn") or identity.get("principalId") or identity.get("invokedBy")
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    text = f"{arn or 'unknown'} ({kind})"
    if isinstance(issuer, Mapping) and issuer.get("arn") and issuer.get("arn") != arn:
        text += f" via {issuer['arn']}"
    return text[:1024]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(event: Any) -> PipelineEvent:
    """Read an EventBridge event (or a bare CloudTrail record)."""
    if not isinstance(event, Mapping):
        raise EventError("event must be a JSON object")
    detail = event.get("detail") if "detail" in event else event
    if not isinstance(detail, Mapping):
        raise EventError("event has no `detail` object")
    name = _str(detail.get("eventName"))
    if name not in HANDLED:
        raise EventError(
            f"event `{name or '?'}` is not handled (expected one of {sorted(HANDLED)})"
        )
    source = _str(event.get("source")) or _SOURCES.get(str(detail.get("eventSource")), "")
    expected = "aws.codebuild" if name == "UpdateProject" else "aws.codepipeline"
    if source != expected:
        raise EventError(f"event `{name}` from `{source or '?'}`: expected source {expected}")
    if detail.get("errorCode"):
        raise EventError(
            f"event `{name}` records a failed call ({detail['errorCode']}): nothing changed"
        )
    request = detail.get("requestParameters")
    if not isinstance(request, Mapping):
        raise EventError(f"event `{name}` has no requestParameters")
    account = _str(detail.get("recipientAccountId")) or _str(event.get("account"))
    region = _str(detail.get("awsRegion")) or _str(event.get("region"))
    declaration: Mapping[str, Any] | None = None
    if name in ("UpdatePipeline", "CreatePipeline"):
        pipeline = request.get("pipeline")
        if not isinstance(pipeline, Mapping) or not _str(pipeline.get("name")):
            raise EventError(f"event `{name}` has no requestParameters.pipeline with a name")
        declaration, target = pipeline, str(pipeline["name"])
    elif name == "DeletePipeline":
        target = _str(request.get("name")) or ""
    elif name == "PutWebhook":
        webhook = request.get("webhook")
        if not isinstance(webhook, Mapping):
            raise EventError("event `PutWebhook` has no requestParameters.webhook")
        target = _str(webhook.get("targetPipeline")) or ""
    else:
        target = _str(request.get("name")) or ""
    if not target:
        raise EventError(f"event `{name}` does not name its pipeline or project")
    return PipelineEvent(
        event_name=name,
        event_id=str(detail.get("eventID") or event.get("id") or ""),
        event_time=str(detail.get("eventTime") or event.get("time") or ""),
        actor=actor_of(detail.get("userIdentity")),
        account=account,
        region=region,
        target=target,
        declaration=declaration,
        request=request,
    )
