"""The gate's Lambda entry point: Invoke action jobs and LambdaInvoke rule calls.

S3 is moto in server mode on loopback. moto does not implement
PutJobSuccessResult / PutJobFailureResult (NotImplementedError), so those two
operations, and only those, go through a botocore Stubber, which still checks
the parameters against the CodePipeline service model.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipewarden.verify.lambda_handler import GateDenied, handle, handler

Doc = dict[str, Any]
BUCKET = "artifacts"


def result(rule_id: str, status: str, severity: str) -> Doc:
    return {
        "rule_id": rule_id,
        "status": status,
        "severity": severity,
        "pipeline": "app",
        "message": f"{rule_id} {status}",
        "suppressed": None,
    }


SCAN = {"schema_version": "1.0", "results": [result("PW101", "pass", "critical")], "errors": []}
BAD_SCAN = {"schema_version": "1.0", "results": [result("PW101", "fail", "critical")], "errors": []}
HANDOFF = {
    "verifier": "verify-handoff",
    "verified": True,
    "reason": "every check passed",
    "sbom": {"attached": True},
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(endpoint: str) -> Any:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def _factory(endpoint: str) -> Any:
    seen: list[Mapping[str, Any] | None] = []

    def make(credentials: Mapping[str, Any] | None) -> Any:
        from pipewarden.collect.codepipeline_jobs import s3_client

        seen.append(credentials)
        return s3_client(credentials=credentials, endpoint_url=endpoint)

    make.seen = seen  # type: ignore[attr-defined]
    return make


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def job_event(params: Any, artifacts: Mapping[str, str]) -> Doc:
    return {
        "CodePipeline.job": {
            "id": "11111111-2222-3333-4444-555555555555",
            "accountId": "111122223333",
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "FunctionName": "pipewarden-gate",
                        "UserParameters": params if isinstance(params, str) else json.dumps(params),
                    }
                },
                "inputArtifacts": [
                    {
                        "name": name,
                        "revision": None,
                        "location": {
                            "type": "S3",
                            "s3Location": {"bucketName": BUCKET, "objectKey": key},
                        },
                    }
                    for name, key in artifacts.items()
                ],
                "outputArtifacts": [],
                "artifactCredentials": {
                    "accessKeyId": "AKIAARTIFACT",
                    "secretAccessKey": "artifact-secret",
                    "sessionToken": "artifact-token",
                },
            },
        }
    }


JOB_ID = "11111111-2222-3333-4444-555555555555"


def _codepipeline() -> Any:
    return boto3.client("codepipeline", region_name="us-east-1")


def _expect_success(stub: Stubber) -> None:
    stub.add_response(
        "put_job_success_result",
        {},
        {
            "jobId": JOB_ID,
            "executionDetails": {"summary": "allowed by builtin:default"},
            "outputVariables": {"decision": "allow"},
        },
    )


def _expect_failure(stub: Stubber) -> None:
    stub.add_response(
        "put_job_failure_result",
        {},
        {"jobId": JOB_ID, "failureDetails": {"type": "JobFailed", "message": ANY}},
    )


def _put_artifact(s3: Any, key: str, files: Mapping[str, bytes]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=_zip(files))


def test_job_allowed_reads_input_artifacts(s3: Any, endpoint: str) -> None:
    _put_artifact(s3, "app/Scan/a.zip", {"reports/scan.json": json.dumps(SCAN).encode()})
    _put_artifact(s3, "app/Verify/b.zip", {"handoff.json": json.dumps(HANDOFF).encode()})
    params = {"scan": "ScanOut::reports/scan.json", "evidence": ["VerifyOut::handoff.json"]}
    event = job_event(params, {"ScanOut": "app/Scan/a.zip", "VerifyOut": "app/Verify/b.zip"})
    client = _codepipeline()
    factory = _factory(endpoint)
    with Stubber(client) as stub:
        _expect_success(stub)
        record = handle(event, codepipeline=client, s3_factory=factory, environ={})
        stub.assert_no_pending_responses()
    assert record["decision"] == "allow"
    assert record["job_id"] == JOB_ID
    assert record["inputs"]["scan"]["ref"] == "ScanOut::reports/scan.json"
    # Artifacts are read with the job's artifact credentials, each zip once.
    assert factory.seen == [event["CodePipeline.job"]["data"]["artifactCredentials"]] * 2


def test_job_denied_reports_failure_with_reasons(s3: Any, endpoint: str) -> None:
    _put_artifact(s3, "a.zip", {"scan.json": json.dumps(BAD_SCAN).encode()})
    event = job_event({"scan": "Out::scan.json"}, {"Out": "a.zip"})
    client = _codepipeline()
    with Stubber(client) as stub:
        _expect_failure(stub)
        record = handle(event, codepipeline=client, s3_factory=_factory(endpoint), environ={})
        stub.assert_no_pending_responses()
    assert record["decision"] == "deny"
    assert any("PW101 (critical) fails" in r for r in record["reasons"])
    assert any("no verified attestation" in r for r in record["reasons"])


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ("not json", "UserParameters is not JSON"),
        ({"scna": "Out::scan.json"}, "unknown parameter(s) scna"),
        ({"scan": "Missing::scan.json"}, "no input artifact `Missing`"),
        ({"scan": "Out::nope.json"}, "has no file `nope.json`"),
        ({"scan": "Out::bad.json"}, "not valid JSON"),
        ({"scan": "s3://artifacts/absent.json"}, "NoSuchKey"),
        ({"scan": "plain"}, "neither s3://bucket/key nor ARTIFACT::PATH"),
        ({"policy": "Out::bad.rego"}, "does not compile"),
        ({"evidence": "Out::scan.json"}, "`evidence` must be a list"),
        ({"policy": {"inline": 1}}, "`policy` must be a reference string"),
    ],
)
def test_job_errors_are_reported_as_failures(
    s3: Any, endpoint: str, params: Any, reason: str
) -> None:
    _put_artifact(
        s3,
        "a.zip",
        {"scan.json": json.dumps(SCAN).encode(), "bad.json": b"{", "bad.rego": b"package x {"},
    )
    event = job_event(params, {"Out": "a.zip"})
    client = _codepipeline()
    with Stubber(client) as stub:
        _expect_failure(stub)
        record = handle(event, codepipeline=client, s3_factory=_factory(endpoint), environ={})
        stub.assert_no_pending_responses()
    assert record["decision"] == "deny"
    assert reason in record["reasons"][0], record["reasons"]


def test_job_input_that_is_not_a_zip(s3: Any, endpoint: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw", Body=b"not a zip")
    event = job_event({"scan": "Out::scan.json"}, {"Out": "raw"})
    client = _codepipeline()
    with Stubber(client) as stub:
        _expect_failure(stub)
        record = handle(event, codepipeline=client, s3_factory=_factory(endpoint), environ={})
    assert "is not a zip archive" in record["reason"]


def test_zip_member_larger_than_the_limit(s3: Any, endpoint: str) -> None:
    _put_artifact(s3, "big.zip", {"scan.json": b" " * ((64 << 20) + 1)})
    event = job_event({"scan": "Out::scan.json"}, {"Out": "big.zip"})
    client = _codepipeline()
    with Stubber(client) as stub:
        _expect_failure(stub)
        record = handle(event, codepipeline=client, s3_factory=_factory(endpoint), environ={})
    assert "larger than 64 MiB" in record["reason"]


def test_a_crash_is_still_reported(endpoint: str) -> None:
    event = job_event({}, {})
    event["CodePipeline.job"]["data"]["inputArtifacts"] = "not a list"
    client = _codepipeline()
    with Stubber(client) as stub:
        _expect_failure(stub)
        record = handle(event, codepipeline=client, s3_factory=_factory(endpoint), environ={})
        stub.assert_no_pending_responses()
    assert "internal error" in record["reason"]


def test_a_job_without_id_cannot_be_reported() -> None:
    from pipewarden.verify.gate import GateError

    with pytest.raises(GateError, match="no id"):
        handle({"CodePipeline.job": {"data": {}}}, codepipeline=object(), environ={})


# -- rule mode: raise on deny --------------------------------------------------------


def test_rule_allows_with_inline_documents() -> None:
    record = handle({"scan": SCAN, "evidence": [HANDOFF]}, environ={})
    assert record["decision"] == "allow"
    assert record["inputs"]["scan"] == {"inline": True}


def test_rule_denies_by_raising() -> None:
    with pytest.raises(GateDenied, match="no verified attestation"):
        handle({"UserParameters": json.dumps({"scan": SCAN})}, environ={})
    with pytest.raises(GateDenied, match="input artifacts are available to a job only"):
        handle({"scan": "Out::scan.json"}, environ={})
    with pytest.raises(GateDenied, match="unknown parameter"):
        handle({"something": "else"}, environ={})
    with pytest.raises(GateDenied, match="must be a JSON object"):
        handle(["not", "an", "object"], environ={})


def test_handler_reads_s3_with_the_function_role(
    s3: Any, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real entry point, with boto3's own endpoint setting pointing at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    s3.put_object(Bucket=BUCKET, Key="gate/scan.json", Body=json.dumps(SCAN).encode())
    s3.put_object(
        Bucket=BUCKET,
        Key="gate/handoff.jsonl",
        Body=(json.dumps(HANDOFF) + "\n").encode(),
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="gate/policy.rego",
        Body=b'package pipewarden.gate\nimport rego.v1\ndeny contains "x" if input.scan.results[0].status != "pass"\n',
    )
    event = {
        "policy": "s3://artifacts/gate/policy.rego",
        "scan": "s3://artifacts/gate/scan.json",
        "evidence": ["s3://artifacts/gate/handoff.jsonl"],
    }
    record = handler(event, None)
    assert record["decision"] == "allow"
    assert record["policy"]["source"] == "s3://artifacts/gate/policy.rego"
    assert record["inputs"]["evidence"][0]["records"] == 1
    s3.put_object(Bucket=BUCKET, Key="gate/scan.json", Body=json.dumps(BAD_SCAN).encode())
    with pytest.raises(GateDenied, match="gate denied: x"):
        handler(event, None)
