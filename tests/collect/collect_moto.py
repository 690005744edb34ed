"""Helpers for the collector tests: a moto-backed account seeder and failure injection.

Resources are created through the public AWS APIs of a moto server on loopback.
Failures are injected with botocore ``before-send`` hooks: the hook answers a
request in place of the server, botocore parses the answer and applies its
retry policy exactly as to one from the network, so AccessDenied, throttling
and unreachable regions are deterministic. Operations moto 5.2.5 lacks are
answered by ``pipewarden.collect.emulator.answer_missing_apis``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from pipewarden.collect.emulator import answer_missing_apis

REGION = "us-east-1"
MANAGEMENT = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_session(region: str = REGION) -> boto3.Session:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    answer_missing_apis(session)
    return session


TRUST_CODEPIPELINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Seed:
    """Creates resources in one account of the emulator through the AWS APIs."""

    endpoint: str
    session: boto3.Session
    account: str = MANAGEMENT
    region: str = REGION
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self.clients:
            self.clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint
            )
        return self.clients[key]

    def arn(self, service: str, resource: str, region: str | None = "") -> str:
        where = self.region if region == "" else (region or "")
        return f"arn:aws:{service}:{where}:{self.account}:{resource}"

    # -- IAM -----------------------------------------------------------------

    def role(
        self,
        name: str,
        *,
        trust: dict[str, Any] | None = None,
        inline: dict[str, dict[str, Any]] | None = None,
        managed: list[str] = (),  # type: ignore[assignment]
    ) -> str:
        iam = self.client("iam")
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or TRUST_CODEPIPELINE)
        )["Role"]["Arn"]
        for policy_name, doc in (inline or {}).items():
            iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(doc)
            )
        for policy_arn in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return str(arn)

    def managed_policy(self, name: str, doc: dict[str, Any]) -> str:
        return str(
            self.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))[
                "Policy"
            ]["Arn"]
        )

    # -- storage ---------------------------------------------------------------

    def bucket(self, name: str, *, versioned: bool = True, lock: bool = False) -> str:
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**kwargs)
        if versioned and not lock:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if lock:
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
                },
            )
        return name

    def key(self, alias: str | None = None) -> str:
        kms = self.client("kms")
        arn = str(kms.create_key(Description="artifacts")["KeyMetadata"]["Arn"])
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=arn)
        return arn

    # -- build, functions, secrets ---------------------------------------------

    def project(
        self,
        name: str,
        *,
        role: str,
        env: list[dict[str, str]] | None = None,
        buildspec: str | None = None,
    ) -> str:
        source: dict[str, Any] = {"type": "CODEPIPELINE", "location": "CODEPIPELINE"}
        if buildspec is not None:
            source["buildspec"] = buildspec
        self.client("codebuild").create_project(
            name=name,
            source=source,
            artifacts={"type": "CODEPIPELINE", "location": "CODEPIPELINE"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
                "environmentVariables": env or [],
            },
            serviceRole=role,
        )
        return name

    def log_group(self, name: str) -> str:
        self.client("logs").create_log_group(logGroupName=name)
        return name

    def function(self, name: str, *, role: str) -> str:
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\n    return event\n")
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": buffer.getvalue()},
        )
        return name

    def secret(self, name: str) -> str:
        return str(
            self.client("secretsmanager").create_secret(Name=name, SecretString="s3cr3t-value")[
                "ARN"
            ]
        )

    def repository(self, name: str, *, immutable: bool = False) -> str:
        self.client("ecr").create_repository(
            repositoryName=name,
            imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
        )
        return name

    # -- pipelines --------------------------------------------------------------

    def pipeline(
        self,
        name: str,
        *,
        role: str,
        bucket: str,
        key: str | None = None,
        source: dict[str, Any] | None = None,
        build_project: str | None = None,
        extra_stages: list[dict[str, Any]] | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        store: dict[str, Any] = {"type": "S3", "location": bucket}
        if key is not None:
            store["encryptionKey"] = {"id": key, "type": "KMS"}
        source_action = source or {
            "name": "Source",
            "actionTypeId": {
                "category": "Source",
                "owner": "AWS",
                "provider": "S3",
                "version": "1",
            },
            "configuration": {"S3Bucket": bucket, "S3ObjectKey": f"{name}/source.zip"},
            "outputArtifacts": [{"name": "src"}],
        }
        if build_project is not None:
            second = {
                "name": "Build",
                "actionTypeId": {
                    "category": "Build",
                    "owner": "AWS",
                    "provider": "CodeBuild",
                    "version": "1",
                },
                "configuration": {"ProjectName": build_project},
                "inputArtifacts": [{"name": "src"}],
                "outputArtifacts": [{"name": "out"}],
            }
        else:
            second = {
                "name": "Approve",
                "actionTypeId": {
                    "category": "Approval",
                    "owner": "AWS",
                    "provider": "Manual",
                    "version": "1",
                },
            }
        declaration = {
            "name": name,
            "roleArn": role,
            "artifactStore": store,
            "pipelineType": "V2",
            "executionMode": "QUEUED",
            "stages": [
                {"name": "Source", "actions": [source_action]},
                {"name": second["name"], "actions": [second]},
                *(extra_stages or []),
            ],
        }
        params: dict[str, Any] = {"pipeline": declaration}
        if tags:
            params["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        self.client("codepipeline").create_pipeline(**params)
        return self.arn("codepipeline", name)


# -- failures injected at the HTTP layer ---------------------------------------------------
#
# A ``before-send`` hook answers a request in place of the server: botocore parses that
# answer and applies its retry policy to it exactly as to one from the network, which is
# how these tests get AccessDenied, throttling and region failures deterministically.

_QUERY = {"iam", "sts"}
_REST_XML = {"s3"}
_REST_JSON = {"lambda"}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def error_response(url: str, service: str, status: int, code: str, message: str) -> Any:
    from botocore.awsrequest import AWSResponse

    headers: dict[str, str] = {}
    if service in _QUERY:
        data = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>pw</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif service == "ec2":
        data = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
            "</Error></Errors><RequestID>pw</RequestID></Response>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif service in _REST_XML:
        data = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers["Content-Type"] = "application/xml"
    elif service in _REST_JSON:
        data = json.dumps({"Type": "User", "message": message}).encode()
        headers["Content-Type"] = "application/json"
        headers["x-amzn-ErrorType"] = code
    else:
        data = json.dumps({"__type": code, "message": message}).encode()
        headers["Content-Type"] = "application/x-amz-json-1.1"
    headers["Content-Length"] = str(len(data))
    return AWSResponse(url, status, headers, _Body(data))


def request_region(request: Any) -> str:
    """The region a request is signed for (from its SigV4 credential scope)."""
    auth = request.headers.get("Authorization", b"")
    auth = auth.decode() if isinstance(auth, bytes) else str(auth)
    scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return scope[2] if len(scope) > 2 else ""


def request_text(request: Any) -> str:
    body = request.body or b""
    body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    from urllib.parse import unquote

    return unquote(f"{request.url} {body}")


@dataclass
class Injected:
    """Requests a failure hook answered."""

    seen: list[str] = field(default_factory=list)


def fail_requests(
    session: boto3.Session,
    service: str,
    operation: str,
    *,
    code: str,
    status: int = 400,
    message: str = "injected by the test",
    match: Any = None,
    times: int | None = None,
    raise_error: Exception | None = None,
) -> Injected:
    """Answer matching requests of ``service`` (botocore name) ``operation`` with an error
    (``times`` times, else always), or raise ``raise_error`` as the connection would."""
    service_ids = {"logs": "cloudwatch-logs", "secretsmanager": "secrets-manager"}
    injected = Injected()

    def answer(request: Any, **_: Any) -> Any:
        if match is not None and not match(request):
            return None
        if times is not None and len(injected.seen) >= times:
            return None
        injected.seen.append(request_text(request))
        if raise_error is not None:
            raise raise_error
        return error_response(request.url, service, status, code, message)

    event = f"before-send.{service_ids.get(service, service)}.{operation}"
    session.events.register(event, answer)
    return injected
