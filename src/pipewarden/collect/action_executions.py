"""A pipeline's action executions and declaration, for ``pipewarden reach --aws``.

``ListActionExecutions`` records, per action execution, the S3 location of
every input and output artifact: it links a build output to the deploy actions
that took it. ``GetPipeline`` gives the declaration, so that each deploy is
judged production by the scanner's own definition (stage pattern, accounts,
tags).
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.errors import CollectionError

__all__ = ["MAX_EXECUTIONS", "PERMISSIONS", "codepipeline_client", "deploy_history"]

PERMISSIONS: Final = frozenset({"codepipeline:GetPipeline", "codepipeline:ListActionExecutions"})
MAX_EXECUTIONS: Final = 1000
"""At most this many action executions are read (newest first)."""


def codepipeline_client(
    *, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None
) -> Any:
    """A CodePipeline client on the standard credential chain (or ``profile``)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(profile_name=profile, region_name=region)
    return session.client(
        "codepipeline",
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "adaptive", "max_attempts": 5}),
    )


def _failed(operation: str, pipeline: str, exc: Exception) -> CollectionError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"{error.get('Code', 'Error')}: {str(error.get('Message', ''))[:300]}"
    else:
        detail = str(exc)[:300]
    return CollectionError(f"{operation} on pipeline {pipeline[:200]}: {detail}")


def deploy_history(
    client: Any,
    pipeline: str,
    *,
    execution_id: str | None = None,
    limit: int = MAX_EXECUTIONS,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(action executions, newest first; the ``GetPipeline`` response or None when it
    cannot be read). A failed ``ListActionExecutions`` raises CollectionError."""
    from botocore.exceptions import BotoCoreError, ClientError

    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"pipelineName": pipeline, "maxResults": 100}
    if execution_id is not None:
        request["filter"] = {"pipelineExecutionId": execution_id}
    try:
        while len(items) < limit:
            page = client.list_action_executions(**request)
            items.extend(d for d in page.get("actionExecutionDetails", ()) if isinstance(d, dict))
            token = page.get("nextToken")
            if not token:
                break
            request["nextToken"] = token
    except (BotoCoreError, ClientError) as exc:
        raise _failed("ListActionExecutions", pipeline, exc) from exc
    try:
        declaration: dict[str, Any] | None = client.get_pipeline(name=pipeline)
    except (BotoCoreError, ClientError):
        declaration = None
    return items[:limit], declaration
