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
