"""The demo organisation, read back through the AWS APIs of the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.config
import botocore.exceptions
import pytest

from pipewarden.demo.seed import TEMPLATES, SeededOrganisation, seed_organisation
from pipewarden.demo.server import Emulator, emulator


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Emulator, SeededOrganisation]]:
    with emulator("us-east-1") as emu:
        org = seed_organisation(
            emu.endpoint_url, session=emu.session(), accounts=3, pipelines_per_account=5
        )
        yield emu, org


def _in(emu: Emulator, org: SeededOrganisation, account: str) -> Any:
    """A session acting in ``account`` through the scanner role (as the live scan will)."""
    sts = emu.session().client("sts", endpoint_url=emu.endpoint_url)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{org.role_name}", RoleSessionName="test"
    )["Credentials"]

    def client(service: str) -> Any:
        return emu.session().client(
            service,
            endpoint_url=emu.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return client


def test_the_organisation_has_three_named_member_accounts(
    seeded: tuple[Emulator, SeededOrganisation],
) -> None:
    emu, org = seeded
    orgs = emu.session().client("organizations", endpoint_url=emu.endpoint_url)
    listed = {a["Id"]: a["Name"] for a in orgs.list_accounts()["Accounts"]}
    assert org.management_account in listed
    assert {a.account_id: a.name for a in org.accounts}.items() <= listed.items()
    assert [a.name for a in org.accounts] == ["payments", "retail", "platform"]
    assert len({a.account_id for a in org.accounts}) == 3
    assert org.pipelines == 15
    assert org.api_calls > org.pipelines


def test_each_account_holds_its_pipelines_and_the_scanner_role(
    seeded: tuple[Emulator, SeededOrganisation],
) -> None:
    emu, org = seeded
    for account in org.accounts:
        client = _in(emu, org, account.account_id)
        names = {p["name"] for p in client("codepipeline").list_pipelines()["pipelines"]}
        assert names == set(account.pipelines)
        role = client("iam").get_role(RoleName=org.role_name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        principal = trust["Statement"][0]["Principal"]["AWS"]
        assert principal == f"arn:aws:iam::{org.management_account}:root"


def test_pipeline_templates_cycle_with_distinct_names(
    seeded: tuple[Emulator, SeededOrganisation],
) -> None:
    _emu, org = seeded
    payments = org.accounts[0]
    assert payments.pipelines == (
        "payments-api",
        "payments-orders",
        "payments-web",
        "payments-images",
        "payments-api-02",
    )
    assert len(TEMPLATES) == 4


def test_weak_and_hardened_pipelines(seeded: tuple[Emulator, SeededOrganisation]) -> None:
    emu, org = seeded
    account = org.accounts[1]
    codepipeline = _in(emu, org, account.account_id)("codepipeline")
    legacy = codepipeline.get_pipeline(name="retail-api")["pipeline"]
    assert legacy.get("pipelineType", "V1") == "V1"
    source = legacy["stages"][0]["actions"][0]
    assert source["actionTypeId"]["provider"] == "GitHub"
    assert "OAuthToken" in source["configuration"]
    assert legacy["roleArn"].endswith(":role/legacy-pipeline")

    release = codepipeline.get_pipeline(name="retail-web")["pipeline"]
    assert release["pipelineType"] == "V2"
    assert release["artifactStore"]["encryptionKey"]["type"] == "KMS"
    prod = release["stages"][-1]
    assert prod["beforeEntry"]["conditions"][0]["result"] == "FAIL"
    assert prod["onFailure"] == {"result": "ROLLBACK"}
    assert all("roleArn" in a for stage in release["stages"] for a in stage["actions"])
    assert [s["name"] for s in release["stages"]].index("Approve") < len(release["stages"]) - 1


def test_buckets_with_and_without_object_lock(
    seeded: tuple[Emulator, SeededOrganisation],
) -> None:
    emu, org = seeded
    account = org.accounts[2].account_id
    s3 = _in(emu, org, account)("s3")
    release = f"pw-demo-release-artifacts-{account}"
    lock = s3.get_object_lock_configuration(Bucket=release)["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]  # moto adds "Years": 0
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 30)
    assert s3.get_bucket_versioning(Bucket=release)["Status"] == "Enabled"
    sse = s3.get_bucket_encryption(Bucket=release)["ServerSideEncryptionConfiguration"]
    assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policy = json.loads(s3.get_bucket_policy(Bucket=release)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    legacy = f"pw-demo-legacy-artifacts-{account}"
    assert "Status" not in s3.get_bucket_versioning(Bucket=legacy)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object_lock_configuration(Bucket=legacy)
    assert info.value.response["Error"]["Code"] == "ObjectLockConfigurationNotFoundError"


def test_projects_keys_and_repositories(seeded: tuple[Emulator, SeededOrganisation]) -> None:
    emu, org = seeded
    client = _in(emu, org, org.accounts[0].account_id)
    projects = {
        p["name"]: p
        for p in client("codebuild").batch_get_projects(
            names=["legacy-build", "release-build", "release-verify"]
        )["projects"]
    }
    assert projects.keys() == {"legacy-build", "release-build", "release-verify"}
    legacy = projects["legacy-build"]
    assert legacy["environment"]["privilegedMode"] is True
    assert "| sh" in legacy["source"]["buildspec"]
    assert {v["type"] for v in legacy["environment"]["environmentVariables"]} == {"PLAINTEXT"}
    assert projects["release-build"]["source"]["buildspec"] == "buildspec.yml"

    repos = {r["repositoryName"]: r for r in client("ecr").describe_repositories()["repositories"]}
    assert repos["legacy-app"]["imageTagMutability"] == "MUTABLE"
    assert repos["release-app"]["imageTagMutability"] == "IMMUTABLE"
    assert repos["release-app"]["imageScanningConfiguration"] == {"scanOnPush": True}

    aliases = client("kms").list_aliases()["Aliases"]
    assert any(a["AliasName"] == "alias/release-artifacts" for a in aliases)


def test_a_new_emulator_starts_empty() -> None:
    with emulator() as emu:
        orgs = emu.session().client("organizations", endpoint_url=emu.endpoint_url)
        with pytest.raises(botocore.exceptions.ClientError) as info:
            orgs.describe_organization()
        assert info.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
        org = seed_organisation(
            emu.endpoint_url, session=emu.session(), accounts=1, pipelines_per_account=1
        )
        assert org.pipelines == 1


def test_the_emulator_runs_in_a_child_process_with_adjustable_latency() -> None:
    with emulator(process=True) as emu:
        emu.set_latency(0.001)
        org = seed_organisation(
            emu.endpoint_url, session=emu.session(), accounts=1, pipelines_per_account=1
        )
        emu.set_latency(0)
        once = botocore.config.Config(retries={"total_max_attempts": 1})
        sts = emu.session().client("sts", endpoint_url=emu.endpoint_url, config=once)
        assert sts.get_caller_identity()["Account"] == org.management_account
    # The child stopped with the block: nothing listens there any more.
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        sts.get_caller_identity()
