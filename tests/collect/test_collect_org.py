"""An organisation through assume-role, sharding, and pagination."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from collect_moto import MANAGEMENT, REGION, Seed, fail_requests, request_text

from pipewarden.collect import Scope, collect, count_calls, in_shard
from pipewarden.collect.emulator import answer_missing_apis
from pipewarden.parse.snapshot import parse_snapshot

TRUST_MANAGEMENT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "pw-example"}},
        }
    ],
}


def organisation(endpoint: str, session: boto3.Session, members: int) -> list[str]:
    """An organisation with ``members`` member accounts, each with the scanner role and
    one pipeline; returns the member account ids."""
    org = session.client("organizations", endpoint_url=endpoint)
    org.create_organization(FeatureSet="ALL")
    for index in range(members):
        org.create_account(AccountName=f"member-{index}", Email=f"m{index}@example.com")
    accounts = [a["Id"] for a in org.list_accounts()["Accounts"] if a["Id"] != MANAGEMENT]
    sts = session.client("sts", endpoint_url=endpoint)
    for account in accounts:
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        member = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )
        seed = Seed(endpoint, member, account=account)
        seed.role("PipeWardenReadOnly", trust=TRUST_MANAGEMENT)
        role = seed.role("pipeline-role")
        seed.bucket(f"artifacts-{account}")
        seed.pipeline(f"app-{account[-4:]}", role=role, bucket=f"artifacts-{account}")
    return sorted(accounts)


def test_organisation_of_three_accounts_through_assume_role(
    session: boto3.Session, endpoint: str, seed: Seed
) -> None:
    members = organisation(endpoint, session, 3)
    seed.pipeline("mgmt", role=seed.role("mgmt-role"), bucket=seed.bucket("artifacts-mgmt"))
    assumed: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        assumed.append(dict(params))

    session.events.register("provide-client-params.sts.AssumeRole", record)
    doc = collect(
        Scope(org=True, endpoint_url=endpoint, regions=(REGION,), external_id="pw-example"),
        session=session,
    )
    assert [a["account_id"] for a in doc["accounts"]] == sorted([MANAGEMENT, *members])
    assert sorted(a["RoleArn"] for a in assumed) == [
        f"arn:aws:iam::{m}:role/PipeWardenReadOnly" for m in members
    ]
    assert {a["ExternalId"] for a in assumed} == {"pw-example"}
    inventory = parse_snapshot(doc, source="live")
    by_account = {p.account: p.name for p in inventory.pipelines}
    assert by_account == {
        MANAGEMENT: "mgmt",
        **{m: f"app-{m[-4:]}" for m in members},
    }
    # Each account's bucket is read with that account's credentials and filed under it.
    for account in doc["accounts"]:
        assert list(account["global"]["s3"]["buckets"]) == [
            "artifacts-mgmt"
            if account["account_id"] == MANAGEMENT
            else f"artifacts-{account['account_id']}"
        ]
    assert doc["gaps"] == []


def test_a_role_that_cannot_be_assumed_is_a_gap(session: boto3.Session, endpoint: str) -> None:
    members = organisation(endpoint, session, 3)
    locked = members[1]
    fail_requests(
        session,
        "sts",
        "AssumeRole",
        code="AccessDenied",
        status=403,
        message=f"not authorized to perform sts:AssumeRole on {locked}",
        match=lambda request: locked in request_text(request),
    )
    doc = collect(Scope(org=True, endpoint_url=endpoint, regions=(REGION,)), session=session)
    assert locked not in [a["account_id"] for a in doc["accounts"]]
    [gap] = doc["gaps"]
    assert (gap["resource_kind"], gap["resource"], gap["operation"], gap["error_code"]) == (
        "account",
        locked,
        "AssumeRole",
        "AccessDenied",
    )
    assert len(parse_snapshot(doc, source="live").pipelines) == 2


def test_org_account_list_is_paginated(session: boto3.Session, endpoint: str) -> None:
    org = session.client("organizations", endpoint_url=endpoint)
    org.create_organization(FeatureSet="ALL")
    for index in range(24):  # ListAccounts pages hold at most 20
        org.create_account(AccountName=f"a{index}", Email=f"a{index}@example.com")
    with count_calls(session) as calls:
        doc = collect(
            Scope(org=True, endpoint_url=endpoint, regions=(REGION,), max_workers=8),
            session=session,
        )
    assert calls[("organizations", "ListAccounts")] == 2
    assert len(doc["accounts"]) == 25


def test_shards_partition_the_accounts(session: boto3.Session, endpoint: str) -> None:
    members = organisation(endpoint, session, 3)
    every = sorted([MANAGEMENT, *members])
    seen: list[str] = []
    for k in range(3):
        doc = collect(
            Scope(org=True, endpoint_url=endpoint, regions=(REGION,), shard=(k, 3)),
            session=session,
        )
        mine = [a["account_id"] for a in doc["accounts"]]
        assert mine == [a for a in every if in_shard(a, (k, 3))]
        seen.extend(mine)
    assert sorted(seen) == every


def test_shard_of_an_account_does_not_depend_on_the_others() -> None:
    accounts = [f"{n:012d}" for n in range(1000, 1200)]
    shards = [sum(in_shard(a, (k, 4)) for k in range(4)) for a in accounts]
    assert shards == [1] * len(accounts)
    counts = [sum(in_shard(a, (k, 4)) for a in accounts) for k in range(4)]
    assert min(counts) > 30  # roughly even


def test_more_pipelines_than_one_page(seed: Seed, endpoint: str) -> None:
    # moto returns every pipeline in one ListPipelines page; AWS pages them. This hook
    # pages moto's answer (5 a page, with nextToken) as AWS would, before the request
    # is sent, so the collector has to follow the tokens.
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    answer_missing_apis(session)
    plain = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("codepipeline", endpoint_url=endpoint)
    role = seed.role("pipeline-role")
    seed.bucket("artifacts")
    for index in range(12):
        seed.pipeline(f"p{index:02d}", role=role, bucket="artifacts")

    def page(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from collect_moto import _Body

        body = json.loads(request.body or b"{}")
        names = [p["name"] for p in plain.list_pipelines()["pipelines"]]
        start = int(body.get("nextToken") or 0)
        answer: dict[str, Any] = {"pipelines": [{"name": n} for n in names[start : start + 5]]}
        if start + 5 < len(names):
            answer["nextToken"] = str(start + 5)
        data = json.dumps(answer).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "Content-Length": str(len(data))}
        return AWSResponse(request.url, 200, headers, _Body(data))

    session.events.register("before-send.codepipeline.ListPipelines", page)
    with count_calls(session) as calls:
        doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    assert calls[("codepipeline", "ListPipelines")] == 3
    names = sorted(p.name for p in parse_snapshot(doc, source="live").pipelines)
    assert names == [f"p{index:02d}" for index in range(12)]


@pytest.mark.parametrize("bad", [(3, 3), (-1, 2), (0, 0)])
def test_invalid_shard_is_refused(bad: tuple[int, int]) -> None:
    from pipewarden.errors import ConfigError

    with pytest.raises(ConfigError, match="shard"):
        collect(Scope(shard=bad))
