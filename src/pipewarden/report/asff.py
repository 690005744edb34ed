"""AWS Security Finding Format (ASFF), for AWS Security Hub.

The output is a JSON array of ``AwsSecurityFinding`` objects, the input that
``aws securityhub batch-import-findings --findings file://findings.json`` and
``pipewarden scan --to-security-hub`` send with ``BatchImportFindings``.

Decisions:

* **Every result is a finding, passes included.** Security Hub resolves a
  finding only when its provider re-imports it with the same ``Id`` and a
  passing status, so a fixed pipeline must be reported as ``PASSED``:
  ``fail`` -> ``Compliance.Status`` ``FAILED``; ``unknown`` (evidence missing)
  -> ``WARNING``; ``pass`` -> ``PASSED`` with ``Severity.Label``
  ``INFORMATIONAL`` (the rule's own severity stays in ``Severity.Original``).
* **Ids are stable**: ``pipewarden/<account>/<region>/<fingerprint>``, the
  fingerprint being the result's (rule id, subject, pointer) digest. The
  subject of a live result is the pipeline ARN, so a re-scan updates the same
  finding instead of adding a duplicate. For file inputs the subject is the
  file path as given on the command line: scan from the same directory to keep
  Ids stable.
* ``ProductArn`` is the account's own custom-integration product,
  ``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``:
  Security Hub accepts such findings only from the account they belong to.
* ``Workflow.Status`` starts ``NEW`` for failures and unknowns, ``RESOLVED``
  for passes and ``SUPPRESSED`` for results suppressed in the configuration
  (the reason is in ``ProductFields``). Security Hub keeps its users' own
  workflow changes over a provider's later imports.
* ASFF has no resource type for a pipeline, so the resource is ``Other`` with
  the pipeline ARN as its ``Id`` (the file location for offline inputs) and the
  stage, action, JSON pointer and file in ``Details.Other``.
* The account and region come from each result (the pipeline ARN). A result
  without them (CloudFormation, Terraform) takes ``account``/``region`` from the
  caller (``--asff-account``/``--asff-region``); when neither is known the
  renderer refuses with a usage error rather than invent one.
* Strings are made printable and cut to Security Hub's limits (Title 256,
  Description 1024, Remediation text 512, ``Other`` values 1024 characters).
  Nothing beyond the result's message and evidence is written, so secrets
  appear only in the masked form the rules put there.
* ``CreatedAt``/``UpdatedAt`` are the render time from an injected clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from pipewarden import __version__
from pipewarden._printable import printable
from pipewarden.engine import ScanResult
from pipewarden.errors import ConfigError
from pipewarden.model import Result, Severity, Status
from pipewarden.report._common import docs_url, result_sort_key, rule_text
from pipewarden.rules._api import Rule

__all__ = [
    "SCHEMA_VERSION",
    "AsffError",
    "finding_id",
    "findings",
    "product_arn",
    "render",
]

SCHEMA_VERSION: Final = "2018-10-08"
PRODUCT_NAME: Final = "PipeWarden"
FINDING_TYPE: Final = "Software and Configuration Checks/AWS Security Best Practices"
FSBP_TYPE: Final = (
    "Software and Configuration Checks/Industry and Regulatory Standards/"
    "AWS-Foundational-Security-Best-Practices"
)

_LABEL: Final = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
_COMPLIANCE: Final = {Status.FAIL: "FAILED", Status.UNKNOWN: "WARNING", Status.PASS: "PASSED"}

# Security Hub's documented field limits (characters).
_TITLE_MAX: Final = 256
_DESCRIPTION_MAX: Final = 1024
_RECOMMENDATION_MAX: Final = 512
_OTHER_VALUE_MAX: Final = 1023
_PRODUCT_FIELD_MAX: Final = 4096
_MAX_PRODUCT_FIELDS: Final = 50

_ACCOUNT_RE: Final = re.compile(r"^[0-9]{12}$")
_REGION_RE: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_ARN_RE: Final = re.compile(r"^arn:(aws[a-z-]*):codepipeline:([a-z0-9-]+):([0-9]{12}):")


class AsffError(ConfigError):
    """An ASFF finding cannot be built (its account or region is unknown)."""


def _clip(text: str, limit: int) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(when: dt.datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("the ASFF clock must return an aware datetime")
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def product_arn(account: str, region: str, partition: str = "aws") -> str:
    """The account's own Security Hub product (custom integrations use ``default``)."""
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(result: Result, account: str, region: str) -> str:
    """The stable ASFF ``Id`` of a result."""
    return f"pipewarden/{account}/{region}/{result.fingerprint}"


def _where(result: Result, account: str | None, region: str | None) -> tuple[str, str, str]:
    """(partition, account, region) of a result: its own, else the defaults given."""
    partition = "aws"
    res_account, res_region = result.account, result.region
    if result.pipeline_arn and (match := _ARN_RE.match(result.pipeline_arn)):
        partition = match.group(1)
        res_region = res_region or match.group(2)
        res_account = res_account or match.group(3)
    acct = res_account or account
    reg = res_region or region
    if not acct or not reg:
        missing = " and ".join(
            name for name, value in (("account", acct), ("region", reg)) if not value
        )
        raise AsffError(
            f"ASFF needs the AWS {missing} of pipeline `{printable(result.pipeline)}`, "
            "which its input does not say: pass --asff-account and --asff-region"
        )
    if not _ACCOUNT_RE.match(acct):
        raise AsffError(f"ASFF account `{printable(acct)}` is not a 12-digit account id")
    if not _REGION_RE.match(reg):
        raise AsffError(f"ASFF region `{printable(reg)}` is not an AWS region name")
    return partition, acct, reg


def _description(result: Result) -> str:
    if result.status is Status.PASS:
        lead = "Passed"
    elif result.status is Status.UNKNOWN:
        lead = "Not evaluated (evidence missing)"
    else:
        lead = "Failed"
    return f"{lead}: {result.message}"


def _resource(result: Result, partition: str, region: str) -> dict[str, Any]:
    loc = result.location
    details: dict[str, str] = {"PipelineName": result.pipeline, "Pointer": loc.pointer}
    if result.stage:
        details["Stage"] = result.stage
    if result.action:
        details["Action"] = result.action
    if loc.file is not None:
        details["File"] = loc.file
        if loc.line is not None:
            details["Line"] = str(loc.line)
    return {
        "Type": "Other",
        "Id": _clip(result.pipeline_arn or loc.subject, 512),
        "Partition": partition,
        "Region": region,
        "Details": {"Other": {k: _clip(v, _OTHER_VALUE_MAX) for k, v in details.items()}},
    }


def _remediation(rule: Rule | None, slug: str) -> dict[str, Any]:
    text = ""
    if rule is not None:
        parts = rule_text(rule)
        text = " ".join((parts.remediation or parts.summary).split())
    return {
        "Recommendation": {
            "Text": _clip(text or f"See the documentation of {slug}.", _RECOMMENDATION_MAX),
            "Url": docs_url(slug),
        }
    }


def _finding(
    result: Result,
    rule: Rule | None,
    *,
    account: str | None,
    region: str | None,
    timestamp: str,
) -> dict[str, Any]:
    partition, acct, reg = _where(result, account, region)
    status = result.status
    label = "INFORMATIONAL" if status is Status.PASS else _LABEL[result.severity]
    if result.suppressed is not None:
        workflow = "SUPPRESSED"
    elif status is Status.PASS:
        workflow = "RESOLVED"
    else:
        workflow = "NEW"
    types = [FINDING_TYPE]
    if rule is not None and rule.meta.fsbp:
        types.append(FSBP_TYPE)
    product_fields = {
        "pipewarden/RuleId": result.rule_id,
        "pipewarden/Slug": result.slug,
        "pipewarden/Status": str(result.status),
        "pipewarden/Pointer": result.location.pointer,
        "pipewarden/Location": result.location.logical,
        "pipewarden/Fingerprint": result.fingerprint,
        "pipewarden/Version": __version__,
    }
    if result.location.file is not None:
        product_fields["pipewarden/File"] = result.location.file
    if result.suppressed is not None:
        product_fields["pipewarden/SuppressionReason"] = result.suppressed
    # Evidence as the rules wrote it (secrets already masked); ProductFields holds 50 pairs.
    for key, value in sorted(result.evidence.items())[: _MAX_PRODUCT_FIELDS - len(product_fields)]:
        product_fields[f"pipewarden/Evidence/{_clip(str(key), 100)}"] = str(value)
    compliance: dict[str, Any] = {"Status": _COMPLIANCE[status]}
    if rule is not None:
        requirements = [f"OWASP {sec.code}" for sec in rule.meta.cicd_sec]
        requirements += [f"AWS FSBP {control}" for control in rule.meta.fsbp]
        if requirements:
            compliance["RelatedRequirements"] = requirements
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(result, acct, reg),
        "ProductArn": product_arn(acct, reg, partition),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "Region": reg,
        "GeneratorId": f"pipewarden/{result.rule_id}",
        "AwsAccountId": acct,
        "Types": types,
        "CreatedAt": timestamp,
        "UpdatedAt": timestamp,
        "Severity": {"Label": label, "Original": str(result.severity).upper()},
        "Title": _clip(f"{result.rule_id} {result.title}", _TITLE_MAX),
        "Description": _clip(_description(result), _DESCRIPTION_MAX),
        "Remediation": _remediation(rule, result.slug),
        "SourceUrl": docs_url(result.slug),
        "ProductFields": {k: _clip(v, _PRODUCT_FIELD_MAX) for k, v in product_fields.items()},
        "Resources": [_resource(result, partition, reg)],
        "Compliance": compliance,
        "RecordState": "ACTIVE",
        "Workflow": {"Status": workflow},
    }


def findings(
    scan: ScanResult,
    *,
    account: str | None = None,
    region: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    statuses: Sequence[Status] = (Status.FAIL, Status.UNKNOWN, Status.PASS),
) -> list[dict[str, Any]]:
    """Every result of ``scan`` with a status in ``statuses`` as an ASFF finding.

    ``account``/``region`` apply to results whose pipeline ARN does not say
    them; :class:`AsffError` when a result has neither.
    """
    timestamp = _timestamp((clock or _now)())
    rules = {rule.meta.id: rule for rule in scan.rules}
    wanted = set(statuses)
    ordered = sorted((r for r in scan.results if r.status in wanted), key=result_sort_key)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for result in ordered:
        finding = _finding(
            result, rules.get(result.rule_id), account=account, region=region, timestamp=timestamp
        )
        # Two results with one fingerprint (a rule reporting twice at one place) are one
        # Security Hub finding: keep the first, the most severe in report order.
        if finding["Id"] in seen:
            continue
        seen.add(finding["Id"])
        out.append(finding)
    return out


def render(
    scan: ScanResult,
    *,
    account: str | None = None,
    region: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> str:
    """The findings as an indented JSON array (``batch-import-findings`` input)."""
    document = findings(scan, account=account, region=region, clock=clock)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
