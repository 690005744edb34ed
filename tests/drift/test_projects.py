"""CodeBuild projects: baselined at approval, judged on UpdateProject and in drift checks."""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli.main import main
from pipewarden.drift.lambda_handler import handle_event
from pipewarden.drift.projects import project_changes, request_state
from pipewarden.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "examples/snapshot/example-snapshot.json"
ACCOUNT, REGION = "210987654321", "us-west-2"
PROJECT = "orders-service-build"
PROJECT_ARN = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{PROJECT}"
PIPELINE_ARN = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:orders-service"
ROLE = "arn:aws:iam::210987654321:role/service-role/codebuild-orders-service-build-service-role"
IMAGE = "aws/codebuild/standard:7.0"

OLD: dict[str, Any] = {
    "name": "p",
    "buildspec": {"origin": "file", "value": "ci/buildspec.yml"},
    "image": IMAGE,
    "serviceRole": ROLE,
    "privilegedMode": False,
    "environmentVariables": [
        {"name": "STAGE", "type": "PLAINTEXT", "value": "prod"},
        {"name": "TOKEN", "type": "SECRETS_MANAGER", "value": "ci/token"},
    ],
}


def _environment(**changes: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "type": "LINUX_CONTAINER",
        "image": IMAGE,
        "computeType": "BUILD_GENERAL1_SMALL",
        "privilegedMode": False,
        "environmentVariables": [
            {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
            {"name": "TOKEN", "value": "ci/token", "type": "SECRETS_MANAGER"},
        ],
    }
    env.update(changes)
    return env


VARS = _environment()["environmentVariables"]
INLINE = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"

CASES = [
    ("nothing changed", {"environment": _environment(), "serviceRole": ROLE}, []),
    (
        "buildspec moved inline",
        {"source": {"type": "CODEPIPELINE", "buildspec": INLINE}},
        [("PW901", "/buildspec")],
    ),
    (
        "buildspec file renamed",
        {"source": {"type": "CODEPIPELINE", "buildspec": "ci/other.yml"}},
        [("PW902", "/buildspec")],
    ),
    (
        "default buildspec",
        {"source": {"type": "CODEPIPELINE"}},
        [("PW902", "/buildspec")],
    ),
    ("privileged on", {"environment": _environment(privilegedMode=True)}, [("PW901", "/privilegedMode")]),
    ("service role", {"serviceRole": "arn:aws:iam::210987654321:role/admin"}, [("PW901", "/serviceRole")]),
    ("image", {"environment": _environment(image="evil/image:latest")}, [("PW902", "/image")]),
    (
        "plaintext variable added",
        {"environment": _environment(environmentVariables=[*VARS, {"name": "NPM_TOKEN", "value": "x", "type": "PLAINTEXT"}])},
        [("PW901", "/environmentVariables/NPM_TOKEN")],
    ),
    (
        "secret turned plaintext",
        {"environment": _environment(environmentVariables=[VARS[0], {"name": "TOKEN", "value": "abc", "type": "PLAINTEXT"}])},
        [("PW901", "/environmentVariables/TOKEN")],
    ),
    (
        "secrets-manager variable added",
        {"environment": _environment(environmentVariables=[*VARS, {"name": "DB", "value": "db/pw", "type": "SECRETS_MANAGER"}])},
        [("PW902", "/environmentVariables/DB")],
    ),
    (
        "variable removed and another changed",
        {"environment": _environment(environmentVariables=[{"name": "STAGE", "value": "dev", "type": "PLAINTEXT"}])},
        [("PW902", "/environmentVariables/STAGE"), ("PW902", "/environmentVariables/TOKEN")],
    ),
    ("timeout", {"timeoutInMinutes": 480}, [("PW902", "/timeoutInMinutes")]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "request_", "expected"), CASES, ids=[c[0] for c in CASES])
def test_project_changes(
    case: str, request_: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    changes = project_changes("p", OLD, request_state({"name": "p", **request_}))
    assert [(c.rule_id, c.pointer.removeprefix("/codebuild/p")) for c in changes] == expected, case


def test_without_a_baseline_the_request_alone_is_judged() -> None:
    changes = project_changes(
        "p", None, request_state({"name": "p", "serviceRole": ROLE, "timeoutInMinutes": 5})
    )
    assert [(c.rule_id, c.pointer) for c in changes] == [
        ("PW901", "/codebuild/p/serviceRole"),
        ("PW902", "/codebuild/p/timeoutInMinutes"),
    ]
    assert "no approved baseline of project `p`" in changes[0].reason


def _run(argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv, environ={"USER": "tester"})
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def _snapshot(tmp_path: Path, name: str, **project_changes: Any) -> Path:
    doc = json.loads(SNAPSHOT.read_text())
    region = doc["accounts"][0]["regions"][REGION]
    project = region["codebuild"]["projects"][PROJECT]["BatchGetProjects"]
    project["environment"]["privilegedMode"] = False
    for key, value in project_changes.items():
        project[key] = value
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _project() -> dict[str, Any]:
    doc = json.loads(SNAPSHOT.read_text())
    project: dict[str, Any] = doc["accounts"][0]["regions"][REGION]["codebuild"]["projects"][
        PROJECT
    ]["BatchGetProjects"]
    return project


def _update_project(request: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "11111111-2222-4333-8444-555555555555",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.codebuild",
        "account": ACCOUNT,
        "time": "2026-11-25T10:05:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLE",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory",
                "accountId": ACCOUNT,
            },
            "eventTime": "2026-11-25T10:05:00Z",
            "eventSource": "codebuild.amazonaws.com",
            "eventName": "UpdateProject",
            "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": request,
            "responseElements": {"project": {"name": PROJECT, "arn": PROJECT_ARN}},
            "requestID": "aaaaaaaa-0000-4000-8000-000000000002",
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
        },
    }


@pytest.fixture
def approved(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    code, _, err = _run(
        ["baseline", "approve", str(_snapshot(tmp_path, "s.json")), "--reason", "ok", "--db", db]
    )
    assert code == 0, err
    assert f"approved CodeBuild project {PROJECT_ARN}" in err
    return db


def test_update_project_is_judged_against_the_approved_project(approved: str) -> None:
    env = copy.deepcopy(_project()["environment"])
    env["privilegedMode"] = True
    env["environmentVariables"].append(
        {"name": "DEPLOY_KEY", "value": "not-shown-here", "type": "PLAINTEXT"}
    )
    request = {"name": PROJECT, "environment": env}
    code, out, err = _run(
        ["drift", "handle-event", "--db", approved],
        json.dumps(_update_project(request, "ev-1")),
    )
    assert code == 1, err
    finding = json.loads(out)
    assert finding["pipelines"] == [PIPELINE_ARN]
    assert finding["project"] == PROJECT_ARN
    assert finding["weakening"] is True
    fails = [
        (r["rule_id"], r["evidence"]["pointer"], r["pipeline_arn"])
        for r in finding["results"]
        if r["status"] == "fail"
    ]
    base = f"/codebuild/{PROJECT}"
    assert sorted(fails) == [
        ("PW901", f"{base}/environmentVariables/DEPLOY_KEY", PIPELINE_ARN),
        ("PW901", f"{base}/privilegedMode", PIPELINE_ARN),
    ]
    assert "mallory" in finding["results"][0]["evidence"]["actor"]
    store = open_store(approved)
    events = store.drift_events(PIPELINE_ARN)
    store.close()
    assert [(e["event"], e["event_id"], e["weakening"]) for e in events] == [
        ("UpdateProject", "ev-1", 2)
    ]


def test_update_project_setting_the_approved_values_changes_nothing(approved: str) -> None:
    project = _project()
    project["environment"]["privilegedMode"] = False
    request = {
        "name": PROJECT_ARN,  # UpdateProject takes the ARN too
        "environment": project["environment"],
        "serviceRole": project["serviceRole"],
        "source": project["source"],
    }
    finding = handle_event(_update_project(request, "ev-2"), db=approved)
    assert finding["pipelines"] == [PIPELINE_ARN]
    assert {r["status"] for r in finding["results"]} == {"pass"}
    assert finding["weakening"] is False


def test_update_project_other_setting_is_pw902(approved: str) -> None:
    finding = handle_event(
        _update_project({"name": PROJECT, "timeoutInMinutes": 480}, "ev-3"), db=approved
    )
    fails = [
        (r["rule_id"], r["evidence"]["pointer"])
        for r in finding["results"]
        if r["status"] == "fail"
    ]
    assert fails == [("PW902", f"/codebuild/{PROJECT}/timeoutInMinutes")]
    assert finding["weakening"] is False


def test_drift_check_reports_a_changed_project(approved: str, tmp_path: Path) -> None:
    changed = _snapshot(
        tmp_path, "changed.json", serviceRole="arn:aws:iam::210987654321:role/admin"
    )
    code, out, err = _run(["drift", "check", str(changed), "-f", "json", "--db", approved])
    assert code == 1, err
    fails = [
        (r["rule_id"], r["evidence"]["pointer"], r["pipeline_arn"])
        for r in json.loads(out)["results"]
        if r["status"] == "fail"
    ]
    assert fails == [("PW901", f"/codebuild/{PROJECT}/serviceRole", PIPELINE_ARN)]
    same = _snapshot(tmp_path, "same.json")
    code, out, _ = _run(["drift", "check", str(same), "-f", "json", "--db", approved])
    assert code == 0
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}


def test_approving_get_pipeline_json_says_projects_are_not_baselined(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    example = ROOT / "examples/get-pipeline/payments-weak.json"
    code, _, err = _run(["baseline", "approve", str(example), "--reason", "ok", "--db", db])
    assert code == 0
    assert "1 CodeBuild project(s) are not in the input" in err
    assert "payments-api-build" in err
