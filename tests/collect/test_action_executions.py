"""ListActionExecutions and GetPipeline for ``pipewarden reach --aws``.

moto does not implement ListActionExecutions, so these use botocore's Stubber
with responses shaped as the service model says (the Stubber validates both
the parameters sent and the responses against the model)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from pipewarden.collect.action_executions import deploy_history
from pipewarden.config import Config
from pipewarden.errors import CollectionError
from pipewarden.parse.getpipeline import parse_get_pipeline
from pipewarden.reach.deploy import from_executions

SHOP: dict[str, Any] = {
    "pipeline": {
        "name": "shop",
        "roleArn": "arn:aws:iam::111122223333:role/shop",
        "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
        "version": 3,
        "stages": [
            {
                "name": name,
                "actions": [
                    {
                        "name": action,
                        "actionTypeId": {
                            "category": category,
                            "owner": "AWS",
                            "provider": provider,
                            "version": "1",
                        },
                        "runOrder": 1,
                        "configuration": {},
                        "inputArtifacts": [{"name": n} for n in inputs],
                        "outputArtifacts": [{"name": n} for n in outputs],
                    }
                ],
            }
            for name, action, category, provider, inputs, outputs in (
                ("Source", "Code", "Source", "CodeStarSourceConnection", [], ["Src"]),
                ("Build", "Build", "Build", "CodeBuild", ["Src"], ["App"]),
                ("Staging", "DeployStaging", "Deploy", "CloudFormation", ["App"], []),
                ("Prod", "DeployProd", "Deploy", "CloudFormation", ["App"], []),
            )
        ],
    }
}
APP = {"name": "App", "s3location": {"bucket": "artifacts-bucket", "key": "shop/App/Xa1"}}


def _item(execution: str, stage: str, action: str, category: str, status: str) -> dict[str, Any]:
    deploy = category == "Deploy"
    return {
        "pipelineExecutionId": execution,
        "actionExecutionId": f"{execution}-{action}",
        "pipelineVersion": 3,
        "stageName": stage,
        "actionName": action,
        "status": status,
        "input": {
            "actionTypeId": {
                "category": category,
                "owner": "AWS",
                "provider": "CloudFormation" if deploy else "CodeBuild",
                "version": "1",
            },
            "inputArtifacts": [APP] if deploy else [],
        },
        "output": {"outputArtifacts": [] if deploy else [APP]},
    }


EXECUTIONS = [
    _item("e-1", "Prod", "DeployProd", "Deploy", "Failed"),
    _item("e-1", "Staging", "DeployStaging", "Deploy", "Succeeded"),
    _item("e-1", "Build", "Build", "Build", "Succeeded"),
    _item("e-1", "Source", "Code", "Source", "Succeeded"),
]


def _stubbed_client() -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "codepipeline",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_deploy_history_pages_and_reads_the_declaration() -> None:
    client = _stubbed_client()
    with Stubber(client) as stub:
        stub.add_response(
            "list_action_executions",
            {"actionExecutionDetails": EXECUTIONS[:2], "nextToken": "t1"},
            {"pipelineName": "shop", "maxResults": 100, "filter": {"pipelineExecutionId": "e-1"}},
        )
        stub.add_response(
            "list_action_executions",
            {"actionExecutionDetails": EXECUTIONS[2:]},
            {
                "pipelineName": "shop",
                "maxResults": 100,
                "filter": {"pipelineExecutionId": "e-1"},
                "nextToken": "t1",
            },
        )
        stub.add_response("get_pipeline", SHOP, {"name": "shop"})
        items, raw = deploy_history(client, "shop", execution_id="e-1")
        stub.assert_no_pending_responses()
    assert [i["actionName"] for i in items] == ["DeployProd", "DeployStaging", "Build", "Code"]
    assert raw is not None
    assert raw["pipeline"]["name"] == "shop"
    context = from_executions(
        "shop",
        items,
        declaration=parse_get_pipeline(raw, source="GetPipeline").pipelines[0],
        config=Config(),
        execution_id="e-1",
    )
    assert [(t.action, t.status, t.production) for t in context.targets] == [
        ("DeployProd", "Failed", True),
        ("DeployStaging", "Succeeded", False),
    ]
    # The production deploy failed: the artifact did not reach production.
    assert context.production is False


def test_deploy_history_errors_are_one_line() -> None:
    client = _stubbed_client()
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_action_executions",
            service_error_code="PipelineNotFoundException",
            service_message="The account with id '1' does not include a pipeline with the name 'x'",
        )
        with pytest.raises(CollectionError) as caught:
            deploy_history(client, "x")
    text = str(caught.value)
    assert text.startswith("ListActionExecutions on pipeline x: PipelineNotFoundException")
    assert "\n" not in text
