"""deploy/drift-handler.yaml: its EventBridge pattern matches exactly the events the
handler judges, and the function points at the real handler."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipewarden.drift.events import HANDLED
from pipewarden.parse._yaml import load_yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy/drift-handler.yaml"


def _matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge matching for the subset the template uses (values lists, nesting, $or)."""
    for key, want in pattern.items():
        if key == "$or":
            if not any(_matches(p, event) for p in want):
                return False
        elif isinstance(want, Mapping):
            if not isinstance(event.get(key), Mapping) or not _matches(want, event[key]):
                return False
        elif event.get(key) not in want:
            return False
    return True


def _template() -> Any:
    doc, _ = load_yaml(TEMPLATE.read_text(), str(TEMPLATE))
    return doc


def _event(source: str, name: str) -> dict[str, Any]:
    service = source.split(".", 1)[1]
    return {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": f"{service}.amazonaws.com", "eventName": name},
    }


def test_rule_matches_every_handled_event_and_nothing_else() -> None:
    resources = _template()["Resources"]
    pattern = resources["PipelineChangeRule"]["Properties"]["EventPattern"]
    for name in sorted(HANDLED - {"UpdateProject"}):
        assert _matches(pattern, _event("aws.codepipeline", name)), name
    assert _matches(pattern, _event("aws.codebuild", "UpdateProject"))
    assert not _matches(pattern, _event("aws.codepipeline", "StartPipelineExecution"))
    assert not _matches(pattern, _event("aws.codebuild", "UpdatePipeline"))


def test_function_handler_exists() -> None:
    fn = _template()["Resources"]["HandlerFunction"]["Properties"]
    module, _, attr = fn["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), attr))
    assert fn["Runtime"] == "python3.11"


def _statements(template: Any) -> list[dict[str, Any]]:
    """Every statement of the handler role's inline policies, either branch of an Fn::If."""
    out: list[dict[str, Any]] = []
    for policy in template["Resources"]["HandlerRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                out += [s for s in statement["Fn::If"][1:] if "Effect" in s]
            else:
                out.append(statement)
    return out


def test_handler_role_grants_exactly_what_the_alerts_call() -> None:
    from pipewarden.collect.alerts import PERMISSIONS

    template = _template()
    actions = set()
    for statement in _statements(template):
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions |= {found} if isinstance(found, str) else set(found)
    assert actions == PERMISSIONS
    publish = next(s for s in _statements(template) if s["Action"] == "sns:Publish")
    assert publish["Resource"] == {"Ref": "AlertTopic"}  # that topic only


def test_function_environment_is_what_the_handler_reads() -> None:
    import inspect

    from pipewarden.drift import emit, lambda_handler

    template = _template()
    env = template["Resources"]["HandlerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["PIPEWARDEN_SNS_TOPIC"] == {"Ref": "AlertTopic"}
    assert env["PIPEWARDEN_SECURITY_HUB"] == {"Ref": "SecurityHub"}
    assert template["Parameters"]["SecurityHub"]["AllowedValues"] == ["true", "false"]
    code = inspect.getsource(emit) + inspect.getsource(lambda_handler)
    for name in env:
        assert f'"{name}"' in code, name
    topic = template["Resources"]["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
