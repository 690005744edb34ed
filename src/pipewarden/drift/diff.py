"""Changes between two canonical declarations, classified as weakening or not.

:func:`diff` walks both documents (list elements with a ``name`` are matched by
name, the rest by position) and yields leaf changes with JSON pointers.
:func:`classify` runs the weakening checks over the two declarations; every
change not covered by a weakening is PW902 (a rename, a reworded value, an
added stage that gates nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipewarden.model import Gap, Inventory, KeyStyle, Loc
from pipewarden.model.location import escape_token

__all__ = ["UNREVIEWED", "WEAKENING", "Change", "classify", "diff"]

WEAKENING: Final = "PW901"
UNREVIEWED: Final = "PW902"
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One change: where (JSON pointer into the canonical declaration), from what,
    to what, and whether and why it weakens the pipeline."""

    pointer: str
    old: Any
    new: Any
    rule_id: str = UNREVIEWED
    reason: str = "changed since the baseline"


def _ptr(base: str, key: str | int) -> str:
    return f"{base}/{escape_token(str(key))}"


def _named(items: list[Any]) -> bool:
    names = [i.get("name") for i in items if isinstance(i, Mapping)]
    return (
        len(names) == len(items)
        and all(isinstance(n, str) for n in names)
        and len(set(names)) == len(names)
    )


def diff(old: Any, new: Any, pointer: str = "") -> Iterator[Change]:
    """Leaf changes from ``old`` to ``new`` (``None`` stands for an absent side)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            yield from diff(old.get(key), new.get(key), _ptr(pointer, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            new_index = {item["name"]: i for i, item in enumerate(new)}
            old_index = {item["name"]: i for i, item in enumerate(old)}
            left_old = [i for i, item in enumerate(old) if item["name"] not in new_index]
            left_new = [i for i, item in enumerate(new) if item["name"] not in old_index]
            pairs = [(old_index[n], j) for n, j in new_index.items() if n in old_index]
            pairs += list(zip(left_old, left_new, strict=False))
            for i, j in sorted(pairs, key=lambda p: p[1]):
                if i != j and old[i] == new[j]:
                    yield Change(_ptr(pointer, j), f"position {i}", f"position {j}")
                else:
                    yield from diff(old[i], new[j], _ptr(pointer, j))
            for i in left_old[len(left_new) :]:
                yield Change(_ptr(pointer, i), old[i], None)
            for j in left_new[len(left_old) :]:
                yield Change(_ptr(pointer, j), None, new[j])
            return
        for k in range(max(len(old), len(new))):
            yield from diff(
                old[k] if k < len(old) else None, new[k] if k < len(new) else None, _ptr(pointer, k)
            )
        return
    if old != new:
        yield Change(pointer, old, new)


# -- weakening checks ---------------------------------------------------------------

_RESULT_STRENGTH: Final = {"FAIL": 3, "ROLLBACK": 2, "RETRY": 1, "SKIP": 0}
_THIRD_PARTY: Final = frozenset({"ThirdParty", "Custom"})


def _stages(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    stages = doc.get("stages")
    return stages if isinstance(stages, list) else []


def _actions(doc: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    for s, stage in enumerate(_stages(doc)):
        for a, action in enumerate(stage.get("actions", [])):
            yield stage.get("name", ""), action, f"/stages/{s}/actions/{a}"


def _by_name(doc: Mapping[str, Any]) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    return {(s, a.get("name", "")): (a, p) for s, a, p in _actions(doc)}


def _type(action: Mapping[str, Any]) -> tuple[str, str, str, str]:
    t = action.get("actionTypeId") or action.get("ruleTypeId") or {}
    return (t.get("category", ""), t.get("owner", ""), t.get("provider", ""), t.get("version", ""))


def _function_pinned(name: Any) -> bool:
    """A Lambda reference is pinned when it carries a version (not ``$LATEST``)."""
    if not isinstance(name, str):
        return False
    parts = name.split(":")
    qualifier = parts[7] if name.startswith("arn:") and len(parts) >= 8 else None
    if not name.startswith("arn:") and len(parts) == 2:
        qualifier = parts[1]
    return qualifier is not None and qualifier.isdigit()


def _store_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    for key in ("artifactStore", "artifactStores"):
        o, n = old.get(key), new.get(key)
        if o is None or o == n:
            continue
        if key == "artifactStore":
            o, n = {"": o}, {"": n} if n is not None else new.get("artifactStores") or {}
        for region, store in o.items():
            other = (n or {}).get(region) if isinstance(n, Mapping) else None
            base = f"/{key}" if key == "artifactStore" else f"/{key}/{escape_token(region)}"
            for field, what in (("location", "bucket"), ("encryptionKey", "KMS key")):
                before = store.get(field)
                after = other.get(field) if isinstance(other, Mapping) else None
                if before != after:
                    yield Change(
                        f"{base}/{field}",
                        before,
                        after,
                        WEAKENING,
                        f"artifact store {what} changed: artifacts now go through a store "
                        "the baseline did not approve",
                    )


def _role_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    if old.get("roleArn") != new.get("roleArn") and new.get("roleArn") is not None:
        yield Change(
            "/roleArn",
            old.get("roleArn"),
            new.get("roleArn"),
            WEAKENING,
            "pipeline role changed: every action without its own role now runs as another principal",
        )
    before = _by_name(old)
    for key, (action, pointer) in _by_name(new).items():
        prev = before.get(key) or _renamed(before, key)
        if prev is not None and prev[0].get("roleArn") != action.get("roleArn"):
            yield Change(
                f"{pointer}/roleArn",
                prev[0].get("roleArn"),
                action.get("roleArn"),
                WEAKENING,
                f"role of action `{key[1]}` changed: it now runs as a principal the baseline "
                "did not approve",
            )


def _approval_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    def approvals(doc: Mapping[str, Any]) -> dict[str, list[tuple[dict[str, Any], str]]]:
        found: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for stage, action, pointer in _actions(doc):
            if _type(action)[0] == "Approval":
                found.setdefault(stage, []).append((action, pointer))
        return found

    after = approvals(new)
    for stage, items in approvals(old).items():
        kept = after.get(stage, [])
        if len(kept) >= len(items):
            continue
        kept_names = {a.get("name") for a, _ in kept}
        gone = [(a, p) for a, p in items if a.get("name") not in kept_names]
        for action, pointer in gone[: len(items) - len(kept)]:
            yield Change(
                pointer,
                action,
                None,
                WEAKENING,
                f"manual approval `{action.get('name')}` removed from stage `{stage}`",
            )


def _conditions(doc: Mapping[str, Any]) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    out: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for s, stage in enumerate(_stages(doc)):
        for group in ("beforeEntry", "onSuccess", "onFailure"):
            if isinstance(stage.get(group), Mapping):
                out[(stage.get("name", ""), group)] = (stage[group], f"/stages/{s}/{group}")
    return out


def _rule_sig(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        _type(rule),
        repr(sorted((rule.get("configuration") or {}).items())),
        rule.get("commands"),
    )


def _condition_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    after = _conditions(new)
    for key, (group, base) in _conditions(old).items():
        where = f"{key[1]} of stage `{key[0]}`"
        other, other_base = after.get(key, ({}, base))
        conds = group.get("conditions") or []
        new_conds = other.get("conditions") or []
        for c, cond in enumerate(conds):
            if c >= len(new_conds):
                yield Change(
                    f"{base}/conditions/{c}",
                    cond,
                    None,
                    WEAKENING,
                    f"condition removed from {where}",
                )
                continue
            ncond = new_conds[c]
            pointer = f"{other_base}/conditions/{c}"
            r_old, r_new = cond.get("result"), ncond.get("result")
            if isinstance(r_old, str) and _RESULT_STRENGTH.get(r_old.upper(), 0) > (
                _RESULT_STRENGTH.get(r_new.upper(), 0) if isinstance(r_new, str) else 0
            ):
                yield Change(
                    f"{pointer}/result",
                    r_old,
                    r_new,
                    WEAKENING,
                    f"condition result relaxed from {r_old} to {r_new} in {where}",
                )
            yield from _rule_checks(
                cond.get("rules") or [], ncond.get("rules") or [], pointer, where
            )


def _rule_checks(
    rules: list[dict[str, Any]], new_rules: list[dict[str, Any]], pointer: str, where: str
) -> Iterator[Change]:
    by_name = {r.get("name"): (i, r) for i, r in enumerate(new_rules)}
    sigs = {_rule_sig(r) for r in new_rules}
    for rule in rules:
        name = rule.get("name")
        if name not in by_name:
            if _rule_sig(rule) not in sigs:
                yield Change(
                    f"{pointer}/rules", rule, None, WEAKENING, f"rule `{name}` removed from {where}"
                )
            continue
        i, nrule = by_name[name]
        rp = f"{pointer}/rules/{i}"
        if _type(rule)[1:3] != _type(nrule)[1:3]:
            yield Change(
                f"{rp}/ruleTypeId/provider",
                _type(rule)[2],
                _type(nrule)[2],
                WEAKENING,
                f"provider of rule `{name}` in {where} changed: it no longer checks what was approved",
            )
        before = (rule.get("configuration") or {}).get("FunctionName")
        now = (nrule.get("configuration") or {}).get("FunctionName")
        if _function_pinned(before) and not _function_pinned(now):
            yield Change(
                f"{rp}/configuration/FunctionName",
                before,
                now,
                WEAKENING,
                f"Lambda of rule `{name}` in {where} unpinned: whoever publishes the function "
                "now decides what the rule checks",
            )


def _renamed(
    before: dict[tuple[str, str], tuple[dict[str, Any], str]], key: tuple[str, str]
) -> tuple[dict[str, Any], str] | None:
    """The old action of the same name when only its stage was renamed."""
    found = [v for (_, name), v in before.items() if name == key[1]]
    return found[0] if len(found) == 1 else None


def _third_party_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    before = _by_name(old)
    old_types = {_type(a) for _, a, _ in _actions(old)}
    for key, (action, pointer) in _by_name(new).items():
        t = _type(action)
        config = action.get("configuration") or {}
        prev = before.get(key) or _renamed(before, key)
        if t[1] == "ThirdParty" and t[2] == "GitHub" and t[0] == "Source":
            if (prev is None and t not in old_types) or (prev is not None and _type(prev[0]) != t):
                yield Change(
                    f"{pointer}/actionTypeId",
                    prev[0].get("actionTypeId") if prev else None,
                    action.get("actionTypeId"),
                    WEAKENING,
                    "source moved to GitHub version 1 with an OAuth token (a long-lived "
                    "personal credential instead of a connection)",
                )
            continue
        if "OAuthToken" in config and (
            prev is None or "OAuthToken" not in (prev[0].get("configuration") or {})
        ):
            yield Change(
                f"{pointer}/configuration/OAuthToken",
                None,
                config["OAuthToken"],
                WEAKENING,
                "source now authenticates with an OAuth token",
            )
        if t[1] not in _THIRD_PARTY:
            continue
        if prev is None and t not in old_types:
            yield Change(
                pointer,
                None,
                action,
                WEAKENING,
                f"third-party action `{key[1]}` ({'/'.join(t)}) added: code the baseline did "
                "not vet now runs in the pipeline",
            )
        elif prev is not None and _type(prev[0]) != t:
            yield Change(
                f"{pointer}/actionTypeId",
                prev[0].get("actionTypeId"),
                action.get("actionTypeId"),
                WEAKENING,
                f"third-party action `{key[1]}` re-versioned or replaced",
            )


def _lambda_action_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    before = _by_name(old)
    for key, (action, pointer) in _by_name(new).items():
        if key not in before or _type(action)[2] != "Lambda":
            continue
        was = (before[key][0].get("configuration") or {}).get("FunctionName")
        now = (action.get("configuration") or {}).get("FunctionName")
        if _function_pinned(was) and not _function_pinned(now):
            yield Change(
                f"{pointer}/configuration/FunctionName",
                was,
                now,
                WEAKENING,
                f"Lambda of action `{key[1]}` unpinned",
            )


def _type_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    if old.get("pipelineType") == "V2" and new.get("pipelineType") != "V2":
        yield Change(
            "/pipelineType",
            "V2",
            new.get("pipelineType"),
            WEAKENING,
            "pipeline moved back to V1: no trigger filters, no stage conditions, no "
            "pipeline-level variables",
        )


def _filters(doc: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, set[str]]]:
    out: dict[tuple[str, str], dict[str, set[str]]] = {}
    for trigger in doc.get("triggers") or []:
        git = trigger.get("gitConfiguration") or {}
        for kind in ("push", "pullRequest"):
            for f in git.get(kind) or []:
                slot = out.setdefault((git.get("sourceActionName", ""), kind), {})
                for part in ("branches", "tags", "filePaths"):
                    for side in ("includes", "excludes"):
                        slot.setdefault(f"{part}.{side}", set()).update(
                            (f.get(part) or {}).get(side) or []
                        )
                slot.setdefault("events", set()).update(f.get("events") or [])
    return out


def _trigger_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    before, after = _filters(old), _filters(new)
    if not before:
        return
    for key, now in after.items():
        was = before.get(key)
        reason: str | None = None
        if was is None:
            reason = f"new {key[1]} trigger on `{key[0]}`"
        else:
            for name in sorted(set(was) | set(now)):
                w, n = was.get(name, set()), now.get(name, set())
                if name.endswith(".includes") or name == "events":
                    if (n - w) or (w and not n):
                        reason = f"{key[1]} trigger on `{key[0]}` now also matches {name}: {sorted(n - w) or 'everything'}"
                elif w - n:
                    reason = (
                        f"{key[1]} trigger on `{key[0]}` no longer excludes {name}: {sorted(w - n)}"
                    )
                if reason:
                    break
        if reason:
            yield Change(
                "/triggers",
                old.get("triggers"),
                new.get("triggers"),
                WEAKENING,
                "trigger filters widened: " + reason,
            )
            return


def _verification_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    """A verifying action removed, or moved so that it no longer finishes before an
    action consuming what it verified (judged with the scanner's own verifier logic)."""
    from pipewarden.config import Config
    from pipewarden.parse.declaration import parse_declaration
    from pipewarden.rules._api import RuleContext

    def context(doc: Mapping[str, Any]) -> RuleContext | None:
        try:
            pipeline = parse_declaration(
                doc, loc=Loc("baseline", "", KeyStyle.API), source="declaration"
            )
        except Exception:  # noqa: BLE001 - an unparsable side has no verifiers to compare
            return None
        return RuleContext(pipeline, Inventory("declaration", (pipeline,)), Config())

    o_ctx, n_ctx = context(old), context(new)
    if o_ctx is None or n_ctx is None:
        return
    new_actions = {(a.stage_name, a.name): a for a in n_ctx.actions()}
    pointers = {k: p for k, (_, p) in _by_name(new).items()}
    old_pointers = {k: p for k, (_, p) in _by_name(old).items()}
    for action in o_ctx.actions():
        if o_ctx.verifies(action) is not True:
            continue
        if not any(
            n_ctx.verifies(a) is True and set(a.input_artifacts) == set(action.input_artifacts)
            for a in n_ctx.actions()
        ):
            yield Change(
                old_pointers.get((action.stage_name, action.name), "/stages"),
                action.name,
                None,
                WEAKENING,
                f"verification action `{action.name}` removed: {', '.join(action.input_artifacts)} "
                "is no longer verified",
            )
            continue
        for artifact in action.input_artifacts:
            for consumer in o_ctx.consumers(artifact):
                if o_ctx.verified_before(artifact, consumer) is not True:
                    continue
                now = new_actions.get((consumer.stage_name, consumer.name))
                if now is None or artifact not in now.input_artifacts:
                    continue
                verdict = n_ctx.verified_before(artifact, now)
                if verdict is True or isinstance(verdict, Gap):
                    continue
                yield Change(
                    pointers[(now.stage_name, now.name)],
                    f"`{artifact}` verified before `{now.name}`",
                    f"`{artifact}` not verified before `{now.name}`",
                    WEAKENING,
                    f"verification of `{artifact}` moved after its consumer `{now.name}`",
                )


_CHECKS: Final = (
    _type_checks,
    _store_checks,
    _role_checks,
    _approval_checks,
    _condition_checks,
    _verification_checks,
    _third_party_checks,
    _lambda_action_checks,
    _trigger_checks,
)


def _covers(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer + "/") or outer.startswith(inner + "/")


def classify(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new``: weakenings (PW901, with the reason)
    first, then the remaining changes (PW902)."""
    if old == new:
        return []
    weakenings: list[Change] = []
    seen: set[str] = set()
    for check in _CHECKS:
        for change in check(old, new):
            if change.pointer not in seen:
                seen.add(change.pointer)
                weakenings.append(change)
    rest = [c for c in diff(old, new) if not any(_covers(w.pointer, c.pointer) for w in weakenings)]
    return weakenings + rest
