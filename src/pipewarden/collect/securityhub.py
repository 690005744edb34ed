"""Send ASFF findings to AWS Security Hub with ``BatchImportFindings``.

This is PipeWarden's only writing call, so it is not part of the read-only
scanner policy (:data:`PERMISSIONS` lists what it needs, separately).

* Findings go in batches of at most 100 (the API's limit), grouped by the
  account and region each finding names. Security Hub accepts a finding only
  from the account it belongs to: findings of the caller's own account are sent
  with the caller's credentials; those of other accounts are sent after
  assuming ``role_name`` in that account, or, without one, are reported failed
  (``AccountMismatch``) and not sent.
* The ``Id`` of a finding is stable (see :mod:`pipewarden.report.asff`), so a
  re-scan **updates** the findings it imported before instead of adding
  duplicates. With ``archive_stale`` (the default), active PipeWarden findings
  of the pipelines just imported that this scan no longer reports (a rule that
  now passes at another place, an action that was removed) are re-imported
  with ``RecordState: ARCHIVED``. Findings of pipelines not in this import are
  left alone, so a partial scan (one shard, one region) never archives another
  scan's findings.
* Failures never raise: a finding Security Hub rejects (``FailedFindings``)
  and a batch whose call failed are both returned in
  :attr:`ImportReport.failed` with the error code and message. Missing
  credentials raise :class:`~pipewarden.errors.CollectionError`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import boto3
import botocore.config
import botocore.exceptions

from pipewarden.errors import CollectionError

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "BATCH_SIZE",
    "PERMISSIONS",
    "FailedFinding",
    "ImportReport",
    "caller_defaults",
    "import_findings",
]

_log = logging.getLogger(__name__)

BATCH_SIZE: Final = 100
# What --to-security-hub needs, beyond the read-only scanner policy.
PERMISSIONS: Final = frozenset(
    {"securityhub:BatchImportFindings", "securityhub:GetFindings", "sts:GetCallerIdentity"}
)
_GENERATOR_PREFIX: Final = "pipewarden/"
_PRODUCT_RE: Final = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):securityhub:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
)
_RETRIES: Final = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra="pipewarden"
)


@dataclass(frozen=True, slots=True)
class FailedFinding:
    """A finding that was not imported, and why."""

    id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    imported: int = 0
    archived: int = 0
    batches: int = 0
    failed: tuple[FailedFinding, ...] = field(default_factory=tuple)
    archive_failed: tuple[FailedFinding, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        """Findings that were to be imported."""
        return self.imported + len(self.failed)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(when: dt.datetime) -> str:
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _session(profile: str | None, session: Any) -> Any:
    if session is not None:
        return session
    try:
        return boto3.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise CollectionError(f"AWS profile `{profile}` not found") from exc


def _error(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return str(err.get("Code", "ClientError")), str(err.get("Message", exc))
    return type(exc).__name__, str(exc)


def _credentials_error(exc: Exception) -> CollectionError:
    return CollectionError(
        f"cannot reach AWS Security Hub: {_error(exc)[1]} (configure credentials: a profile, "
        "environment variables or an instance role)"
    )


def caller_defaults(
    *, profile: str | None = None, session: Any = None, endpoint_url: str | None = None
) -> tuple[str, str | None]:
    """The caller's account id and the session's default region (may be None)."""
    sess = _session(profile, session)
    try:
        sts = sess.client("sts", endpoint_url=endpoint_url, config=_RETRIES)
        account = str(sts.get_caller_identity()["Account"])
    except (
        botocore.exceptions.NoCredentialsError,
        botocore.exceptions.PartialCredentialsError,
    ) as exc:
        raise _credentials_error(exc) from exc
    except botocore.exceptions.ClientError as exc:
        raise CollectionError(f"sts:GetCallerIdentity failed: {_error(exc)[1]}") from exc
    return account, sess.region_name


def _batches(items: Sequence[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _target(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    """(partition, account, region) a finding is imported into."""
    match = _PRODUCT_RE.match(str(finding.get("ProductArn", "")))
    account = str(finding.get("AwsAccountId", ""))
    if match is None:
        return "aws", account, str(finding.get("Region", ""))
    return match["partition"], account or match["account"], match["region"]


def _resource_ids(finding: Mapping[str, Any]) -> set[str]:
    return {str(r.get("Id")) for r in finding.get("Resources", ()) if isinstance(r, Mapping)}


@dataclass(slots=True)
class _Tally:
    imported: int = 0
    archived: int = 0
    batches: int = 0
    failed: list[FailedFinding] = field(default_factory=list)
    archive_failed: list[FailedFinding] = field(default_factory=list)


def _send(
    client: BaseClient, findings: Sequence[Mapping[str, Any]], tally: _Tally, *, archive: bool
) -> set[str]:
    """Import ``findings`` in batches; returns the ids that were accepted."""
    accepted: set[str] = set()
    failed = tally.archive_failed if archive else tally.failed
    for batch in _batches(findings, BATCH_SIZE):
        tally.batches += 1
        ids = [str(f.get("Id", "")) for f in batch]
        try:
            response = client.batch_import_findings(Findings=batch)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            # The whole batch failed (access denied, Security Hub not enabled, network).
            code, message = _error(exc)
            failed.extend(FailedFinding(i, code, message) for i in ids)
            continue
        rejected = {
            str(f.get("Id", "")): FailedFinding(
                str(f.get("Id", "")), str(f.get("ErrorCode", "")), str(f.get("ErrorMessage", ""))
            )
            for f in response.get("FailedFindings", ())
        }
        failed.extend(rejected.values())
        ok = [i for i in ids if i not in rejected]
        accepted.update(ok)
        if archive:
            tally.archived += len(ok)
        else:
            tally.imported += len(ok)
    return accepted


def _stale(
    client: BaseClient,
    *,
    product: str,
    account: str,
    current: set[str],
    pipelines: set[str],
    timestamp: str,
) -> list[dict[str, Any]]:
    """Active PipeWarden findings of ``pipelines`` that this import did not report."""
    filters = {
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": _GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    stale: list[dict[str, Any]] = []
    paginator = client.get_paginator("get_findings")
    for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
        for finding in page.get("Findings", ()):
            # The filters are applied again here: they decide what gets archived.
            if (
                finding.get("ProductArn") != product
                or finding.get("AwsAccountId") != account
                or not str(finding.get("GeneratorId", "")).startswith(_GENERATOR_PREFIX)
                or finding.get("RecordState", "ACTIVE") != "ACTIVE"
                or finding.get("Id") in current
                or not (_resource_ids(finding) & pipelines)
            ):
                continue
            archived = dict(finding)
            archived["RecordState"] = "ARCHIVED"
            archived["UpdatedAt"] = timestamp
            stale.append(archived)
    return stale


def _client_for(
    session: Any,
    *,
    caller: str,
    account: str,
    region: str,
    partition: str,
    role_name: str | None,
    external_id: str | None,
    endpoint_url: str | None,
) -> BaseClient:
    if account == caller:
        return session.client(
            "securityhub", region_name=region, endpoint_url=endpoint_url, config=_RETRIES
        )
    if role_name is None:
        raise _Mismatch(account)
    sts = session.client("sts", region_name=region, endpoint_url=endpoint_url, config=_RETRIES)
    params: dict[str, Any] = {
        "RoleArn": f"arn:{partition}:iam::{account}:role/{role_name}",
        "RoleSessionName": "pipewarden-securityhub",
    }
    if external_id:
        params["ExternalId"] = external_id
    creds = sts.assume_role(**params)["Credentials"]
    assumed = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return assumed.client(
        "securityhub", region_name=region, endpoint_url=endpoint_url, config=_RETRIES
    )


class _Mismatch(Exception):
    def __init__(self, account: str) -> None:
        super().__init__(account)
        self.account = account


def import_findings(
    findings: Iterable[Mapping[str, Any]],
    *,
    profile: str | None = None,
    session: Any = None,
    endpoint_url: str | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
    archive_stale: bool = True,
    clock: Callable[[], dt.datetime] | None = None,
) -> ImportReport:
    """Import ASFF ``findings`` into Security Hub; see the module documentation.

    ``session`` is a ``boto3.Session`` (default: one for ``profile``);
    ``role_name`` is assumed in accounts other than the caller's.
    """
    items = list(findings)
    if not items:
        return ImportReport()
    sess = _session(profile, session)
    caller, _region = caller_defaults(session=sess, endpoint_url=endpoint_url)
    timestamp = _timestamp((clock or _now)())
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for finding in items:
        groups.setdefault(_target(finding), []).append(finding)

    tally = _Tally()
    for (partition, account, region), group in sorted(groups.items()):
        ids = [str(f.get("Id", "")) for f in group]
        try:
            client = _client_for(
                sess,
                caller=caller,
                account=account,
                region=region,
                partition=partition,
                role_name=role_name,
                external_id=external_id,
                endpoint_url=endpoint_url,
            )
        except _Mismatch:
            message = (
                f"findings of account {account} can only be imported by that account; "
                f"the caller is {caller} (pass --security-hub-role to assume a role there)"
            )
            tally.failed.extend(FailedFinding(i, "AccountMismatch", message) for i in ids)
            continue
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            code, message = _error(exc)  # the role in that account could not be assumed
            tally.failed.extend(FailedFinding(i, code, message) for i in ids)
            continue
        accepted = _send(client, group, tally, archive=False)
        if not archive_stale or not accepted:
            continue
        product = str(group[0].get("ProductArn", ""))
        pipelines: set[str] = set()
        for finding in group:
            if finding.get("Id") in accepted:
                pipelines |= _resource_ids(finding)
        try:
            stale = _stale(
                client,
                product=product,
                account=account,
                current=set(ids),
                pipelines=pipelines,
                timestamp=timestamp,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            code, message = _error(exc)
            _log.debug("cannot list earlier findings to archive (%s: %s)", code, message)
            tally.archive_failed.append(FailedFinding("", code, f"GetFindings: {message}"))
            continue
        if stale:
            _send(client, stale, tally, archive=True)
    return ImportReport(
        imported=tally.imported,
        archived=tally.archived,
        batches=tally.batches,
        failed=tuple(tally.failed),
        archive_failed=tuple(tally.archive_failed),
    )
