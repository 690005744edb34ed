"""Pipeline declarations in any key style (API, CloudFormation, Terraform) -> model.

Parsers for each input kind first resolve what they can (CloudFormation
intrinsics, Terraform references) into plain data whose leaves are strings,
numbers, booleans or :class:`~pipewarden.model.Unresolved`, then hand the
declaration here with its :class:`~pipewarden.model.KeyStyle`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pipewarden.errors import ParseError
from pipewarden.model import (
    Action,
    ActionTypeId,
    ArtifactStore,
    Condition,
    ConditionRule,
    EnvVar,
    GitFilter,
    InlineSuppression,
    KeyStyle,
    Loc,
    Pipeline,
    Stage,
    StageConditions,
    Trigger,
    Unresolved,
    Value,
)
from pipewarden.model.location import _style_key

__all__ = ["parse_declaration", "to_value"]


def to_value(raw: Any) -> Value | None:
    """A scalar from a declaration as a model Value (str or Unresolved)."""
    if raw is None:
        return None
    if isinstance(raw, Unresolved | str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    if _has_unresolved(raw):
        return Unresolved(json.dumps(raw, default=str)[:200], _first_reason(raw))
    return json.dumps(raw, separators=(",", ":"))


def _has_unresolved(raw: Any) -> bool:
    if isinstance(raw, Unresolved):
        return True
    if isinstance(raw, Mapping):
        return any(_has_unresolved(v) for v in raw.values())
    if isinstance(raw, list):
        return any(_has_unresolved(v) for v in raw)
    return False


def _first_reason(raw: Any) -> str:
    if isinstance(raw, Unresolved):
        return raw.reason
    items = raw.values() if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    for item in items:
        if _has_unresolved(item):
            return _first_reason(item)
    return "unresolved"


_DICT_OR_MAPPING: Final = dict | Mapping


class _Reader:
    """Reads a declaration written in one key style."""

    def __init__(self, style: KeyStyle, source: str) -> None:
        self.style = style
        self.source = source
        # Each API key as this source spells it, worked out on first use.
        self._keys: dict[str, str] = {}

    def key(self, api_key: str) -> str:
        if self.style is KeyStyle.API:
            return api_key
        spelt = self._keys.get(api_key)
        if spelt is None:
            mapped = _style_key(self.style, api_key)
            spelt = self._keys[api_key] = mapped if mapped is not None else api_key
        return spelt

    def get(self, node: Any, api_key: str) -> Any:
        # Parsed documents are dicts: testing for dict first skips the slower Mapping ABC check.
        if not isinstance(node, _DICT_OR_MAPPING):
            return None
        return node.get(self.key(api_key))

    def nested(self, node: Any, api_key: str) -> Any:
        """A nested object; Terraform stores single blocks as one-element lists."""
        value = self.get(node, api_key)
        if self.style is KeyStyle.TERRAFORM and isinstance(value, list):
            return value[0] if value else None
        return value

    def block(self, node: Any, api_key: str, loc: Loc) -> tuple[Any, Loc]:
        """A nested object (see :meth:`nested`) with its location."""
        value = self.get(node, api_key)
        child = loc / api_key
        if self.style is KeyStyle.TERRAFORM and isinstance(value, list):
            if not value:
                return None, child
            return value[0], child / 0
        return value, child

    def items(self, node: Any, api_key: str, loc: Loc) -> list[tuple[Any, Loc]]:
        value = self.get(node, api_key)
        if value is None:
            return []
        child = loc / api_key
        if not isinstance(value, list):
            raise ParseError(
                self.source, f"`{self.key(api_key)}` must be a list", pointer=child.pointer
            )
        return [(item, child / i) for i, item in enumerate(value)]

    def text(self, node: Any, api_key: str) -> Value | None:
        return to_value(self.get(node, api_key))

    def name_of(self, node: Any, what: str, loc: Loc) -> str:
        raw = self.get(node, "name")
        if isinstance(raw, Unresolved):
            return raw.expr
        if not isinstance(raw, str) or not raw:
            raise ParseError(self.source, f"{what} has no name", pointer=loc.pointer)
        return raw

    def strings(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raw = [raw]
        return tuple(str(to_value(x)) for x in raw if x is not None)

    def configuration(self, node: Any) -> dict[str, Value]:
        raw = self.get(node, "configuration")
        if raw is None:
            return {}
        if isinstance(raw, Unresolved):
            return {"*": raw}
        if not isinstance(raw, Mapping):
            raise ParseError(self.source, "`configuration` must be an object")
        out: dict[str, Value] = {}
        for k, v in raw.items():
            value = to_value(v)
            if value is not None:
                out[str(k)] = value
        return out

    def artifacts(self, node: Any, api_key: str) -> tuple[str, ...]:
        raw = self.get(node, api_key)
        if not isinstance(raw, list):
            return ()
        names: list[str] = []
        for item in raw:
            if isinstance(item, Mapping):
                value = to_value(self.get(item, "name"))
                if value is not None:
                    names.append(str(value))
            elif item is not None:
                names.append(str(to_value(item)))
        return tuple(names)

    def env_vars(self, node: Any, loc: Loc) -> tuple[EnvVar, ...]:
        out = []
        for item, item_loc in self.items(node, "environmentVariables", loc):
            if not isinstance(item, Mapping):
                continue
            name = to_value(self.get(item, "name"))
            value = to_value(self.get(item, "value"))
            kind = to_value(self.get(item, "type")) or "PLAINTEXT"
            out.append(
                EnvVar(str(name or ""), value if value is not None else "", str(kind), item_loc)
            )
        return tuple(out)

    def type_id(self, node: Any, loc: Loc, api_key: str = "actionTypeId") -> ActionTypeId:
        if self.style is KeyStyle.TERRAFORM and api_key == "actionTypeId":
            holder = node
        else:
            holder = self.nested(node, api_key)
        if not isinstance(holder, Mapping):
            raise ParseError(self.source, f"`{self.key(api_key)}` is missing", pointer=loc.pointer)

        def part(key: str, default: str = "") -> str:
            value = to_value(self.get(holder, key))
            return str(value) if value is not None else default

        return ActionTypeId(
            part("category"), part("owner", "AWS"), part("provider"), part("version", "1")
        )

    def run_order(self, node: Any) -> int:
        raw = self.get(node, "runOrder")
        if raw is None or isinstance(raw, Unresolved):
            return 1
        try:
            return int(str(raw))
        except ValueError:
            return 1

    def conditions(self, node: Any, api_key: str, loc: Loc) -> StageConditions | None:
        if self.nested(node, api_key) is None:  # most stages have no conditions
            return None
        body, body_loc = self.block(node, api_key, loc)
        if not isinstance(body, Mapping):
            raise ParseError(
                self.source, f"`{self.key(api_key)}` must be an object", pointer=body_loc.pointer
            )
        conds: list[Condition] = []
        for cond, cond_loc in self.items(body, "conditions", body_loc):
            rules: list[ConditionRule] = []
            for rule, rule_loc in self.items(cond, "rules", cond_loc):
                type_holder = self.nested(rule, "ruleTypeId")
                provider = to_value(self.get(type_holder, "provider")) or ""
                owner = to_value(self.get(type_holder, "owner")) or "AWS"
                version = to_value(self.get(type_holder, "version")) or "1"
                rules.append(
                    ConditionRule(
                        name=self.name_of(rule, "rule", rule_loc),
                        provider=str(provider),
                        owner=str(owner),
                        version=str(version),
                        configuration=self.configuration(rule),
                        loc=rule_loc,
                        commands=self.strings(self.get(rule, "commands")),
                        input_artifacts=self.artifacts(rule, "inputArtifacts"),
                        role_arn=self.text(rule, "roleArn"),
                        region=self.text(rule, "region"),
                    )
                )
            conds.append(Condition(self.text(cond, "result"), tuple(rules), cond_loc))
        return StageConditions(tuple(conds), body_loc, self.text(body, "result"))

    def filters(self, node: Any, api_key: str, loc: Loc) -> tuple[GitFilter, ...]:
        out = []
        for item, item_loc in self.items(node, api_key, loc):

            def inc_exc(key: str, item: Any = item) -> tuple[tuple[str, ...], tuple[str, ...]]:
                body = self.nested(item, key)
                return (
                    self.strings(self.get(body, "includes") if body is not None else None),
                    self.strings(self.get(body, "excludes") if body is not None else None),
                )

            b_in, b_ex = inc_exc("branches")
            t_in, t_ex = inc_exc("tags")
            f_in, f_ex = inc_exc("filePaths")
            out.append(
                GitFilter(
                    kind=api_key,
                    loc=item_loc,
                    branches_include=b_in,
                    branches_exclude=b_ex,
                    tags_include=t_in,
                    tags_exclude=t_ex,
                    file_paths_include=f_in,
                    file_paths_exclude=f_ex,
                    events=self.strings(self.get(item, "events")),
                )
            )
        return tuple(out)

    def stores(self, decl: Any, loc: Loc) -> tuple[ArtifactStore, ...]:
        def one(body: Any, body_loc: Loc, region: str | None) -> ArtifactStore:
            key_body = self.nested(body, "encryptionKey")
            location = self.text(body, "location")
            return ArtifactStore(
                location=location if location is not None else Unresolved("location", "no bucket"),
                loc=body_loc,
                region=region,
                encryption_key=self.text(key_body, "id") if key_body is not None else None,
            )

        single = self.get(decl, "artifactStore")
        if self.style is KeyStyle.TERRAFORM:
            out = []
            for body, body_loc in self.items(decl, "artifactStore", loc):
                region = to_value(self.get(body, "region"))
                out.append(one(body, body_loc, str(region) if region else None))
            return tuple(out)
        if single is not None:
            return (one(single, loc / "artifactStore", None),)
        many = self.get(decl, "artifactStores")
        if self.style is KeyStyle.CLOUDFORMATION and isinstance(many, list):
            out = []
            for i, entry in enumerate(many):
                entry_loc = loc / "artifactStores" / i
                body = self.get(entry, "artifactStore")
                region = to_value(self.get(entry, "region"))
                out.append(one(body, entry_loc / "artifactStore", str(region) if region else None))
            return tuple(out)
        if isinstance(many, Mapping):
            return tuple(
                one(body, (loc / "artifactStores").raw(region), str(region))
                for region, body in many.items()
            )
        return ()

    def tags(self, decl: Any) -> dict[str, str]:
        raw = self.get(decl, "tags")
        if isinstance(raw, Mapping):
            return {str(k): str(to_value(v)) for k, v in raw.items()}
        if isinstance(raw, list):
            out = {}
            for item in raw:
                if isinstance(item, Mapping):
                    k = item.get("Key", item.get("key"))
                    v = item.get("Value", item.get("value"))
                    if k is not None:
                        out[str(to_value(k))] = str(to_value(v))
            return out
        return {}


def parse_declaration(
    decl: Any,
    *,
    loc: Loc,
    source: str,
    arn: str | None = None,
    account: str | None = None,
    region: str | None = None,
    fallback_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    suppressions: tuple[InlineSuppression, ...] = (),
    source_file: str | None = None,
) -> Pipeline:
    """Parse one pipeline declaration whose keys follow ``loc.style``."""
    reader = _Reader(loc.style, source)
    if not isinstance(decl, Mapping):
        raise ParseError(source, "pipeline declaration must be an object", pointer=loc.pointer)
    raw_name = reader.get(decl, "name")
    name: Value
    if raw_name is None and fallback_name is not None:
        name = fallback_name
    elif isinstance(raw_name, Unresolved) or (isinstance(raw_name, str) and raw_name):
        name = raw_name
    else:
        raise ParseError(source, "pipeline has no name", pointer=loc.pointer)

    stages: list[Stage] = []
    for s_index, (stage, stage_loc) in enumerate(reader.items(decl, "stages", loc)):
        stage_name = reader.name_of(stage, "stage", stage_loc)
        actions: list[Action] = []
        for a_index, (act, act_loc) in enumerate(reader.items(stage, "actions", stage_loc)):
            actions.append(
                Action(
                    name=reader.name_of(act, "action", act_loc),
                    stage_index=s_index,
                    stage_name=stage_name,
                    index=a_index,
                    type_id=reader.type_id(act, act_loc),
                    run_order=reader.run_order(act),
                    configuration=reader.configuration(act),
                    loc=act_loc,
                    commands=reader.strings(reader.get(act, "commands")),
                    input_artifacts=reader.artifacts(act, "inputArtifacts"),
                    output_artifacts=reader.artifacts(act, "outputArtifacts"),
                    role_arn=reader.text(act, "roleArn"),
                    region=reader.text(act, "region"),
                    namespace=str(reader.text(act, "namespace") or "") or None,
                    environment_variables=reader.env_vars(act, act_loc),
                )
            )
        stages.append(
            Stage(
                name=stage_name,
                index=s_index,
                actions=tuple(actions),
                loc=stage_loc,
                before_entry=reader.conditions(stage, "beforeEntry", stage_loc),
                on_success=reader.conditions(stage, "onSuccess", stage_loc),
                on_failure=reader.conditions(stage, "onFailure", stage_loc),
            )
        )

    triggers: list[Trigger] = []
    for trig, trig_loc in reader.items(decl, "triggers", loc):
        git, git_loc = reader.block(trig, "gitConfiguration", trig_loc)
        triggers.append(
            Trigger(
                provider_type=str(reader.text(trig, "providerType") or ""),
                source_action_name=str(reader.text(git, "sourceActionName") or ""),
                loc=trig_loc,
                push=reader.filters(git, "push", git_loc),
                pull_request=reader.filters(git, "pullRequest", git_loc),
            )
        )

    ptype = reader.text(decl, "pipelineType")
    mode = reader.text(decl, "executionMode")
    merged_tags = dict(tags or {})
    merged_tags.update(reader.tags(decl) if loc.style is not KeyStyle.API else {})
    return Pipeline(
        name=name,
        loc=loc,
        stages=tuple(stages),
        role_arn=reader.text(decl, "roleArn"),
        arn=arn,
        account=account,
        region=region,
        pipeline_type=ptype,
        execution_mode=mode,
        artifact_stores=reader.stores(decl, loc),
        triggers=tuple(triggers),
        tags=merged_tags,
        declaration=decl,
        source_file=source_file,
        suppressions=suppressions,
    )
