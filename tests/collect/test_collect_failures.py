"""What cannot be read becomes a gap; a scan still completes and says unknown, with why."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from collect_moto import REGION, Seed, fail_requests, new_session, request_region, request_text

from pipewarden.collect import Scope, collect, count_calls
from pipewarden.engine import scan
from pipewarden.errors import CollectionError
from pipewarden.model import Status
from pipewarden.parse.snapshot import parse_snapshot
from pipewarden.rules import RULES

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def two_pipelines(seed: Seed) -> tuple[str, str]:
    readable = seed.role("readable-role", inline={"all": ADMIN})
    denied = seed.role("denied-role", inline={"all": ADMIN})
    seed.bucket("artifacts")
    seed.pipeline("ok", role=readable, bucket="artifacts", tags={"team": "a"})
    seed.pipeline("hidden", role=denied, bucket="artifacts", tags={"team": "b"})
    return readable, denied


def results(doc: dict[str, object]) -> dict[tuple[str, str], object]:
    result = scan([parse_snapshot(doc, source="live")], rules=RULES)
    return {(r.rule_id, r.pipeline): r for r in result.results}


def test_access_denied_on_one_role(seed: Seed, session: boto3.Session, endpoint: str) -> None:
    readable, denied = two_pipelines(seed)
    fail_requests(session, "iam", "GetAccountAuthorizationDetails", code="AccessDenied", status=403)
    fail_requests(
        session,
        "iam",
        "GetRole",
        code="AccessDenied",
        status=403,
        message="User is not authorized to perform: iam:GetRole on denied-role",
        match=lambda request: "RoleName=denied-role" in request_text(request),
    )
    doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    iam = doc["accounts"][0]["global"]["iam"]
    assert iam["principals_complete"] is False
    assert set(iam["roles"]) == {readable}
    gaps = {(g["operation"], g["resource"]): g for g in doc["gaps"]}
    assert gaps[("GetRole", denied)]["error_code"] == "AccessDenied"
    assert gaps[("GetRole", denied)]["resource_kind"] == "role"
    assert ("GetAccountAuthorizationDetails", None) in gaps

    by_rule = results(doc)
    hidden = by_rule[("PW302", "hidden")]  # wildcard permissions on the pipeline role
    assert hidden.status is Status.UNKNOWN
    assert "GetRole: AccessDenied" in hidden.message
    assert by_rule[("PW302", "ok")].status is Status.FAIL
    # Without every principal, approvals never pass (here one readable role fails already).
    assert by_rule[("PW308", "ok")].status is not Status.PASS


def test_throttling_then_success(seed: Seed, session: boto3.Session, endpoint: str) -> None:
    two_pipelines(seed)
    throttled = fail_requests(
        session,
        "codepipeline",
        "GetPipeline",
        code="ThrottlingException",
        message="Rate exceeded",
        times=1,
    )
    with count_calls(session) as calls:
        doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    assert len(throttled.seen) == 1
    assert calls[("codepipeline", "GetPipeline")] == 2  # retried by botocore, not re-asked
    assert doc["gaps"] == []
    assert len(parse_snapshot(doc, source="live").pipelines) == 2


def test_throttling_that_outlasts_retries_is_a_gap(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    two_pipelines(seed)
    throttled = fail_requests(
        session, "s3", "GetBucketVersioning", code="SlowDown", status=503, message="Slow Down"
    )
    doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,), max_attempts=1), session=session)
    assert len(throttled.seen) == 2  # the first attempt and max_attempts=1 retry
    [gap] = [g for g in doc["gaps"] if g["operation"] == "GetBucketVersioning"]
    assert (gap["resource_kind"], gap["resource"], gap["error_code"]) == (
        "bucket",
        "artifacts",
        "SlowDown",
    )
    result = scan([parse_snapshot(doc, source="live")], rules=RULES)
    unversioned = next(r for r in result.results if (r.rule_id, r.pipeline) == ("PW203", "ok"))
    assert unversioned.status is Status.UNKNOWN
    assert any("GetBucketVersioning: SlowDown" in gap for gap in result.gaps)


def test_a_failing_region_and_an_opt_in_region(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    two_pipelines(seed)
    fail_requests(
        session,
        "codepipeline",
        "ListPipelines",
        code="UnrecognizedClientException",
        message="The security token included in the request is invalid.",
        status=400,
        match=lambda request: request_region(request) == "ap-east-1",
    )
    unreachable = fail_requests(
        session,
        "codepipeline",
        "ListPipelines",
        code="unused",
        match=lambda request: request_region(request) == "eu-west-3",
        raise_error=EndpointConnectionError(endpoint_url="https://codepipeline.eu-west-3"),
    )
    scope = Scope(endpoint_url=endpoint, regions=("ap-east-1", "eu-west-3", REGION), max_attempts=2)
    doc = collect(scope, session=session)
    assert unreachable.seen
    region_gaps = {
        g["resource"]: g["error_code"] for g in doc["gaps"] if g["resource_kind"] == "region"
    }
    assert region_gaps == {
        "ap-east-1": "UnrecognizedClientException",
        "eu-west-3": "EndpointConnectionError",
    }
    assert list(doc["accounts"][0]["regions"]) == [REGION]
    assert len(parse_snapshot(doc, source="live").pipelines) == 2


def test_tagging_api_refused_falls_back_to_list_tags(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    two_pipelines(seed)
    fail_requests(session, "resourcegroupstaggingapi", "GetResources", code="AccessDeniedException")
    with count_calls(session) as calls:
        doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    assert calls[("codepipeline", "ListTagsForResource")] == 2
    tags = {p.name: dict(p.tags) for p in parse_snapshot(doc, source="live").pipelines}
    assert tags == {"ok": {"team": "a"}, "hidden": {"team": "b"}}
    assert doc["gaps"] == []


def test_expired_credentials_are_one_clear_error(endpoint: str) -> None:
    session = new_session()
    fail_requests(
        session,
        "sts",
        "GetCallerIdentity",
        code="ExpiredToken",
        status=403,
        message="The security token included in the request is expired",
    )
    with pytest.raises(CollectionError, match="credentials have expired"):
        collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)


def test_no_credentials_are_one_clear_error(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the network
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    session = boto3.Session(region_name=REGION)
    with pytest.raises(CollectionError, match="no usable AWS credentials"):
        collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
