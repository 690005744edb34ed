"""Applying a fix plan to a live pipeline, and rolling it back (boto3).

``Live.read`` fetches a pipeline with GetPipeline and parses it as the scanner
does. ``Live.steps`` lists what applying a plan does, in order: roles, the
artifact key, role policies, log groups, the artifact bucket and its policy,
the verification project, then UpdatePipeline. ``Live.apply`` first saves the
current declaration (and, as it goes, every resource it creates) under the
state directory; ``rollback`` puts the saved declaration back and deletes the
roles, policies, projects and log groups the fix created. A key or a locked
bucket is never deleted: the rollback says so.

Resources for other accounts (the least-privilege policies of cross-account
roles) are not applied: they are written by ``--format cloudformation``.

Permissions used: codepipeline:GetPipeline, lambda:ListVersionsByFunction, codepipeline:UpdatePipeline,
iam:CreateRole, iam:PutRolePolicy, iam:PutUserPolicy, iam:PutGroupPolicy,
iam:PassRole, iam:DeleteRole, iam:DeleteRolePolicy, kms:CreateKey,
kms:EnableKeyRotation, s3:CreateBucket, s3:PutBucketVersioning,
s3:PutBucketObjectLockConfiguration, s3:PutEncryptionConfiguration,
s3:PutBucketPublicAccessBlock, s3:PutBucketPolicy, logs:CreateLogGroup,
logs:PutRetentionPolicy, logs:PutDataProtectionPolicy, logs:DeleteLogGroup,
codebuild:CreateProject, codebuild:DeleteProject, sts:GetCallerIdentity.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import CollectionError, Error

__all__ = ["PERMISSIONS", "ApplyError", "Live", "Step", "rollback"]

PERMISSIONS: Final = (
    "codepipeline:GetPipeline",
    "lambda:ListVersionsByFunction",
    "codepipeline:UpdatePipeline",
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PassRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "kms:CreateKey",
    "kms:EnableKeyRotation",
    "s3:CreateBucket",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketPolicy",
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:PutDataProtectionPolicy",
    "logs:DeleteLogGroup",
    "codebuild:CreateProject",
    "codebuild:DeleteProject",
    "sts:GetCallerIdentity",
)
_PSEUDO: Final = re.compile(r"\$\{AWS::(AccountId|Region|Partition)\}")
_ORDER: Final = {
    "AWS::IAM::Role": 0,
    "AWS::KMS::Key": 1,
    "AWS::IAM::Policy": 2,
    "AWS::Logs::LogGroup": 3,
    "AWS::S3::Bucket": 4,
    "AWS::S3::BucketPolicy": 5,
    "AWS::CodeBuild::Project": 6,
}


class ApplyError(Error):
    """The plan cannot be applied (or rolled back) as it stands."""


@dataclass
class _Context:
    """What applying needs: clients, the deployment's account and region, and the real
    values of resources created so far (a new key's ARN)."""

    clients: Callable[[str], Any]
    account: str
    region: str
    partition: str
    resolved: dict[str, str] = field(default_factory=dict)

    def text(self, value: Any) -> Any:
        """A plan value with references and placeholders replaced by real values."""
        from pipewarden.remediate._values import Join, Ref

        if isinstance(value, Ref):
            raw = self.resolved.get(value.logical_id, value.value)
            return self._pseudo(raw)
        if isinstance(value, Join):
            return "".join(str(self.text(p)) for p in value.parts)
        if isinstance(value, str):
            return self._pseudo(value)
        if isinstance(value, Mapping):
            return {str(k): self.text(v) for k, v in value.items() if not str(k).startswith("__")}
        if isinstance(value, list | tuple):
            return [self.text(v) for v in value]
        return value

    def _pseudo(self, text: str) -> str:
        values = {"AccountId": self.account, "Region": self.region, "Partition": self.partition}
        return _PSEUDO.sub(lambda m: values[m.group(1)], text)


@dataclass
class Step:
    """One change: what it does, how to make it, and how to undo it."""

    kind: str
    name: str
    run: Callable[[_Context], dict[str, Any] | None]
    note: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.name}" + (f" ({self.note})" if self.note else "")


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError  # type: ignore[no-any-return]


class Live:
    """A live account: reads pipelines, applies plans."""

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        session: Any = None,
    ) -> None:
        if session is None:
            import boto3

            session = boto3.Session(profile_name=profile, region_name=region)
        self.session = session
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            self._clients[service] = self.session.client(
                service,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "adaptive", "max_attempts": 5}),
            )
        return self._clients[service]

    @property
    def region(self) -> str:
        region = self.client("codepipeline").meta.region_name
        if not region:
            raise ApplyError("no AWS region: give --region")
        return str(region)

    # -- reading --------------------------------------------------------------------

    def read(self, name: str) -> tuple[Any, dict[str, Any]]:
        """The pipeline's Inventory (declaration only) and its GetPipeline document."""
        from pipewarden.parse.getpipeline import parse_get_pipeline

        try:
            response = self.client("codepipeline").get_pipeline(name=name)
        except _client_error() as exc:
            code = exc.response.get("Error", {}).get("Code", "")  # type: ignore[attr-defined]
            raise CollectionError(f"GetPipeline {name}: {code or exc}") from None
        document = {
            "pipeline": response["pipeline"],
            "metadata": _jsonable(response.get("metadata", {})),
        }
        arn = document["metadata"].get("pipelineArn") or name
        inventory = parse_get_pipeline(document, source=str(arn))
        lambdas = self._functions(inventory)
        if lambdas:
            import dataclasses

            inventory = dataclasses.replace(inventory, lambdas=lambdas)
        return inventory, document

    def _functions(self, inventory: Any) -> dict[str, Any]:
        """The published versions of the functions the pipeline invokes (so that a fix can
        pin them); a function that cannot be read is left out (the fix says what to do)."""
        from pipewarden.model import LambdaFunction
        from pipewarden.rules._gates import split_function

        names: set[str] = set()
        for pipeline in inventory.pipelines:
            for action in pipeline.actions():
                value = action.config("FunctionName")
                if action.provider == "Lambda" and action.category == "Invoke":
                    names.update([value] if isinstance(value, str) else [])
            for stage in pipeline.stages:
                for conditions in (stage.before_entry, stage.on_success, stage.on_failure):
                    for condition in conditions.conditions if conditions else ():
                        for rule in condition.rules:
                            value = rule.configuration.get("FunctionName")
                            if rule.provider == "LambdaInvoke" and isinstance(value, str):
                                names.add(value)
        out: dict[str, Any] = {}
        for reference in sorted(names):
            base, _ = split_function(reference)
            try:
                pages = self.client("lambda").get_paginator("list_versions_by_function")
                versions = [
                    v
                    for page in pages.paginate(FunctionName=base)
                    for v in page.get("Versions", [])
                ]
            except _client_error():
                continue
            arn = next((v["FunctionArn"] for v in versions if v.get("Version") == "$LATEST"), None)
            if isinstance(arn, str) and arn.endswith(":$LATEST"):
                arn = arn.rsplit(":", 1)[0]
            out[base] = LambdaFunction(
                name=base, arn=arn, versions=tuple(str(v["Version"]) for v in versions)
            )
        return out

    # -- applying ---------------------------------------------------------------------

    def steps(self, plan: Any) -> list[Step]:
        """The changes applying ``plan`` makes, in order."""
        from pipewarden.remediate import pipeline_json

        steps: list[Step] = []
        resources = []
        for pipeline in plan.pipelines:
            for resource in pipeline.resources:
                if resource.account:
                    continue
                if resource.type == "AWS::CodeConnections::Connection":
                    raise ApplyError(
                        "the fix needs a CodeConnections connection, which must be authorised in "
                        "the console: create it, then give --connection-arn"
                    )
                if resource.type not in _ORDER:
                    raise ApplyError(
                        f"{resource.type} `{resource.logical_id}` cannot be applied live"
                    )
                resources.append(resource)
        # Service roles first: the action roles' trust names the pipeline role, which must
        # exist when they are created.
        resources.sort(key=lambda r: (_ORDER[r.type], not _service_trusted(r)))
        steps.extend(_step(resource) for resource in resources)
        for pipeline in plan.pipelines:
            declaration = pipeline_json.declaration_json(pipeline)
            steps.append(
                Step(
                    "update-pipeline",
                    pipeline.name,
                    _updater(declaration),
                    f"{len(pipeline.fixes)} fix(es)",
                )
            )
        return steps

    def _context(self, plan: Any) -> _Context:
        account = next((p.account for p in plan.pipelines if p.account.isdigit()), "")
        if not account:
            account = str(self.client("sts").get_caller_identity()["Account"])
        partition = next((p.partition for p in plan.pipelines), "aws")
        return _Context(self.client, account, self.region, partition)

    def apply(
        self, plan: Any, steps: list[Step], document: Mapping[str, Any], *, state_dir: Path
    ) -> Path:
        """Make the changes; the previous declaration and each created resource are saved
        first, so an interrupted apply can still be rolled back."""
        context = self._context(plan)
        name = str(document["pipeline"]["name"])
        path = _state_path(state_dir, context.region, name)
        entry: dict[str, Any] = {
            "saved_at": dt.datetime.now(dt.UTC).isoformat(),
            "pipeline": document["pipeline"],
            "created": [],
        }
        history = _read_state(path)
        history.append(entry)
        _write_state(path, history)
        for step in steps:
            try:
                created = step.run(context)
            except _client_error() as exc:
                code = exc.response.get("Error", {}).get("Code", "")  # type: ignore[attr-defined]
                raise ApplyError(
                    f"{step.describe()} failed ({code or exc}); run `pipewarden fix --rollback "
                    f"{name}` to undo what was made"
                ) from None
            if created:
                entry["created"].append(created)
                _write_state(path, history)
        return path


def _service_trusted(resource: Any) -> bool:
    trust = resource.properties.get("AssumeRolePolicyDocument") or {}
    return any(
        isinstance(stmt, Mapping) and "Service" in (stmt.get("Principal") or {})
        for stmt in trust.get("Statement", [])
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _updater(declaration: Mapping[str, Any]) -> Callable[[_Context], dict[str, Any] | None]:
    def run(ctx: _Context) -> dict[str, Any] | None:
        return _update_pipeline(ctx, declaration)

    return run


def _update_pipeline(ctx: _Context, declaration: Mapping[str, Any]) -> dict[str, Any] | None:
    body = ctx.text(declaration)
    ctx.clients("codepipeline").update_pipeline(pipeline=body)
    return None


def _step(resource: Any) -> Step:
    props = resource.properties
    kind = resource.type
    if kind == "AWS::IAM::Role":

        def create_role(ctx: _Context) -> dict[str, Any]:
            name = ctx.text(props["RoleName"])
            ctx.clients("iam").create_role(
                RoleName=name,
                AssumeRolePolicyDocument=_json(ctx.text(props["AssumeRolePolicyDocument"])),
                Description=resource.purpose[:1000],
            )
            ctx.resolved[resource.logical_id] = (
                f"arn:{ctx.partition}:iam::{ctx.account}:role/{name}"
            )
            return {"kind": "role", "name": name}

        return Step("create-role", str(props["RoleName"]), create_role, resource.purpose)
    if kind == "AWS::IAM::Policy":

        def put_policy(ctx: _Context) -> dict[str, Any]:
            document = _json(ctx.text(props["PolicyDocument"]))
            policy = ctx.text(props["PolicyName"])
            iam = ctx.clients("iam")
            made = []
            for role in props.get("Roles", []):
                role_name = _name(ctx.text(role))
                iam.put_role_policy(RoleName=role_name, PolicyName=policy, PolicyDocument=document)
                made.append(role_name)
            for user in props.get("Users", []):
                iam.put_user_policy(
                    UserName=_name(ctx.text(user)), PolicyName=policy, PolicyDocument=document
                )
            for group in props.get("Groups", []):
                iam.put_group_policy(
                    GroupName=_name(ctx.text(group)), PolicyName=policy, PolicyDocument=document
                )
            return {"kind": "role-policy", "name": policy, "roles": made}

        return Step("put-policy", str(props["PolicyName"]), put_policy, resource.purpose)
    if kind == "AWS::KMS::Key":

        def create_key(ctx: _Context) -> dict[str, Any]:
            kms = ctx.clients("kms")
            made = kms.create_key(
                Description=str(ctx.text(props.get("Description", ""))),
                Policy=_json(ctx.text(props["KeyPolicy"])),
            )
            arn = made["KeyMetadata"]["Arn"]
            kms.enable_key_rotation(KeyId=made["KeyMetadata"]["KeyId"])
            ctx.resolved[resource.logical_id] = arn
            return {"kind": "key", "name": arn}

        return Step("create-key", resource.logical_id, create_key, resource.purpose)
    if kind == "AWS::Logs::LogGroup":

        def create_group(ctx: _Context) -> dict[str, Any]:
            logs = ctx.clients("logs")
            group = ctx.text(props["LogGroupName"])
            logs.create_log_group(logGroupName=group)
            logs.put_retention_policy(
                logGroupName=group, retentionInDays=int(props.get("RetentionInDays", 365))
            )
            if "DataProtectionPolicy" in props:
                logs.put_data_protection_policy(
                    logGroupIdentifier=group,
                    policyDocument=_json(ctx.text(props["DataProtectionPolicy"])),
                )
            return {"kind": "log-group", "name": group}

        return Step("create-log-group", str(props["LogGroupName"]), create_group, resource.purpose)
    if kind == "AWS::S3::Bucket":

        def create_bucket(ctx: _Context) -> dict[str, Any]:
            s3 = ctx.clients("s3")
            name = ctx.text(props["BucketName"])
            args: dict[str, Any] = {"Bucket": name, "ObjectLockEnabledForBucket": True}
            if ctx.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
            s3.create_bucket(**args)
            ctx.resolved[resource.logical_id] = name
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration=ctx.text(props["ObjectLockConfiguration"])
            )
            rules = ctx.text(props["BucketEncryption"])["ServerSideEncryptionConfiguration"]
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": r[
                                "ServerSideEncryptionByDefault"
                            ],
                            "BucketKeyEnabled": bool(r.get("BucketKeyEnabled", True)),
                        }
                        for r in rules
                    ]
                },
            )
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=ctx.text(props["PublicAccessBlockConfiguration"]),
            )
            return {"kind": "bucket", "name": name}

        return Step("create-bucket", str(props.get("BucketName")), create_bucket, resource.purpose)
    if kind == "AWS::S3::BucketPolicy":

        def put_bucket_policy(ctx: _Context) -> dict[str, Any] | None:
            ctx.clients("s3").put_bucket_policy(
                Bucket=ctx.text(props["Bucket"]), Policy=_json(ctx.text(props["PolicyDocument"]))
            )
            return None

        return Step("put-bucket-policy", resource.logical_id, put_bucket_policy, resource.purpose)

    def create_project(ctx: _Context) -> dict[str, Any]:
        p = ctx.text(props)
        env = p["Environment"]
        logs = p.get("LogsConfig", {}).get("CloudWatchLogs", {})
        args: dict[str, Any] = {
            "name": p["Name"],
            "description": p.get("Description", ""),
            "source": {"type": p["Source"]["Type"]},
            "artifacts": {"type": p["Artifacts"]["Type"]},
            "environment": {
                "type": env["Type"],
                "image": env["Image"],
                "computeType": env["ComputeType"],
                "privilegedMode": bool(env.get("PrivilegedMode", False)),
            },
            "serviceRole": p["ServiceRole"],
            "timeoutInMinutes": int(p.get("TimeoutInMinutes", 60)),
            "logsConfig": {
                "cloudWatchLogs": {
                    "status": logs.get("Status", "ENABLED"),
                    "groupName": logs.get("GroupName"),
                }
            },
        }
        if p.get("EncryptionKey"):
            args["encryptionKey"] = p["EncryptionKey"]
        ctx.clients("codebuild").create_project(**args)
        return {"kind": "project", "name": p["Name"]}

    return Step("create-project", str(props.get("Name")), create_project, resource.purpose)


def _name(value: Any) -> str:
    """A role, user or group name from a name or an ARN."""
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


# -- state and rollback -------------------------------------------------------------------


def _state_path(state_dir: Path, region: str, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9.@_-]", "_", name)
    return state_dir / region / f"{safe}.json"


def _read_state(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ApplyError(f"{path}: the saved state is not JSON ({exc})") from None
    if not isinstance(data, list):
        raise ApplyError(f"{path}: the saved state is not a list of saved declarations")
    return data


def _write_state(path: Path, history: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history, indent=2, default=str) + "\n", encoding="utf-8")


def rollback(
    name: str,
    *,
    state_dir: Path,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
) -> str:
    """Restore the declaration ``name`` had before the last apply, and delete what that
    apply created (roles and their policies, projects, log groups). Returns a summary."""
    live = Live(region=region, profile=profile, endpoint_url=endpoint_url, session=session)
    path = _state_path(state_dir, live.region, name)
    history = _read_state(path)
    if not history:
        raise ApplyError(f"nothing to roll back for pipeline `{name}` (no state in {path.parent})")
    entry = history[-1]
    pipeline = dict(entry["pipeline"])
    codepipeline = live.client("codepipeline")
    current = codepipeline.get_pipeline(name=name)["pipeline"]
    pipeline["version"] = current.get("version", pipeline.get("version", 1))
    codepipeline.update_pipeline(pipeline=pipeline)
    kept: list[str] = []
    deleted = 0
    for created in reversed(entry.get("created", [])):
        kind = created.get("kind")
        try:
            if kind == "role-policy":
                for role in created.get("roles", []):
                    live.client("iam").delete_role_policy(RoleName=role, PolicyName=created["name"])
                deleted += 1
            elif kind == "role":
                live.client("iam").delete_role(RoleName=created["name"])
                deleted += 1
            elif kind == "log-group":
                live.client("logs").delete_log_group(logGroupName=created["name"])
                deleted += 1
            elif kind == "project":
                live.client("codebuild").delete_project(name=created["name"])
                deleted += 1
            else:
                kept.append(f"{kind} {created.get('name')}")
        except _client_error():
            kept.append(f"{kind} {created.get('name')}")
    history.pop()
    _write_state(path, history)
    message = f"pipeline `{name}` restored to its declaration of {entry.get('saved_at')}; deleted {deleted} resource(s)"
    if kept:
        message += "; kept (delete by hand if unused): " + ", ".join(kept)
    return message
