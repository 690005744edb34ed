"""The collection: accounts, then regions, then the resources pipelines share.

1. Who the credentials are (``sts:GetCallerIdentity``), the first role
   (``--assume-role``), and the accounts: the caller's, ``--accounts``, or
   the organisation's (``--org``), cut to one ``--shard``.
2. Every account at once (at most ``max_workers``): assume ``role_name`` in
   it, list its enabled regions, read its IAM principals in one paginated
   call, and read every region at once (at most ``max_workers``): pipelines
   and their tags, then the projects, functions, secrets, log groups,
   repositories, action types and webhooks they reference.
3. Once for the whole scan, whatever number of pipelines and accounts share
   them: buckets, KMS keys, connections and AWS managed policies, each read
   with the first referencing account that may read it.

Single API calls run on one shared pool of ``4 * max_workers`` threads; the
account and region pools only wait on it, so no pool waits on itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

from pipewarden import __version__
from pipewarden.collect import Scope, in_shard
from pipewarden.collect import codebuild as codebuild_reader
from pipewarden.collect import codeconnections as connections_reader
from pipewarden.collect import codepipeline as pipeline_reader
from pipewarden.collect import ec2 as ec2_reader
from pipewarden.collect import ecr as ecr_reader
from pipewarden.collect import iam as iam_reader
from pipewarden.collect import kms as kms_reader
from pipewarden.collect import lambda_ as lambda_reader
from pipewarden.collect import logs as logs_reader
from pipewarden.collect import organizations as org_reader
from pipewarden.collect import s3 as s3_reader
from pipewarden.collect import secretsmanager as secrets_reader
from pipewarden.collect import sts as sts_reader
from pipewarden.collect import tagging as tagging_reader
from pipewarden.collect._aws import (
    Clients,
    Failure,
    Gaps,
    Reading,
    Unreadable,
)
from pipewarden.collect._refs import Refs, function_refs, pipeline_refs, project_refs
from pipewarden.errors import CollectionError, ConfigError

__all__ = ["Collector"]

_log = logging.getLogger(__name__)

_T = TypeVar("_T")
_U = TypeVar("_U")

_ACCOUNT: Final = re.compile(r"^[0-9]{12}$")
_REGION: Final = re.compile(r"^[a-z]{2,}(-[a-z]+)+-[0-9]+$")
_HOME_REGION: Final = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


@dataclass(slots=True)
class _Shared:
    """What an account refers to that is read once for the whole scan."""

    buckets: dict[str, str] = field(default_factory=dict)  # name -> region of a referrer
    keys: set[tuple[str, str]] = field(default_factory=set)  # (region, reference)
    connections: set[str] = field(default_factory=set)
    policies: set[str] = field(default_factory=set)  # AWS managed policy ARNs


@dataclass(slots=True)
class _Account:
    reading: Reading
    doc: dict[str, Any]
    shared: _Shared


def _validate(scope: Scope) -> None:
    for account in scope.accounts or ():
        if not _ACCOUNT.fullmatch(account):
            raise ConfigError(f"`{account[:40]}` is not an AWS account id (12 digits)")
    for region in scope.regions or ():
        if not _REGION.fullmatch(region):
            raise ConfigError(f"`{region[:40]}` is not an AWS region name")
    if scope.shard is not None:
        k, n = scope.shard
        if not (n >= 1 and 0 <= k < n):
            raise ConfigError(f"shard {k}/{n}: K must be 0 to N-1 and N at least 1")
    if scope.max_workers < 1 or scope.max_attempts < 1:
        raise ConfigError("max_workers and max_attempts must be at least 1")
    if not re.fullmatch(r"[\w+=,.@/-]{1,512}", scope.role_name):
        raise ConfigError(f"`{scope.role_name[:60]}` is not an IAM role name")


def _put(doc: dict[str, Any], path: Iterable[str], key: str, value: Any) -> None:
    node = doc
    for part in path:
        node = node.setdefault(part, {})
    node[key] = value


class Collector:
    """One collection (use once)."""

    def __init__(
        self,
        scope: Scope,
        *,
        session: Any = None,
        progress: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        _validate(scope)
        self.scope = scope
        self.session = session
        self.progress = progress
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.gaps = Gaps()
        self._leaf: ThreadPoolExecutor | None = None

    # -- helpers -----------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        if self._leaf is None:
            raise RuntimeError("the collection is not running")
        return self._leaf

    def _map(self, fn: Callable[[_T], _U], items: Iterable[_T]) -> list[_U]:
        """``fn`` over ``items`` on the shared pool of single calls, in order."""
        pool = self._pool()
        futures: list[Future[_U]] = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]

    def _session(self) -> Any:
        if self.session is not None:
            return self.session
        from pipewarden.collect import new_session

        return new_session(self.scope.profile)

    # -- the whole collection ---------------------------------------------

    def run(self) -> dict[str, Any]:
        """Collect; returns the snapshot document."""
        started = self.clock().astimezone(dt.UTC)
        session = self._session()
        workers = self.scope.max_workers
        clients = Clients(
            session,
            endpoint_url=self.scope.endpoint_url,
            max_attempts=self.scope.max_attempts,
            pool_size=workers * 4,
        )
        home = getattr(session, "region_name", None) or "us-east-1"
        base = Reading(clients, "", None, self.gaps, home_region=home)
        account_id, _arn, partition = sts_reader.caller_identity(base)
        home = getattr(session, "region_name", None) or _HOME_REGION.get(partition, "us-east-1")
        base = Reading(clients, account_id, None, self.gaps, partition, home)
        if self.scope.assume_role:
            base = self._first_hop(base, self.scope.assume_role)
        accounts = self._accounts(base)

        with ThreadPoolExecutor(workers * 4, thread_name_prefix="pw-call") as leaf:
            self._leaf = leaf
            with self._progress_bar(len(accounts)) as advance:

                def one(account: str) -> _Account | None:
                    try:
                        return self._account(base, account)
                    finally:
                        advance()

                with ThreadPoolExecutor(workers, thread_name_prefix="pw-account") as pool:
                    read = zip(accounts, pool.map(one, accounts), strict=True)
                    results = {a: result for a, result in read if result is not None}
            self._shared(results)
            self._leaf = None

        return {
            "format": "pipewarden-snapshot",
            "schema_version": "1",
            "tool_version": __version__,
            "collected_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "partition": partition,
            "accounts": [results[a].doc for a in sorted(results)],
            "gaps": self.gaps.sorted(),
        }

    def _progress_bar(self, total: int) -> AbstractContextManager[Callable[[], None]]:
        if not self.progress:
            return nullcontext(lambda: None)
        from contextlib import contextmanager

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        @contextmanager
        def bar() -> Any:
            columns = (TextColumn("collecting"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=Console(stderr=True), transient=True) as shown:
                task = shown.add_task("accounts", total=total)
                yield lambda: shown.advance(task)

        return bar()

    def _first_hop(self, base: Reading, role_arn: str) -> Reading:
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+", role_arn):
            raise ConfigError(f"`{role_arn[:100]}` is not an IAM role ARN")
        try:
            creds = sts_reader.assume_role(base, role_arn, external_id=self.scope.external_id)
        except Unreadable as failure:
            raise CollectionError(
                f"cannot assume role {role_arn}: {failure.code}"
                + (f" ({failure.message[:300]})" if failure.message else "")
            ) from failure
        account = role_arn.split(":")[4]
        return Reading(base.clients, account, creds, self.gaps, base.partition, base.home_region)

    def _accounts(self, base: Reading) -> list[str]:
        wanted = set(self.scope.accounts or ())
        if self.scope.org:
            found = org_reader.active_accounts(base)
            accounts = [a for a in found if not wanted or a in wanted]
        elif wanted:
            accounts = sorted(wanted)
        else:
            accounts = [base.account_id]
        return [a for a in sorted(set(accounts)) if in_shard(a, self.scope.shard)]

    # -- one account -------------------------------------------------------

    def _reading_for(self, base: Reading, account: str) -> Reading | None:
        if account == base.account_id:
            return base
        role_arn = f"arn:{base.partition}:iam::{account}:role/{self.scope.role_name}"
        try:
            creds = sts_reader.assume_role(base, role_arn, external_id=self.scope.external_id)
        except Unreadable as failure:
            self.gaps.add(
                account=account,
                region=None,
                service="sts",
                operation="AssumeRole",
                kind="account",
                resource=account,
                code=failure.code,
                message=failure.message or f"cannot assume {role_arn}",
            )
            return None
        return Reading(base.clients, account, creds, self.gaps, base.partition, base.home_region)

    def _regions(self, reading: Reading) -> list[str]:
        if self.scope.regions:
            return sorted(set(self.scope.regions))
        if self.scope.endpoint_url:
            return [reading.home_region]
        found = ec2_reader.enabled_regions(reading, reading.home_region)
        return found if found else [reading.home_region]

    def _account(self, base: Reading, account: str) -> _Account | None:
        reading = self._reading_for(base, account)
        if reading is None:
            return None
        regions = self._regions(reading)
        details_future = self._pool().submit(iam_reader.authorization_details, reading)
        with ThreadPoolExecutor(
            min(len(regions), self.scope.max_workers), thread_name_prefix="pw-region"
        ) as pool:
            region_results = list(pool.map(lambda r: self._region(reading, r), regions))
        details = details_future.result()

        shared = _Shared()
        roles: set[str] = set()
        doc: dict[str, Any] = {"account_id": account, "global": {}, "regions": {}}
        for region, (region_doc, refs) in zip(regions, region_results, strict=True):
            if region_doc is not None:
                doc["regions"][region] = region_doc
            roles |= refs.roles
            for bucket in sorted(refs.buckets):
                shared.buckets.setdefault(bucket, region)
            shared.keys |= refs.keys
            shared.connections |= refs.connections
        doc["global"]["iam"] = self._iam(reading, details, roles, shared)
        return _Account(reading, doc, shared)

    def _iam(
        self,
        reading: Reading,
        details: iam_reader.AuthorizationDetails | None,
        roles: set[str],
        shared: _Shared,
    ) -> dict[str, Any]:
        if details is not None:
            iam: dict[str, Any] = {"principals_complete": True, **details}
        else:
            # The account-wide read was refused: the roles pipelines use, one by one.
            mine = sorted(r for r in roles if r.split(":")[4] == reading.account_id)
            read = self._map(lambda arn: (arn, iam_reader.read_role(reading, arn)), mine)
            iam = {
                "principals_complete": False,
                "roles": {arn: entry for arn, entry in read if entry is not None},
                "policies": {},
            }
        attached = sorted(
            {
                arn
                for kind in ("roles", "users", "groups")
                for entry in iam.get(kind, {}).values()
                for arn in iam_reader.attached_policy_arns(entry)
            }
        )
        policies = iam["policies"]
        own = [a for a in attached if a not in policies and a.split(":")[4] == reading.account_id]
        for arn, entry in self._map(lambda a: (a, iam_reader.read_policy(reading, a)), own):
            if entry is not None:
                policies[arn] = entry
        shared.policies |= {a for a in attached if a.split(":")[4] == "aws"}
        return iam

    # -- one region ----------------------------------------------------------

    def _region(self, reading: Reading, region: str) -> tuple[dict[str, Any] | None, Refs]:
        refs = Refs()
        try:
            names = pipeline_reader.list_pipeline_names(reading, region)
        except Unreadable as failure:
            region_level = failure.failure in {Failure.REGION, Failure.UNAVAILABLE}
            reading.record(
                failure,
                service="codepipeline",
                region=region,
                operation="ListPipelines",
                kind="region" if region_level else "pipeline",
                resource=region if region_level else None,
            )
            return None, refs
        doc: dict[str, Any] = {}
        pipelines: dict[str, dict[str, Any]] = {}
        for found in self._map(lambda n: pipeline_reader.read_pipeline(reading, region, n), names):
            if found is not None:
                arn, entry = found
                pipelines[arn] = entry
                refs.update(
                    pipeline_refs(
                        entry["GetPipeline"]["pipeline"], account=reading.account_id, region=region
                    )
                )
        doc["codepipeline"] = {"pipelines": pipelines}
        if not pipelines:
            return doc, refs
        self._tags(reading, region, pipelines)

        secret_keys = self._action_types(reading, region, refs, doc)
        for entry in pipelines.values():
            pipeline_reader.mask_declaration(entry["GetPipeline"], secret_keys)
        if refs.webhooks:
            hooks = pipeline_reader.webhooks(reading, region)
            if hooks:
                doc["codepipeline"]["webhooks"] = hooks

        if refs.projects:
            projects = codebuild_reader.read_projects(reading, region, sorted(refs.projects))
            if projects:
                _put(doc, ("codebuild",), "projects", projects)
            for entry in projects.values():
                refs.update(project_refs(entry["BatchGetProjects"]))
        if refs.functions:
            functions: dict[str, dict[str, Any]] = {}
            for name, function in self._map(
                lambda n: (n, lambda_reader.read_function(reading, region, n)),
                sorted(refs.functions),
            ):
                if function is not None:
                    functions[name] = function
                    refs.update(function_refs(function["GetFunction"]))
            if functions:
                _put(doc, ("lambda",), "functions", functions)
        self._secrets(reading, region, refs, doc)
        if refs.log_groups:
            groups = logs_reader.read_log_groups(reading, region, sorted(refs.log_groups))
            logs: dict[str, Any] = {}
            if groups:
                logs["log_groups"] = groups
            account_policies = logs_reader.account_policies(reading, region)
            if account_policies is not None:
                logs["DescribeAccountPolicies"] = account_policies
            if logs:
                doc["logs"] = logs
        if refs.repositories:
            repos = ecr_reader.read_repositories(reading, region, sorted(refs.repositories))
            ecr: dict[str, Any] = {}
            if repos:
                ecr["repositories"] = repos
            scanning = ecr_reader.registry_scanning(reading, region)
            if scanning is not None:
                ecr["GetRegistryScanningConfiguration"] = scanning
            if ecr:
                doc["ecr"] = ecr
        return doc, refs

    def _tags(self, reading: Reading, region: str, pipelines: dict[str, dict[str, Any]]) -> None:
        """Tags of every pipeline: one tagging API call for the region, or, when that is
        refused, one ListTagsForResource call per pipeline."""
        try:
            tagged = tagging_reader.pipeline_tags(reading, region)
        except Unreadable as failure:
            if failure.failure is not Failure.DENIED:
                reading.record(
                    failure,
                    service="resourcegroupstaggingapi",
                    region=region,
                    operation="GetResources",
                    kind="pipeline",
                    resource=None,
                )
                return
            arns = sorted(pipelines)
            for arn, tags in zip(
                arns,
                self._map(lambda a: pipeline_reader.read_tags(reading, region, a), arns),
                strict=True,
            ):
                if tags is not None:
                    pipelines[arn]["ListTagsForResource"] = tags
            return
        for arn, element in tagged.items():
            if arn in pipelines:
                pipelines[arn]["GetResources"] = element

    def _action_types(
        self, reading: Reading, region: str, refs: Refs, doc: dict[str, Any]
    ) -> dict[tuple[str, ...], frozenset[str]]:
        """Custom and third-party action types the pipelines use; their secret keys."""
        secret_keys: dict[tuple[str, ...], frozenset[str]] = {}
        stored: dict[str, Any] = {}
        for owner in sorted({t[1] for t in refs.action_types}):
            listed = pipeline_reader.action_types(reading, region, owner)
            for element in listed or []:
                tid = element.get("id") or {}
                key = tuple(
                    str(tid.get(k, "")) for k in ("category", "owner", "provider", "version")
                )
                if key not in refs.action_types:
                    continue
                stored["/".join(key)] = {"ListActionTypes": element}
                secret_keys[key] = frozenset(
                    str(p.get("name"))
                    for p in element.get("actionConfigurationProperties") or []
                    if isinstance(p, Mapping) and p.get("secret") and p.get("name")
                )
        if stored:
            doc["codepipeline"]["action_types"] = stored
        return secret_keys

    def _secrets(self, reading: Reading, region: str, refs: Refs, doc: dict[str, Any]) -> None:
        def read(ref: str) -> tuple[str, dict[str, Any]] | None:
            # A secret named by ARN is read in its own region (and filed with its user).
            parts = ref.split(":")
            where = parts[3] if ref.startswith("arn:") and len(parts) > 3 and parts[3] else region
            return secrets_reader.read_secret(reading, where, ref)

        secrets: dict[str, Any] = {}
        for found in self._map(read, sorted(refs.secrets)):
            if found is not None:
                secrets[found[0]] = found[1]
        if secrets:
            _put(doc, ("secretsmanager",), "secrets", secrets)

    # -- shared resources ----------------------------------------------------

    def _first_readable(
        self,
        results: Mapping[str, _Account],
        referrers: list[str],
        read: Callable[[Reading], _T | None],
    ) -> tuple[str, _T] | None:
        """Read with each referring account in turn until one can; only the last
        attempt's gaps are kept when none can."""
        last = Gaps()
        for account in referrers:
            attempt = Gaps()
            found = read(results[account].reading.with_gaps(attempt))
            if found is not None:
                self.gaps.extend(attempt)
                return account, found
            last = attempt
        self.gaps.extend(last)
        return None

    def _shared(self, results: dict[str, _Account]) -> None:
        """Buckets, connections, keys and AWS managed policies: each read once, with the
        accounts that refer to it in turn (the owner first, when known and in scope)."""
        lock = threading.Lock()

        def file(account: str, path: tuple[str, ...], key: str, value: Any) -> None:
            with lock:
                _put(results[account].doc, path, key, value)

        def ordered(referrers: Iterable[str], owner: str | None) -> list[str]:
            found = sorted(set(referrers))
            if owner in found:
                found.remove(owner)
                found.insert(0, owner)
            return found

        jobs: list[Callable[[], None]] = []
        by_account = sorted(results.items())

        buckets: dict[str, tuple[str, list[str]]] = {}
        for account, result in by_account:
            for name, region in sorted(result.shared.buckets.items()):
                buckets.setdefault(name, (region, []))[1].append(account)
        for name, (region, who) in sorted(buckets.items()):
            jobs.append(partial(self._bucket, results, file, name, region, ordered(who, None)))

        connections: dict[str, list[str]] = {}
        for account, result in by_account:
            for arn in result.shared.connections:
                connections.setdefault(arn, []).append(account)
        for arn, who in sorted(connections.items()):
            owner = arn.split(":")[4]
            jobs.append(partial(self._connection, results, file, arn, ordered(who, owner)))

        keys: dict[tuple[str, str, str], list[str]] = {}
        for account, result in by_account:
            for region, ref in result.shared.keys:
                parts = ref.split(":")
                if ref.startswith("arn:") and len(parts) > 4:
                    # A key ARN names one key everywhere: read it once, in its own region.
                    keys.setdefault(("", parts[3] or region, ref), []).append(account)
                else:
                    keys.setdefault((account, region, ref), []).append(account)
        for (_, region, ref), who in sorted(keys.items()):
            key_owner = ref.split(":")[4] if ref.startswith("arn:") else None
            jobs.append(partial(self._key, results, file, region, ref, ordered(who, key_owner)))

        policies: dict[str, list[str]] = {}
        for account, result in by_account:
            for arn in result.shared.policies:
                policies.setdefault(arn, []).append(account)
        for arn, who in sorted(policies.items()):
            jobs.append(partial(self._policy, results, file, arn, ordered(who, None)))

        self._map(_call, jobs)

    def _bucket(
        self,
        results: Mapping[str, _Account],
        file: _File,
        name: str,
        region: str,
        who: list[str],
    ) -> None:
        found = self._first_readable(results, who, partial(_read_bucket, name=name, region=region))
        if found is not None:
            file(found[0], ("global", "s3", "buckets"), name, found[1])

    def _connection(
        self, results: Mapping[str, _Account], file: _File, arn: str, who: list[str]
    ) -> None:
        found = self._first_readable(results, who, partial(_read_connection, arn=arn))
        if found is not None:
            path = ("regions", arn.split(":")[3], "codeconnections", "connections")
            file(found[0], path, arn, found[1])

    def _key(
        self,
        results: Mapping[str, _Account],
        file: _File,
        region: str,
        ref: str,
        who: list[str],
    ) -> None:
        found = self._first_readable(results, who, partial(_read_key, region=region, ref=ref))
        if found is not None:
            account, (arn, entry) = found
            file(account, ("regions", region, "kms", "keys"), arn, entry)

    def _policy(
        self, results: Mapping[str, _Account], file: _File, arn: str, who: list[str]
    ) -> None:
        found = self._first_readable(results, who, partial(_read_policy, arn=arn))
        if found is not None:
            file(found[0], ("global", "iam", "policies"), arn, found[1])


_File = Callable[[str, tuple[str, ...], str, Any], None]


def _call(job: Callable[[], None]) -> None:
    job()


def _read_bucket(reading: Reading, *, name: str, region: str) -> dict[str, Any] | None:
    return s3_reader.read_bucket(reading, name, region)


def _read_connection(reading: Reading, *, arn: str) -> dict[str, Any] | None:
    return connections_reader.read_connection(reading, arn)


def _read_key(reading: Reading, *, region: str, ref: str) -> tuple[str, dict[str, Any]] | None:
    return kms_reader.read_key(reading, region, ref)


def _read_policy(reading: Reading, *, arn: str) -> dict[str, Any] | None:
    return iam_reader.read_policy(reading, arn)
