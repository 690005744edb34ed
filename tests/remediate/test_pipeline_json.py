"""The update-pipeline JSON validates against botocore's CodePipeline model and is
accepted by CreatePipeline and UpdatePipeline (moto, server mode)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from remediate_inputs import EXAMPLES, all_inputs, fix, label


def _input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("codepipeline")
    return model.operation_model("UpdatePipeline").input_shape


def _docs(path: Path) -> list[dict[str, Any]]:
    body = json.loads(fix(path, "pipeline-json").main)
    return body if isinstance(body, list) else [body]


@pytest.mark.parametrize("path", all_inputs(), ids=label)
def test_validates_against_the_botocore_model(path: Path) -> None:
    from botocore.validate import ParamValidator

    shape = _input_shape()
    for doc in _docs(path):
        report = ParamValidator().validate(doc, shape)
        assert not report.has_errors(), report.generate_report()


def _trust(service: str = "codepipeline.amazonaws.com") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _role(iam: Any, arn: str) -> None:
    name = arn.rsplit("/", 1)[-1]
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust())


@pytest.mark.parametrize(
    "path",
    [
        EXAMPLES / "get-pipeline" / "payments-weak.json",
        EXAMPLES / "get-pipeline" / "checkout-hardened.json",
    ],
    ids=label,
)
def test_accepted_by_create_and_update_pipeline(path: Path, aws: str, tmp_path: Path) -> None:
    iam = _client(aws, "iam")
    pipelines = _client(aws, "codepipeline")
    # moto's account is 123456789012: the roles must live there to be assumable.
    text = path.read_text().replace("111122223333", "123456789012")
    path = tmp_path / path.name
    path.write_text(text)
    original = json.loads(text)["pipeline"]
    _role(iam, original["roleArn"])
    pipelines.create_pipeline(pipeline={k: v for k, v in original.items() if k != "version"})
    for doc in _docs(path):
        _role(iam, doc["pipeline"]["roleArn"])
        updated = pipelines.update_pipeline(**doc)["pipeline"]
        assert updated["roleArn"] == doc["pipeline"]["roleArn"]
        assert [s["name"] for s in updated["stages"]] == [
            s["name"] for s in doc["pipeline"]["stages"]
        ]
        fresh = dict(doc["pipeline"], name=doc["pipeline"]["name"] + "-copy")
        created = pipelines.create_pipeline(pipeline=fresh)["pipeline"]
        assert created.get("pipelineType") == doc["pipeline"].get("pipelineType")
