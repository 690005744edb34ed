"""``terraform show -json`` of a plan (or of state) -> Catalog.

Values unknown until apply are absent from ``planned_values`` and flagged in
``resource_changes[].change.after_unknown``; each becomes an
:class:`~pipewarden.model.Unresolved` leaf. When the configuration shows that
such a value is a reference to another resource's identity
(``aws_iam_role.pipeline.arn``), the leaf is replaced by that identity, so
the pipeline's ``role_arn`` finds the role it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pipewarden.model import KeyStyle, Loc, Unresolved
from pipewarden.parse._terraform_catalog import (
    AFTER_APPLY,
    DEFAULT_ACCOUNT,
    Catalog,
    ProviderInfo,
    TfResource,
    arn_account,
    known_str,
    parse_traversal,
    step_into,
    type_hints,
)

__all__ = ["PlanCatalog", "is_plan"]

_MODULE_STEP: Final = re.compile(r"module\.([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?")
_INSTANCE_KEY: Final = re.compile(r"\[([^\]]*)\]$")
# Only a scalar that names one resource is linked to a reference: an ARN, a
# name, an id, a bucket, a role (never a policy document or a list of ARNs).
_LINKABLE_KEY: Final = re.compile(r"(arn|name|id|location|bucket|role|key)$", re.IGNORECASE)
_MAX_HOPS: Final = 12
# Optional attributes of pipeline actions and rules that a plan shows as unknown
# when the configuration leaves them unset.
_COMPUTED_DEFAULTS: Final = frozenset({"region", "run_order", "namespace", "timeout_in_minutes"})
_CREDENTIAL_KEYS: Final = (
    "assume_role",
    "assume_role_with_web_identity",
    "profile",
    "access_key",
    "shared_config_files",
    "shared_credentials_files",
    "allowed_account_ids",
)


def is_plan(doc: Any) -> bool:
    """Whether a decoded JSON document is ``terraform show -json`` output."""
    if not isinstance(doc, Mapping) or "format_version" not in doc:
        return False
    planned = doc.get("planned_values")
    if isinstance(planned, Mapping) and (
        "root_module" in planned or "resource_changes" in doc or "configuration" in doc
    ):
        return True
    values = doc.get("values")
    return isinstance(values, Mapping) and isinstance(values.get("root_module"), Mapping)


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for token in path:
        out += f"[{token}]" if isinstance(token, int) else (f".{token}" if out else token)
    return out


def _has_true(node: Any) -> bool:
    if node is True:
        return True
    if isinstance(node, Mapping):
        return any(_has_true(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_true(v) for v in node)
    return False


def _overlay(
    value: Any,
    unknown: Any,
    path: tuple[str | int, ...],
    address: str,
    found: list[tuple[str | int, ...]],
) -> Any:
    """``value`` with every leaf flagged in ``unknown`` replaced by Unresolved."""
    if unknown is True:
        found.append(path)
        return Unresolved(f"{address}.{_dotted(path)}", AFTER_APPLY)
    if not _has_true(unknown):
        return value
    if isinstance(unknown, Mapping):
        base = dict(value) if isinstance(value, Mapping) else {}
        for key, sub in unknown.items():
            base[key] = _overlay(base.get(key), sub, (*path, str(key)), address, found)
        return base
    if isinstance(unknown, list):
        items = list(value) if isinstance(value, list) else []
        for i, sub in enumerate(unknown):
            while len(items) <= i:
                items.append(None)
            items[i] = _overlay(items[i], sub, (*path, i), address, found)
        return items
    return value


def _replace_at(values: Any, path: tuple[str | int, ...], new: Any) -> None:
    node = values
    for token in path[:-1]:
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                return
            node = node[token]
        else:
            if not isinstance(node, dict) or token not in node:
                return
            node = node[token]
    last = path[-1]
    if isinstance(last, int):
        if isinstance(node, list) and last < len(node):
            node[last] = new
    elif isinstance(node, dict):
        node[last] = new


def _is_expression(node: Any) -> bool:
    return isinstance(node, Mapping) and (
        "references" in node or "constant_value" in node or not node
    )


def _module_path(address: Any) -> tuple[tuple[str, ...], str]:
    """Configuration path (call names) and instance address prefix of a module."""
    if not isinstance(address, str) or not address:
        return (), ""
    return tuple(m.group(1) for m in _MODULE_STEP.finditer(address)), address


def _constant(expr: Any) -> Any:
    if isinstance(expr, Mapping):
        return expr.get("constant_value")
    return None


class PlanCatalog(Catalog):
    """Resources of a plan (``planned_values``) or state (``values``)."""

    def __init__(self, doc: Mapping[str, Any], source: str) -> None:
        super().__init__({})
        self.source = source
        self.doc = doc
        configuration = doc.get("configuration")
        self._config = configuration if isinstance(configuration, Mapping) else {}
        root_cfg = self._config.get("root_module")
        self._config_root: Mapping[str, Any] = root_cfg if isinstance(root_cfg, Mapping) else {}
        self._changes: dict[str, Mapping[str, Any]] = {}
        changes = doc.get("resource_changes")
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, Mapping) and isinstance(change.get("address"), str):
                self._changes[change["address"]] = change
        self._raw: dict[int, dict[str, Any]] = {}
        self._final: dict[int, dict[str, Any]] = {}
        self._cfg_res: dict[int, Mapping[str, Any] | None] = {}
        self._unknown: dict[int, list[tuple[str | int, ...]]] = {}
        self._addresses: set[str] = set()
        self._config_index: dict[tuple[str, ...], dict[str, Mapping[str, Any]]] = {}

        planned = doc.get("planned_values")
        if isinstance(planned, Mapping):
            self._walk(planned.get("root_module"), "/planned_values/root_module", depth=0)
        else:
            values = doc.get("values")
            if isinstance(values, Mapping):
                self._walk(values.get("root_module"), "/values/root_module", depth=0)
        prior = doc.get("prior_state")
        if isinstance(prior, Mapping) and isinstance(prior.get("values"), Mapping):
            self._walk(
                prior["values"].get("root_module"),
                "/prior_state/values/root_module",
                depth=0,
                data_only=True,
            )
        self.providers = self._providers()
        for res in self.resources:
            self._link(res)

    # -- collection ------------------------------------------------------------

    def _walk(self, module: Any, pointer: str, *, depth: int, data_only: bool = False) -> None:
        if not isinstance(module, Mapping) or depth > 50:
            return
        mod_path, prefix = _module_path(module.get("address") if depth else None)
        resources = module.get("resources")
        for i, raw in enumerate(resources if isinstance(resources, list) else []):
            if not isinstance(raw, Mapping):
                continue
            address, rtype, name = raw.get("address"), raw.get("type"), raw.get("name")
            if not (isinstance(address, str) and isinstance(rtype, str) and isinstance(name, str)):
                continue
            mode = "data" if raw.get("mode") == "data" else "managed"
            if (data_only and mode != "data") or address in self._addresses:
                continue
            self._addresses.add(address)
            values = raw.get("values")
            values = dict(values) if isinstance(values, Mapping) else {}
            key_match = _INSTANCE_KEY.search(address)
            res = TfResource(
                address=address,
                type=rtype,
                name=name,
                module=mod_path,
                loc=Loc(self.source, f"{pointer}/resources/{i}/values", KeyStyle.TERRAFORM),
                mode=mode,
                key=key_match.group(1) if key_match else None,
                meta={"prefix": prefix},
            )
            cfg = self._config_resource(mod_path, mode, rtype, name)
            self._cfg_res[id(res)] = cfg
            res.provider = self._provider_key(cfg)
            found: list[tuple[str | int, ...]] = []
            change = self._changes.get(address)
            after_unknown = None
            if isinstance(change, Mapping) and isinstance(change.get("change"), Mapping):
                after_unknown = change["change"].get("after_unknown")
            merged = _overlay(values, after_unknown, (), address, found)
            merged = merged if isinstance(merged, dict) else values
            self._raw[id(res)] = merged
            self._final[id(res)] = _restore(merged) if found else merged
            self._unknown[id(res)] = found
            self.add(res)
        children = module.get("child_modules")
        for k, child in enumerate(children if isinstance(children, list) else []):
            self._walk(child, f"{pointer}/child_modules/{k}", depth=depth + 1, data_only=data_only)

    def _config_module(self, path: tuple[str, ...]) -> Mapping[str, Any] | None:
        node: Any = self._config_root
        for name in path:
            calls = node.get("module_calls") if isinstance(node, Mapping) else None
            call = calls.get(name) if isinstance(calls, Mapping) else None
            node = call.get("module") if isinstance(call, Mapping) else None
            if node is None:
                return None
        return node if isinstance(node, Mapping) else None

    def _config_resource(
        self, path: tuple[str, ...], mode: str, rtype: str, name: str
    ) -> Mapping[str, Any] | None:
        index = self._config_index.get(path)
        if index is None:
            index = {}
            module = self._config_module(path)
            resources = module.get("resources") if module else None
            for item in resources if isinstance(resources, list) else []:
                if isinstance(item, Mapping) and isinstance(item.get("address"), str):
                    index.setdefault(item["address"], item)
            self._config_index[path] = index
        return index.get(f"{rtype}.{name}" if mode == "managed" else f"data.{rtype}.{name}")

    def _provider_key(self, cfg: Mapping[str, Any] | None) -> str:
        key = cfg.get("provider_config_key") if cfg else None
        if not isinstance(key, str):
            return "aws"
        providers = self._config.get("provider_config")
        if isinstance(providers, Mapping) and key in providers:
            return key
        return key.rsplit(":", 1)[-1] or "aws"

    def _providers(self) -> dict[str, ProviderInfo]:
        raw = self._config.get("provider_config")
        configs: dict[str, Mapping[str, Any]] = {}
        if isinstance(raw, Mapping):
            for key, body in raw.items():
                if isinstance(body, Mapping) and body.get("name", "aws") == "aws":
                    configs[str(key)] = body
        configs.setdefault("aws", {})
        observed: dict[str, set[str]] = {}
        for res in self.resources:
            values = self._raw[id(res)]
            arn = known_str(values.get("arn")) if res.mode == "managed" else None
            seen = arn_account(arn) if arn else None
            if res.mode == "data" and res.type == "aws_caller_identity":
                seen = known_str(values.get("account_id"))
            if seen:
                observed.setdefault(res.provider, set()).add(seen)

        def signature(body: Mapping[str, Any]) -> str:
            exprs = body.get("expressions")
            exprs = exprs if isinstance(exprs, Mapping) else {}
            return json.dumps(
                {k: exprs.get(k) for k in _CREDENTIAL_KEYS}, sort_keys=True, default=str
            )

        default_sig = signature(configs["aws"])
        out: dict[str, ProviderInfo] = {}
        for key in sorted(configs, key=lambda k: (k != "aws", k)):
            body = configs[key]
            exprs = body.get("expressions")
            exprs = exprs if isinstance(exprs, Mapping) else {}
            region = known_str(_constant(exprs.get("region")))
            account: str | None = None
            allowed = _constant(exprs.get("allowed_account_ids"))
            if isinstance(allowed, list) and len(allowed) == 1 and isinstance(allowed[0], str):
                account = allowed[0]
            assume = exprs.get("assume_role")
            if (
                account is None
                and isinstance(assume, list)
                and assume
                and isinstance(assume[0], Mapping)
            ):
                role = known_str(_constant(assume[0].get("role_arn")))
                account = arn_account(role) if role else None
            if account is None and len(observed.get(key, set())) == 1:
                account = next(iter(observed[key]))
            shares_default = key != "aws" and signature(body) == default_sig
            if shares_default and "aws" in out:
                account = account or out["aws"].account
            placeholder = (
                DEFAULT_ACCOUNT if key == "aws" or shares_default else "${" + key + ".account_id}"
            )
            out[key] = ProviderInfo(key, account, region, placeholder)
        return out

    # -- Catalog hooks ----------------------------------------------------------

    def attr(self, res: TfResource, key: str) -> Any:
        return self._raw.get(id(res), {}).get(key)

    def values(self, res: TfResource) -> dict[str, Any]:
        return self._final.get(id(res), {})

    def declared(self, res: TfResource, key: str) -> bool | None:
        cfg = self._cfg_res.get(id(res))
        if cfg is None:
            return None
        exprs = cfg.get("expressions")
        return isinstance(exprs, Mapping) and key in exprs

    # -- linking unknown values ---------------------------------------------------

    def _link(self, res: TfResource) -> None:
        paths = self._unknown.get(id(res), [])
        if not paths:
            return
        cfg = self._cfg_res.get(id(res))
        exprs = cfg.get("expressions") if cfg else None
        final = self._final[id(res)]
        for path in paths:
            key = next((t for t in reversed(path) if isinstance(t, str)), "")
            expr, rest = self._expression_at(exprs, path)
            if expr is None:
                if cfg is not None and key in _COMPUTED_DEFAULTS and path[-1] == key:
                    # not set in the configuration: the provider's default
                    _replace_at(final, path, None)
                continue
            if not isinstance(path[-1], str) or not _LINKABLE_KEY.search(key):
                continue
            linked = self._from_references(
                res.module, expr, rest[-1] if rest else key, 0, res.meta.get("prefix", "")
            )
            if linked is not None:
                _replace_at(final, path, linked)

    @staticmethod
    def _expression_at(
        exprs: Any, path: tuple[str | int, ...]
    ) -> tuple[Any, tuple[str | int, ...]]:
        node = exprs
        for i, token in enumerate(path):
            if _is_expression(node) and i > 0:
                return node, path[i:]
            if isinstance(token, int):
                if isinstance(node, list) and token < len(node):
                    node = node[token]
                    continue
                if isinstance(node, Mapping) and not _is_expression(node):
                    # a single nested block rendered as an object
                    continue
                return None, ()
            if not isinstance(node, Mapping) or token not in node:
                return None, ()
            node = node[token]
        return (node, ()) if _is_expression(node) else (None, ())

    def _from_references(
        self, module: tuple[str, ...], expr: Any, key: Any, hops: int, prefix: str
    ) -> Any:
        """The one value an expression's references can stand for, else None.

        ``prefix`` is the address of the module instance the expression is in
        (``module.app["web"]``), which picks the instances it refers to.
        """
        refs = expr.get("references") if isinstance(expr, Mapping) else None
        if not isinstance(refs, list) or hops > _MAX_HOPS:
            return None
        texts = [r for r in refs if isinstance(r, str)]
        full = [
            r
            for r in texts
            if not any(o != r and (o.startswith(r + ".") or o.startswith(r + "[")) for o in texts)
            and not r.startswith(("count.", "each.", "path.", "terraform.", "self."))
        ]
        hints = type_hints(str(key)) if isinstance(key, str) else ()
        if len(full) > 1 and hints:
            narrowed = [
                r
                for r in full
                if any(r.startswith(h + ".") for h in hints) or r.startswith(("module.", "var."))
            ]
            full = narrowed
        if len(full) != 1:
            return None
        value = self._resolve(module, full[0], hops + 1, prefix)
        if value is None or isinstance(value, Unresolved):
            return value if isinstance(value, Unresolved) else None
        return value if isinstance(value, str) else None

    def _resolve(self, module: tuple[str, ...], ref: str, hops: int, prefix: str) -> Any:
        trav = parse_traversal(ref)
        if trav is None or hops > _MAX_HOPS:
            return None
        steps = trav.steps
        root = trav.root
        if (
            root == "module"
            and len(steps) >= 3
            and isinstance(steps[1], str)
            and isinstance(steps[2], str)
        ):
            return self._module_output(module, steps[1], steps[2], hops, prefix)
        if root == "var" and len(steps) >= 2 and isinstance(steps[1], str):
            return self._variable(module, steps[1], hops, prefix)
        if root in ("local", "each", "count", "path", "terraform", "self"):
            return None
        mode = "managed"
        if root == "data":
            mode, steps = "data", steps[1:]
        if len(steps) < 3 or not isinstance(steps[0], str) or not isinstance(steps[1], str):
            return None
        rest = steps[2:]
        index: str | None = None
        if not isinstance(rest[0], str):
            index = rest[0][1]
            rest = rest[1:]
        if not rest or not isinstance(rest[0], str):
            return None
        found = self.instances(module, mode, steps[0], steps[1])
        if prefix and len(found) > 1:
            found = [r for r in found if r.meta.get("prefix") == prefix]
        target = self.pick(found, index)
        if not isinstance(target, TfResource):
            return target if isinstance(target, Unresolved) else None
        value = self.resource_attr(target, rest[0])
        return step_into(value, rest[1:], ref)

    def _module_output(
        self, module: tuple[str, ...], call: str, output: str, hops: int, prefix: str
    ) -> Any:
        child = self._config_module((*module, call))
        outputs = child.get("outputs") if child else None
        body = outputs.get(output) if isinstance(outputs, Mapping) else None
        expr = body.get("expression") if isinstance(body, Mapping) else None
        if expr is None:
            return None
        constant = _constant(expr)
        if isinstance(constant, str):
            return constant
        # the called module's instance: known when the call has no count/for_each
        child_prefix = f"{prefix}.module.{call}" if prefix else f"module.{call}"
        return self._from_references((*module, call), expr, output, hops + 1, child_prefix)

    def _variable(self, module: tuple[str, ...], name: str, hops: int, prefix: str) -> Any:
        if not module:
            variables = self.doc.get("variables")
            entry = variables.get(name) if isinstance(variables, Mapping) else None
            value = entry.get("value") if isinstance(entry, Mapping) else None
            return value if isinstance(value, str) else None
        parent = self._config_module(module[:-1])
        calls = parent.get("module_calls") if parent else None
        call = calls.get(module[-1]) if isinstance(calls, Mapping) else None
        exprs = call.get("expressions") if isinstance(call, Mapping) else None
        expr = exprs.get(name) if isinstance(exprs, Mapping) else None
        if expr is None:
            return None
        constant = _constant(expr)
        if isinstance(constant, str):
            return constant
        parent_prefix = prefix.rsplit(".module.", 1)[0] if ".module." in prefix else ""
        return self._from_references(module[:-1], expr, name, hops + 1, parent_prefix)


def _restore(node: Any) -> Any:
    """A deep copy keeping Unresolved leaves (the final values are edited by linking)."""
    if isinstance(node, Mapping):
        return {k: _restore(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_restore(v) for v in node]
    return node
