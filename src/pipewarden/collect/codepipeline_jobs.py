"""What the gate's Lambda function needs from AWS: job results and the objects it reads.

* ``PutJobSuccessResult`` / ``PutJobFailureResult`` report an Invoke action's
  outcome (a CodePipeline job); both need ``"Resource": "*"`` in IAM.
* ``GetObject`` reads an input artifact (with the job's temporary artifact
  credentials) or an ``s3://`` object named in the configuration (with the
  function's own role), streamed with a size limit into a spooled temporary
  file, never more than the limit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import IO, Any, Final

from pipewarden.errors import CollectionError

__all__ = [
    "PERMISSIONS",
    "codepipeline_client",
    "download",
    "put_job_failure",
    "put_job_success",
    "s3_client",
]

PERMISSIONS: Final = (
    "codepipeline:PutJobFailureResult",
    "codepipeline:PutJobSuccessResult",
    "s3:GetObject",
)

# CodePipeline's limits on PutJobFailureResult failureDetails.message and
# executionDetails.summary.
_MAX_FAILURE_MESSAGE: Final = 5000
_MAX_SUMMARY: Final = 2048
_CHUNK: Final = 1 << 20
_SPOOL_IN_MEMORY: Final = 16 << 20

# A boto3 client (``boto3.client(...)``).
Client = Any


def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 5})


def codepipeline_client(*, endpoint_url: str | None = None) -> Client:
    """A CodePipeline client on the standard credential chain (the function's role)."""
    import boto3

    return boto3.session.Session().client(
        "codepipeline", endpoint_url=endpoint_url, config=_config()
    )


def s3_client(
    *, credentials: Mapping[str, Any] | None = None, endpoint_url: str | None = None
) -> Client:
    """An S3 client: the job's artifact credentials when given, else the standard chain."""
    import boto3
    from botocore.config import Config

    config = _config().merge(Config(signature_version="s3v4"))
    if credentials is None:
        return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
    return boto3.session.Session(
        aws_access_key_id=str(credentials.get("accessKeyId", "")),
        aws_secret_access_key=str(credentials.get("secretAccessKey", "")),
        aws_session_token=credentials.get("sessionToken") or None,
    ).client("s3", endpoint_url=endpoint_url, config=config)


def _failed(operation: str, target: str, exc: Exception) -> CollectionError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'Error')}: {str(error.get('Message', ''))[:300]}"
    else:
        detail = str(exc)[:300]
    return CollectionError(f"{operation} on {target}: {detail}")


def download(client: Client, bucket: str, key: str, *, limit: int) -> IO[bytes]:
    """The object ``s3://bucket/key`` as a seekable file (at most ``limit`` bytes; else error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    target = f"s3://{bucket}/{key}"
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        length = response.get("ContentLength")
        if isinstance(length, int) and length > limit:
            raise CollectionError(f"{target}: {length} bytes, more than the limit of {limit}")
        body = response["Body"]
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned to the caller
        total = 0
        while chunk := body.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                spool.close()
                raise CollectionError(f"{target}: more than the limit of {limit} bytes")
            spool.write(chunk)
        spool.seek(0)
        return spool
    except (ClientError, BotoCoreError) as exc:
        raise _failed("s3:GetObject", target, exc) from None


def put_job_success(
    client: Client, job_id: str, *, summary: str, output_variables: Mapping[str, str]
) -> None:
    """Report the job as succeeded."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.put_job_success_result(
            jobId=job_id,
            executionDetails={"summary": summary[:_MAX_SUMMARY]},
            outputVariables=dict(output_variables),
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("codepipeline:PutJobSuccessResult", f"job {job_id}", exc) from None


def put_job_failure(client: Client, job_id: str, *, message: str) -> None:
    """Report the job as failed (``JobFailed``) with ``message`` (cut to 5000 characters)."""
    from botocore.exceptions import BotoCoreError, ClientError

    text = message if len(message) <= _MAX_FAILURE_MESSAGE else message[:4990] + " [cut]"
    try:
        client.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": text or "denied"}
        )
    except (ClientError, BotoCoreError) as exc:
        raise _failed("codepipeline:PutJobFailureResult", f"job {job_id}", exc) from None
