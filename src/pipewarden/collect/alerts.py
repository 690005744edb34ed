"""Drift alerts out of the drift handler: an SNS message and Security Hub findings.

Writing calls, not part of the read-only scanner policy; :data:`PERMISSIONS`
lists what the handler's role needs (``deploy/drift-handler.yaml`` grants it).

* :func:`publish` sends one message to an SNS topic (in the topic's region),
  with message attributes that subscription filter policies can select on.
* :func:`import_drift_findings` imports the failing drift results as ASFF
  findings (through :func:`pipewarden.collect.securityhub.import_findings`, so
  ids are stable and a re-delivered event updates rather than duplicates) and
  archives the earlier active PW901/PW902 findings of the same pipelines that
  this event no longer reports: a pipeline back to its baseline leaves no
  active drift finding. Findings of other rules (``scan --to-security-hub``)
  are never touched.

Failures raise :class:`~pipewarden.errors.CollectionError` with one line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import botocore.config
import botocore.exceptions

from pipewarden.collect.securityhub import ImportReport, import_findings
from pipewarden.errors import CollectionError

__all__ = ["DRIFT_GENERATORS", "PERMISSIONS", "import_drift_findings", "publish"]

PERMISSIONS: Final = frozenset(
    {
        "sns:Publish",
        "securityhub:BatchImportFindings",
        "securityhub:GetFindings",
        "sts:GetCallerIdentity",
    }
)
DRIFT_GENERATORS: Final = frozenset({"pipewarden/PW901", "pipewarden/PW902"})
_TOPIC_RE: Final = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_.-]{1,256}$")
_CONFIG: Final = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 5}, user_agent_extra="pipewarden"
)
_BATCH: Final = 100


def _session(session: Any, profile: str | None) -> Any:
    if session is not None:
        return session
    import boto3

    try:
        return boto3.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise CollectionError(f"AWS profile `{profile}` not found") from exc


def _why(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def publish(
    topic_arn: str,
    *,
    subject: str,
    message: str,
    attributes: Mapping[str, str] | None = None,
    session: Any = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Publish ``message`` to the topic; returns the SNS message id."""
    match = _TOPIC_RE.match(topic_arn)
    if match is None:
        raise CollectionError(f"`{topic_arn[:120]}` is not an SNS topic ARN")
    sess = _session(session, profile)
    params: dict[str, Any] = {"TopicArn": topic_arn, "Message": message, "Subject": subject}
    if attributes:
        params["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v
        }
    try:
        client = sess.client(
            "sns", region_name=match.group(1), endpoint_url=endpoint_url, config=_CONFIG
        )
        response = client.publish(**params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise CollectionError(f"SNS Publish to {topic_arn} failed: {_why(exc)}") from exc
    return str(response.get("MessageId", ""))


def _resource_ids(finding: Mapping[str, Any]) -> set[str]:
    return {str(r.get("Id")) for r in finding.get("Resources", ()) if isinstance(r, Mapping)}


def _stale_drift(
    client: Any, *, account: str, pipelines: set[str], current: set[str], timestamp: str
) -> list[dict[str, Any]]:
    filters = {
        "AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": g, "Comparison": "EQUALS"} for g in sorted(DRIFT_GENERATORS)],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("get_findings").paginate(
        Filters=filters, PaginationConfig={"PageSize": 100}
    ):
        for finding in page.get("Findings", ()):
            # Applied again here: these conditions decide what gets archived.
            if (
                finding.get("AwsAccountId") != account
                or finding.get("GeneratorId") not in DRIFT_GENERATORS
                or finding.get("RecordState", "ACTIVE") != "ACTIVE"
                or finding.get("Id") in current
                or not (_resource_ids(finding) & pipelines)
            ):
                continue
            out.append({**finding, "RecordState": "ARCHIVED", "UpdatedAt": timestamp})
    return out


def import_drift_findings(
    findings: Sequence[Mapping[str, Any]],
    *,
    account: str,
    region: str,
    pipelines: Iterable[str],
    session: Any = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> tuple[ImportReport, int]:
    """Import ``findings`` (ASFF, all of ``account``/``region``) and archive the
    earlier active drift findings of ``pipelines`` (resource ids) that are not
    among them; returns the import report and the number archived."""
    sess = _session(session, profile)
    when = (clock or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC)
    timestamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    report = ImportReport()
    if findings:
        report = import_findings(
            findings, session=sess, endpoint_url=endpoint_url, archive_stale=False, clock=clock
        )
        if report.imported == 0:
            first = report.failed[0] if report.failed else None
            why = f"{first.code}: {first.message}" if first else "nothing accepted"
            raise CollectionError(f"Security Hub import failed: {why[:300]}")
    try:
        client = sess.client(
            "securityhub", region_name=region, endpoint_url=endpoint_url, config=_CONFIG
        )
        stale = _stale_drift(
            client,
            account=account,
            pipelines=set(pipelines),
            current={str(f.get("Id")) for f in findings},
            timestamp=timestamp,
        )
        for start in range(0, len(stale), _BATCH):
            client.batch_import_findings(Findings=stale[start : start + _BATCH])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise CollectionError(
            f"Security Hub archive of earlier drift findings failed: {_why(exc)}"
        ) from exc
    return report, len(stale)
