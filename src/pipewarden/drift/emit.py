"""Where a drift finding goes besides stdout: an SNS topic and AWS Security Hub.

:class:`Emission` says where (``--sns-topic``/``PIPEWARDEN_SNS_TOPIC``,
``--to-security-hub``/``PIPEWARDEN_SECURITY_HUB``); :func:`emit` sends a
finding there through :mod:`pipewarden.collect.alerts` and returns what
happened per destination (``{"sns": {"message_id": ...}}`` or ``{"error":
...}``), never raising for a destination that failed.

* SNS gets one message per finding with a failing result: the finding as
  JSON (only its failing results; trimmed to SNS's 256 KiB), subject
  ``PipeWarden PW901: <pipeline>``, attributes ``rule_id``, ``pipeline`` and
  ``event`` for subscription filters.
* Security Hub gets the failing results as ASFF findings (stable ids), and the
  earlier drift findings of the same pipelines that this finding no longer
  reports are archived, so a pipeline restored to its baseline is resolved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pipewarden.errors import Error

if TYPE_CHECKING:
    from pipewarden.engine import ScanResult

__all__ = ["SNS_MAX_BYTES", "Emission", "emit", "sns_message"]

SNS_MAX_BYTES: Final = 250_000  # SNS takes 256 KiB; room for the attributes
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class Emission:
    """Destinations of drift findings, and how to reach AWS."""

    sns_topic: str | None = None
    security_hub: bool = False
    profile: str | None = None
    endpoint_url: str | None = None
    session: Any = None  # a boto3 session (default: the standard credential chain)

    @property
    def wanted(self) -> bool:
        return bool(self.sns_topic) or self.security_hub

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **overrides: Any) -> Emission:
        """Destinations from ``PIPEWARDEN_SNS_TOPIC`` and ``PIPEWARDEN_SECURITY_HUB``
        (``1``/``true``), then ``overrides`` (None values ignored)."""
        values: dict[str, Any] = {
            "sns_topic": environ.get("PIPEWARDEN_SNS_TOPIC") or None,
            "security_hub": environ.get("PIPEWARDEN_SECURITY_HUB", "").lower() in _TRUE,
        }
        values.update({k: v for k, v in overrides.items() if v is not None and v is not False})
        return cls(**values)


def _subject(finding: Mapping[str, Any]) -> str:
    rule = "PW901" if finding.get("weakening") else "PW902"
    name = str(finding.get("pipeline") or "?").rsplit(":", 1)[-1]
    text = f"PipeWarden {rule}: {name}"
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return text[:100]


def sns_message(finding: Mapping[str, Any]) -> str:
    """The finding as the SNS message: failing results only, within SNS's size."""
    failing = [r for r in finding.get("results", []) if r.get("status") == "fail"]
    body = {**finding, "results": failing}
    text = json.dumps(body, sort_keys=True, default=str)
    kept = len(failing)
    while len(text.encode("utf-8")) > SNS_MAX_BYTES and kept > 0:
        kept //= 2
        body = {**finding, "results": failing[:kept], "results_omitted": len(failing) - kept}
        text = json.dumps(body, sort_keys=True, default=str)
    return text


def emit(finding: Mapping[str, Any], result: ScanResult, emission: Emission) -> dict[str, Any]:
    """Send ``finding`` (whose report is ``result``) to the destinations of ``emission``."""
    out: dict[str, Any] = {}
    failing = any(r.get("status") == "fail" for r in finding.get("results", []))
    if emission.sns_topic and failing:
        out["sns"] = _to_sns(finding, emission)
    if emission.security_hub and (failing or finding.get("baselined")):
        out["security_hub"] = _to_security_hub(finding, result, emission)
    return out


def _to_sns(finding: Mapping[str, Any], emission: Emission) -> dict[str, Any]:
    from pipewarden.collect.alerts import publish

    try:
        message_id = publish(
            str(emission.sns_topic),
            subject=_subject(finding),
            message=sns_message(finding),
            attributes={
                "rule_id": "PW901" if finding.get("weakening") else "PW902",
                "pipeline": str(finding.get("pipeline") or ""),
                "event": str(finding.get("event") or ""),
            },
            session=emission.session,
            profile=emission.profile,
            endpoint_url=emission.endpoint_url,
        )
    except Error as exc:
        return {"error": str(exc)}
    return {"message_id": message_id}


def _to_security_hub(
    finding: Mapping[str, Any], result: ScanResult, emission: Emission
) -> dict[str, Any]:
    from pipewarden.collect.alerts import import_drift_findings
    from pipewarden.model import Status
    from pipewarden.report.asff import findings

    account, region = finding.get("account"), finding.get("region")
    if not account or not region:
        return {"error": "the event names no account and region for Security Hub"}
    try:
        document = findings(
            result, account=str(account), region=str(region), statuses=(Status.FAIL,)
        )
        resources = {str(p.arn or p.loc.subject) for p in result.pipelines}
        report, archived = import_drift_findings(
            document,
            account=str(account),
            region=str(region),
            pipelines=resources,
            session=emission.session,
            profile=emission.profile,
            endpoint_url=emission.endpoint_url,
        )
    except Error as exc:
        return {"error": str(exc)}
    return {"imported": report.imported, "failed": len(report.failed), "archived": archived}
