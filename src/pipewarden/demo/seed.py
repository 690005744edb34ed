"""Seed an AWS emulator with a small organisation of weak and hardened pipelines.

:func:`seed_organisation` creates, through the AWS APIs (real HTTP to the
emulator), an AWS Organization with member accounts created by
``CreateAccount``. In each member account, entered as AWS Control Tower and
``CreateAccount`` do through ``OrganizationAccountAccessRole``, it creates:

* the scanner's read-only role (``PipeWardenReadOnly`` by default), trusting the
  management account;
* two artifact buckets: a legacy one (no versioning, no object lock, no policy,
  default encryption) and a release one (object lock in compliance mode with a
  default retention, SSE-KMS with a customer managed key, a public access block
  and a policy refusing plain HTTP);
* a customer managed KMS key with an alias, ECR repositories (mutable without
  scanning; immutable scanning on push), CodeBuild projects (a legacy project:
  inline buildspec piping a download to a shell, privileged, a custom image by
  tag, a plaintext AWS secret key, no logs; release projects reading their
  buildspec from source, a curated image and CloudWatch logs) with their service
  roles and log groups;
* pipelines made from four templates, shared resources and all:
  ``legacy``: V1, GitHub OAuth-token source, one administrator pipeline role,
  production deploy without approval; ``s3``: V1, an unversioned S3 source and
  a build with the legacy project; ``release``: V2 with a CodeConnections
  source, commit-signature verification, per-action roles, a manual approval,
  a blocking ``beforeEntry`` condition, rollback on failure and a filtered
  trigger; ``images``: V2, an ECR source following a mutable tag.

Resources are shared by the pipelines of an account, as one platform team's
template would share them, so the org-scale benchmark measures how a live scan
de-duplicates them. The secrets seeded are obviously fake.

moto quirks this works around (see ``/docs`` of moto): a pipeline's service
role must trust only ``Service: codepipeline.amazonaws.com`` (a string);
CodeBuild projects need ``source.location`` whatever the source type; object
lock is configured on an empty, versioned bucket; bucket policies are seeded
last (moto enforces ``Deny`` statements ignoring their conditions).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DEMO_TEAMS",
    "TEMPLATES",
    "SeededAccount",
    "SeededOrganisation",
    "seed_organisation",
]

DEMO_TEAMS: Final = ("payments", "retail", "platform")
TEMPLATES: Final = ("legacy", "s3", "release", "images")
ACCESS_ROLE: Final = "OrganizationAccountAccessRole"
_FAKE_AWS_SECRET: Final = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example
_FAKE_OAUTH: Final = "demo0oauth0token0not0a0real0secret0000000"
_VERIFY_BUILDSPEC: Final = (
    "version: 0.2\nphases:\n  build:\n    commands:\n"
    '      - pipewarden verify-commit --repo . --commit "$CODEBUILD_RESOLVED_SOURCE_VERSION"'
    " --allowed-signers /opt/pipewarden/allowed_signers\n"
)


@dataclass(frozen=True, slots=True)
class SeededAccount:
    """One member account and what was made in it."""

    account_id: str
    name: str
    pipelines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeededOrganisation:
    """The organisation made by :func:`seed_organisation`."""

    management_account: str
    region: str
    role_name: str
    accounts: tuple[SeededAccount, ...]
    api_calls: int

    @property
    def pipelines(self) -> int:
        """Pipelines across every member account."""
        return sum(len(a.pipelines) for a in self.accounts)


class _Counter:
    """Counts API calls made by the clients of a session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, **_kwargs: Any) -> None:
        with self._lock:
            self.count += 1


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _trust_service(service: str) -> str:
    # moto: Principal.Service must be a string, and the only kind of principal.
    return _doc(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    )


def _trust_role(arn: str) -> str:
    return _doc([{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}])


class _Account:
    """Seeds one member account through a session acting in it."""

    def __init__(
        self,
        session: Any,
        endpoint_url: str,
        *,
        account_id: str,
        management: str,
        region: str,
        role_name: str,
        credentials: dict[str, str] | None = None,
    ) -> None:
        # Clients come from one session (its service models are loaded once) with the
        # account's own credentials.
        self.session = session
        self.credentials = credentials or {}
        self.endpoint = endpoint_url
        self.account = account_id
        self.management = management
        self.region = region
        self.role_name = role_name
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint, **self.credentials
            )
        return self._clients[service]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"

    # -- IAM ------------------------------------------------------------------

    def role(self, name: str, trust: str, inline: dict[str, list[dict[str, Any]]]) -> str:
        iam = self.client("iam")
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])
        for policy, statements in inline.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=_doc(statements))
        return arn

    def identities(self) -> dict[str, str]:
        iam = self.client("iam")
        self.role(
            self.role_name,
            _trust_role(f"arn:aws:iam::{self.management}:root"),
            {
                "read-pipelines": [
                    {
                        "Effect": "Allow",
                        "Action": ["codepipeline:Get*", "codepipeline:List*", "iam:Get*"],
                        "Resource": "*",
                    }
                ]
            },
        )
        admin = iam.create_policy(
            PolicyName="legacy-admin",
            PolicyDocument=_doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        )["Policy"]["Arn"]
        legacy = self.role("legacy-pipeline", _trust_service("codepipeline.amazonaws.com"), {})
        iam.attach_role_policy(RoleName="legacy-pipeline", PolicyArn=admin)
        release = self.role(
            "release-pipeline",
            _trust_service("codepipeline.amazonaws.com"),
            {
                "assume-action-roles": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": f"arn:aws:iam::{self.account}:role/release-*-action",
                    }
                ]
            },
        )
        bucket = f"arn:aws:s3:::pw-demo-release-artifacts-{self.account}"
        artifacts = [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": f"{bucket}/*",
            }
        ]
        roles = {"legacy": legacy, "release": release}
        for step, extra in (
            ("source", [{"Effect": "Allow", "Action": "codeconnections:UseConnection", "Resource": self.arn("codeconnections", "connection/*")}]),
            ("verify", [{"Effect": "Allow", "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], "Resource": self.arn("codebuild", "project/release-verify")}]),
            ("build", [{"Effect": "Allow", "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], "Resource": self.arn("codebuild", "project/release-build")}]),
            ("approval", [{"Effect": "Allow", "Action": "sns:Publish", "Resource": self.arn("sns", "release-approvals")}]),
            ("deploy", [{"Effect": "Allow", "Action": ["cloudformation:DescribeStacks", "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DescribeChangeSet"], "Resource": self.arn("cloudformation", "stack/release-*/*")}]),
        ):  # fmt: skip
            roles[step] = self.role(
                f"release-{step}-action", _trust_role(release), {"scoped": [*artifacts, *extra]}
            )
        roles["cfn"] = self.role(
            "release-cfn-execution",
            _trust_service("cloudformation.amazonaws.com"),
            {"stack": [{"Effect": "Allow", "Action": "lambda:*", "Resource": self.arn("lambda", "function:release-*")}]},
        )  # fmt: skip
        roles["build-legacy"] = self.role(
            "legacy-codebuild",
            _trust_service("codebuild.amazonaws.com"),
            {"everything": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        )
        roles["build-release"] = self.role(
            "release-codebuild",
            _trust_service("codebuild.amazonaws.com"),
            {
                "logs-and-artifacts": [
                    *artifacts,
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": self.arn("logs", "log-group:/aws/codebuild/release-*"),
                    },
                ]
            },
        )
        return roles

    # -- storage, keys, images -------------------------------------------------

    def key(self) -> str:
        kms = self.client("kms")
        policy = _doc(
            [
                {
                    "Sid": "AccountAdministration",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ]
        )
        meta = kms.create_key(
            Description="release pipeline artifacts", Policy=policy, KeyUsage="ENCRYPT_DECRYPT"
        )["KeyMetadata"]
        kms.create_alias(AliasName="alias/release-artifacts", TargetKeyId=meta["KeyId"])
        kms.enable_key_rotation(KeyId=meta["KeyId"])
        return str(meta["Arn"])

    def buckets(self, key_arn: str) -> dict[str, str]:
        s3 = self.client("s3")
        location = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
        legacy = f"pw-demo-legacy-artifacts-{self.account}"
        release = f"pw-demo-release-artifacts-{self.account}"
        kwargs: dict[str, Any] = {"CreateBucketConfiguration": location} if location else {}
        s3.create_bucket(Bucket=legacy, **kwargs)
        s3.create_bucket(Bucket=release, ObjectLockEnabledForBucket=True, **kwargs)
        s3.put_object_lock_configuration(
            Bucket=release,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
            },
        )
        s3.put_bucket_encryption(
            Bucket=release,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        s3.put_public_access_block(
            Bucket=release,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        # Last: moto enforces Deny statements whatever their conditions.
        s3.put_bucket_policy(
            Bucket=release,
            Policy=_doc(
                [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{release}", f"arn:aws:s3:::{release}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ]
            ),
        )
        return {"legacy": legacy, "release": release}

    def repositories(self, key_arn: str) -> dict[str, str]:
        ecr = self.client("ecr")
        legacy = ecr.create_repository(
            repositoryName="legacy-app",
            imageTagMutability="MUTABLE",
            imageScanningConfiguration={"scanOnPush": False},
        )["repository"]
        release = ecr.create_repository(
            repositoryName="release-app",
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key_arn},
        )["repository"]
        return {"legacy": str(legacy["repositoryUri"]), "release": str(release["repositoryUri"])}

    def projects(self, roles: dict[str, str], repos: dict[str, str]) -> None:
        codebuild = self.client("codebuild")
        logs = self.client("logs")
        codebuild.create_project(
            name="legacy-build",
            source={
                "type": "CODEPIPELINE",
                "location": "codepipeline",  # moto requires a location
                "buildspec": (
                    "version: 0.2\nphases:\n  install:\n    commands:\n"
                    "      - curl -sL https://get.example.com/install.sh | sh\n"
                    "      - pip install requests\n  build:\n    commands:\n      - make release\n"
                ),
            },
            artifacts={"type": "CODEPIPELINE", "location": "codepipeline"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": f"{repos['legacy']}:latest",
                "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": True,
                "environmentVariables": [
                    {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE", "type": "PLAINTEXT"},
                    {"name": "AWS_SECRET_ACCESS_KEY", "value": _FAKE_AWS_SECRET, "type": "PLAINTEXT"},
                ],
            },
            serviceRole=roles["build-legacy"],
            logsConfig={
                "cloudWatchLogs": {"status": "DISABLED"},
                "s3Logs": {"status": "DISABLED"},
            },
        )  # fmt: skip
        for name in ("release-build", "release-verify"):
            group = f"/aws/codebuild/{name}"
            logs.create_log_group(logGroupName=group)
            logs.put_retention_policy(logGroupName=group, retentionInDays=365)
            codebuild.create_project(
                name=name,
                source={
                    "type": "CODEPIPELINE",
                    "location": "codepipeline",
                    "buildspec": "buildspec.yml" if name == "release-build" else "verify.yml",
                },
                artifacts={"type": "CODEPIPELINE", "location": "codepipeline"},
                environment={
                    "type": "LINUX_CONTAINER",
                    "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                    "computeType": "BUILD_GENERAL1_SMALL",
                    "privilegedMode": False,
                },
                serviceRole=roles["build-release"],
                logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": group}},
            )

    # -- pipelines -------------------------------------------------------------

    def pipeline(self, name: str, template: str, roles: dict[str, str], buckets: dict[str, str], key_arn: str) -> None:  # fmt: skip
        build = {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}
        cfn = {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"}
        legacy_store = {"type": "S3", "location": buckets["legacy"]}
        if template == "legacy":
            declaration: dict[str, Any] = {
                "name": name,
                "roleArn": roles["legacy"],
                "artifactStore": legacy_store,
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "GitHub",
                        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                        "configuration": {"Owner": "example-org", "Repo": name, "Branch": "main", "OAuthToken": _FAKE_OAUTH, "PollForSourceChanges": "false"},
                        "outputArtifacts": [{"name": "SourceOutput"}],
                    }]},
                    {"name": "Build", "actions": [{
                        "name": "Build", "actionTypeId": build,
                        "configuration": {"ProjectName": "legacy-build"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "outputArtifacts": [{"name": "BuildOutput"}],
                    }]},
                    {"name": "Production", "actions": [{
                        "name": "Deploy", "actionTypeId": cfn,
                        "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": f"{name}-prod", "TemplatePath": "BuildOutput::packaged.yaml", "Capabilities": "CAPABILITY_NAMED_IAM", "RoleArn": roles["legacy"]},
                        "inputArtifacts": [{"name": "BuildOutput"}],
                    }]},
                ],
            }  # fmt: skip
        elif template == "s3":
            declaration = {
                "name": name,
                "roleArn": roles["legacy"],
                "artifactStore": legacy_store,
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "Bundle",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": buckets["legacy"], "S3ObjectKey": f"{name}/source.zip", "PollForSourceChanges": "false"},
                        "outputArtifacts": [{"name": "SourceOutput"}],
                    }]},
                    {"name": "Build", "actions": [{
                        "name": "Package", "actionTypeId": build,
                        "configuration": {"ProjectName": "legacy-build"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "outputArtifacts": [{"name": "BuildOutput"}],
                    }]},
                    {"name": "Staging", "actions": [{
                        "name": "Deploy", "actionTypeId": cfn,
                        "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": f"{name}-staging", "TemplatePath": "BuildOutput::packaged.yaml", "RoleArn": roles["cfn"]},
                        "inputArtifacts": [{"name": "BuildOutput"}],
                    }]},
                ],
            }  # fmt: skip
        elif template == "release":
            connection = self.arn(
                "codeconnections", "connection/0d7c7e58-5f3a-4b8e-9a53-6c1e2f3a4b5c"
            )
            declaration = {
                "name": name,
                "pipelineType": "V2",
                "executionMode": "QUEUED",
                "roleArn": roles["release"],
                "artifactStore": {"type": "S3", "location": buckets["release"], "encryptionKey": {"id": key_arn, "type": "KMS"}},
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                        "configuration": {"ConnectionArn": connection, "FullRepositoryId": f"example-org/{name}", "BranchName": "main", "OutputArtifactFormat": "CODEBUILD_CLONE_REF", "DetectChanges": "false"},
                        "outputArtifacts": [{"name": "SourceOutput"}],
                        "roleArn": roles["source"], "namespace": "SourceVariables",
                    }]},
                    {"name": "Verify", "actions": [{
                        "name": "VerifyCommitSignature", "actionTypeId": build,
                        "configuration": {"ProjectName": "release-verify", "BuildspecOverride": _VERIFY_BUILDSPEC},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "roleArn": roles["verify"],
                    }]},
                    {"name": "Build", "actions": [{
                        "name": "Build", "actionTypeId": build,
                        "configuration": {"ProjectName": "release-build"},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "outputArtifacts": [{"name": "BuildOutput"}],
                        "roleArn": roles["build"],
                    }]},
                    {"name": "Approve", "actions": [{
                        "name": "ReleaseApproval",
                        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                        "configuration": {"CustomData": f"Approve the {name} release to production"},
                        "roleArn": roles["approval"],
                    }]},
                    {
                        "name": "Production",
                        "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [{
                            "name": "NoOpenIncidents",
                            "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
                            "configuration": {"AlarmName": "release-incidents"},
                        }]}]},
                        "onFailure": {"result": "ROLLBACK"},
                        "actions": [{
                            "name": "Deploy", "actionTypeId": cfn,
                            "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": f"{name}-prod", "TemplatePath": "BuildOutput::packaged.yaml", "RoleArn": roles["cfn"]},
                            "inputArtifacts": [{"name": "BuildOutput"}],
                            "roleArn": roles["deploy"],
                        }],
                    },
                ],
                "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
                    "sourceActionName": "Source", "push": [{"branches": {"includes": ["main"]}}],
                }}],
            }  # fmt: skip
        elif template == "images":
            declaration = {
                "name": name,
                "pipelineType": "V2",
                "executionMode": "SUPERSEDED",
                "roleArn": roles["release"],
                "artifactStore": {"type": "S3", "location": buckets["release"], "encryptionKey": {"id": key_arn, "type": "KMS"}},
                "stages": [
                    {"name": "Source", "actions": [{
                        "name": "Image",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "ECR", "version": "1"},
                        "configuration": {"RepositoryName": "legacy-app", "ImageTag": "latest"},
                        "outputArtifacts": [{"name": "ImageOutput"}],
                        "roleArn": roles["source"],
                    }]},
                    {"name": "Production", "actions": [{
                        "name": "Deploy",
                        "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "ECS", "version": "1"},
                        "configuration": {"ClusterName": "prod", "ServiceName": name, "FileName": "imagedefinitions.json"},
                        "inputArtifacts": [{"name": "ImageOutput"}],
                        "roleArn": roles["deploy"],
                    }]},
                ],
            }  # fmt: skip
        else:
            raise ValueError(f"unknown pipeline template {template!r}")
        self.client("codepipeline").create_pipeline(
            pipeline=declaration, tags=[{"key": "team", "value": name.split("-")[0]}]
        )


def _pipeline_names(team: str, count: int) -> list[tuple[str, str]]:
    """``count`` (name, template) pairs, the templates in turn."""
    services = ("api", "orders", "web", "images")
    out = []
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        round_ = index // len(TEMPLATES)
        suffix = "" if round_ == 0 else f"-{round_ + 1:02d}"
        out.append((f"{team}-{services[index % len(services)]}{suffix}", template))
    return out


def _assumed(session: Any, endpoint_url: str, region: str, account: str) -> dict[str, str]:
    """Client credentials acting in ``account`` (through its organisation access role)."""
    sts = session.client("sts", region_name=region, endpoint_url=endpoint_url)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="pipewarden-seed"
    )["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def seed_organisation(
    endpoint_url: str,
    *,
    session: Any,
    accounts: int = 3,
    pipelines_per_account: int = 4,
    region: str = "us-east-1",
    role_name: str = "PipeWardenReadOnly",
    names: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SeededOrganisation:
    """Create an organisation of ``accounts`` member accounts in the emulator.

    ``session`` acts in the management account (the emulator's default
    account). Member accounts are named from ``names`` (default: the demo
    teams, then ``team-NNN``) and seeded ``workers`` at a time; ``progress``
    is called with (accounts done, accounts) after each.
    """
    counter = _Counter()
    session.events.register("before-send", counter, unique_id="pipewarden-seed-count")
    org = session.client("organizations", region_name=region, endpoint_url=endpoint_url)
    management = str(org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"])
    team_names = list(names or ())
    team_names += [
        DEMO_TEAMS[index] if index < len(DEMO_TEAMS) else f"team-{index:03d}"
        for index in range(len(team_names), accounts)
    ]
    members: list[tuple[str, str]] = []
    for team in team_names[:accounts]:
        status = org.create_account(Email=f"aws+{team}@example.com", AccountName=team)
        members.append((str(status["CreateAccountStatus"]["AccountId"]), team))

    # The management account holds the scanner role too (a scan may include it).
    _Account(
        session,
        endpoint_url,
        account_id=management,
        management=management,
        region=region,
        role_name=role_name,
    ).role(role_name, _trust_role(f"arn:aws:iam::{management}:root"), {})

    def seed_one(member: tuple[str, str]) -> SeededAccount:
        account_id, team = member
        seeder = _Account(
            session,
            endpoint_url,
            account_id=account_id,
            management=management,
            region=region,
            role_name=role_name,
            credentials=_assumed(session, endpoint_url, region, account_id),
        )
        roles = seeder.identities()
        key_arn = seeder.key()
        buckets = seeder.buckets(key_arn)
        repos = seeder.repositories(key_arn)
        seeder.projects(roles, repos)
        made = []
        for name, template in _pipeline_names(team, pipelines_per_account):
            seeder.pipeline(name, template, roles, buckets, key_arn)
            made.append(name)
        return SeededAccount(account_id=account_id, name=team, pipelines=tuple(made))

    done: list[SeededAccount] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for seeded in pool.map(seed_one, members):
            done.append(seeded)
            if progress is not None:
                progress(len(done), len(members))
    return SeededOrganisation(
        management_account=management,
        region=region,
        role_name=role_name,
        accounts=tuple(done),
        api_calls=counter.count,
    )
