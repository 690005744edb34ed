"""Trust entities a pipeline relies on, and PW903 changes against approved states. Pure.

Entities: every CodeConnections connection (provider, host, owner account,
status), every external repository bound to a source action, every Custom and
ThirdParty action type (owner, provider, version, executor) and every Lambda
used by an action or a condition rule (qualifier, versions, aliases,
CodeSha256). A changed state or a new entity is PW903.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipewarden.drift.normalise import UNRESOLVED_KEY, declaration_hash
from pipewarden.engine import ScanResult
from pipewarden.model import Gap, Inventory, Location, Pipeline, Result, Status, Unresolved

__all__ = ["Entity", "TrustChange", "trust_changes", "trust_entities", "trust_result"]

_SOURCE_REPO_KEYS: Final = ("FullRepositoryId", "RepositoryName", "S3Bucket", "ImageRepository")


@dataclass(frozen=True, slots=True)
class Entity:
    """One trusted thing, its observable state and the pipelines using it."""

    kind: str  # connection, repository, action-type, lambda
    key: str
    state: dict[str, Any]
    pipelines: tuple[str, ...]

    @property
    def hash(self) -> str:
        return declaration_hash(self.state)


@dataclass(frozen=True, slots=True)
class TrustChange:
    """A new entity (``old`` None) or a changed one, with the fields that differ."""

    entity: Entity
    old: Mapping[str, Any] | None
    fields: tuple[str, ...]


def _text(value: Any) -> Any:
    return {UNRESOLVED_KEY: value.expr} if isinstance(value, Unresolved) else value


def trust_entities(inventories: Sequence[Inventory]) -> list[Entity]:
    """Every trust entity referenced by the pipelines of ``inventories``."""
    found: dict[tuple[str, str], tuple[dict[str, Any], list[str]]] = {}

    def add(kind: str, key: str, state: dict[str, Any], user: str) -> None:
        entry = found.setdefault((kind, key), (state, []))
        if user not in entry[1]:
            entry[1].append(user)

    for inventory in inventories:
        for pipeline in inventory.pipelines:
            inv = inventory.for_pipeline(pipeline)
            user = pipeline.arn or pipeline.display_name
            for action in pipeline.actions():
                conn = action.config("ConnectionArn")
                if isinstance(conn, str):
                    c = inv.connection(conn)
                    add("connection", conn, _connection_state(c), user)
                if action.category == "Source":
                    repo = _repository(action.provider, action.configuration)
                    if repo is not None:
                        add(
                            "repository",
                            repo,
                            {"provider": action.provider, "connection": _text(conn)},
                            user,
                        )
                if action.owner in ("ThirdParty", "Custom"):
                    key = (action.category, action.owner, action.provider, action.type_id.version)
                    t = inv.action_type(key)
                    state: dict[str, Any] = {
                        "owner": action.owner,
                        "provider": action.provider,
                        "version": key[3],
                    }
                    if not isinstance(t, Gap):
                        state["executor_type"] = t.executor_type
                        state["executor"] = t.executor
                    add("action-type", "/".join(key), state, user)
                if action.provider == "Lambda":
                    _lambda(add, inv, action.config("FunctionName"), user)
            for stage in pipeline.stages:
                for group in (stage.before_entry, stage.on_success, stage.on_failure):
                    for condition in group.conditions if group else ():
                        for rule in condition.rules:
                            if rule.provider == "LambdaInvoke":
                                _lambda(add, inv, rule.configuration.get("FunctionName"), user)
    return [Entity(k, key, s, tuple(users)) for (k, key), (s, users) in sorted(found.items())]


def _connection_state(conn: Any) -> dict[str, Any]:
    if isinstance(conn, Gap):
        return {"known": False}
    return {
        "provider": conn.provider_type,
        "host": conn.host_arn or conn.provider_endpoint,
        "owner_account": conn.owner_account,
        "status": conn.status,
    }


def _repository(provider: str, config: Mapping[str, Any]) -> str | None:
    for key in _SOURCE_REPO_KEYS:
        value = config.get(key)
        if isinstance(value, str):
            return f"{provider}:{value}"
    owner, repo = config.get("Owner"), config.get("Repo")
    if isinstance(owner, str) and isinstance(repo, str):
        return f"{provider}:{owner}/{repo}"
    return None


def _lambda(add: Any, inv: Inventory, name: Any, user: str) -> None:
    if not isinstance(name, str):
        return
    fn = inv.lambda_function(name)
    qualifier = name.split(":")[7] if name.startswith("arn:") and name.count(":") >= 7 else None
    if not name.startswith("arn:") and ":" in name:
        qualifier = name.split(":", 1)[1]
    state: dict[str, Any] = {"qualifier": qualifier}
    if isinstance(fn, Gap):
        state["known"] = False
    else:
        state["code_sha256"] = fn.code_sha256
        state["alias_target"] = fn.aliases.get(qualifier) if qualifier else None
    add("lambda", name, state, user)


def trust_changes(
    entities: Sequence[Entity], approved: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[TrustChange]:
    """Entities that are new or whose state differs from the approved one."""
    out = []
    for entity in entities:
        old = approved.get((entity.kind, entity.key))
        if old is None:
            out.append(TrustChange(entity, None, tuple(sorted(entity.state))))
        elif dict(old) != entity.state:
            fields = tuple(
                sorted(k for k in set(old) | set(entity.state) if old.get(k) != entity.state.get(k))
            )
            out.append(TrustChange(entity, old, fields))
    return out


def trust_result(pipelines: Sequence[Pipeline], changes: Sequence[TrustChange]) -> ScanResult:
    """PW903 results: one failure per change, reported on each pipeline using the entity."""
    import json

    from pipewarden.drift.results import META_903, _nothing
    from pipewarden.rules._api import Rule

    by_key = {p.arn or p.display_name: p for p in pipelines}
    meta = META_903
    results: list[Result] = []
    changed: set[str] = set()
    for change in changes:
        e = change.entity
        what = (
            "new, never approved" if change.old is None else f"changed: {', '.join(change.fields)}"
        )
        for user in e.pipelines:
            p = by_key.get(user)
            if p is None:
                continue
            changed.add(user)
            results.append(
                Result(
                    rule_id=meta.id, slug=meta.slug, title=meta.title, severity=meta.severity,
                    status=Status.FAIL, pipeline=p.display_name,
                    location=Location(p.arn or p.loc.subject, f"/trust/{e.kind}/{e.key}", p.source_file),
                    message=f"{e.kind} `{e.key}` {what}",
                    pipeline_arn=p.arn, account=p.account, region=p.region, pipeline_ref=str(p.loc),
                    evidence={
                        "kind": e.kind,
                        "key": e.key,
                        "old": json.dumps(change.old, sort_keys=True) if change.old is not None else "(absent)",
                        "new": json.dumps(e.state, sort_keys=True),
                    },
                )
            )  # fmt: skip
    for key, p in by_key.items():
        if key not in changed:
            results.append(
                Result(
                    rule_id=meta.id, slug=meta.slug, title=meta.title, severity=meta.severity,
                    status=Status.PASS, pipeline=p.display_name,
                    location=Location(p.arn or p.loc.subject, "", p.source_file),
                    message="every trusted entity is as approved",
                    pipeline_arn=p.arn, account=p.account, region=p.region, pipeline_ref=str(p.loc),
                )
            )  # fmt: skip
    return ScanResult(
        results=tuple(results), rules=(Rule(meta, _nothing),), pipelines=tuple(pipelines)
    )
