"""Answers for the read APIs a local AWS emulator (moto 5.2) does not implement.

moto answers an operation it lacks with HTTP 500, which botocore retries with
back-off before the collector records a gap: many seconds per call. Against an
emulator (``pipewarden demo``, the tests) :func:`answer_missing_apis`
registers a ``before-send`` hook on the session so those operations get an
answer at once instead: an empty list where the emulator can hold no such
resource (account-wide log data protection policies, pipeline webhooks,
custom action types), and HTTP 501 ``NotImplemented`` otherwise, which the
collector records as a gap. moto's Resource Groups Tagging API does not know
pipelines: ``GetResources`` for ``codepipeline:pipeline`` is answered from
moto's own pipeline tags. Every other call goes to the emulator as usual.

Never use this against AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse

__all__ = ["EMPTY_ANSWERS", "MISSING", "answer_missing_apis"]

# (botocore service id as in event names, operation) that moto 5.2.5 does not implement
# and the collector may call. "*" stands for every operation of the service.
MISSING: Final = frozenset(
    {
        ("codepipeline", "ListActionTypes"),
        ("codepipeline", "ListWebhooks"),
        ("codepipeline", "GetActionType"),
        ("cloudwatch-logs", "GetDataProtectionPolicy"),
        ("cloudwatch-logs", "DescribeAccountPolicies"),
        ("codeconnections", "*"),
        ("codestar-connections", "*"),
    }
)

# Operations whose truthful answer from an emulator that cannot hold the resource is "none".
EMPTY_ANSWERS: Final[Mapping[tuple[str, str], dict[str, Any]]] = {
    ("codepipeline", "ListActionTypes"): {"actionTypes": []},
    ("codepipeline", "ListWebhooks"): {"webhooks": []},
    ("cloudwatch-logs", "DescribeAccountPolicies"): {"accountPolicies": []},
}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _response(url: str, status: int, body: dict[str, Any]) -> AWSResponse:
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/x-amz-json-1.1", "Content-Length": str(len(data))}
    return AWSResponse(url, status, headers, _Body(data))


class _PipelineTags:
    """GetResources for pipelines, from moto's own ListPipelines / ListTagsForResource."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None

    def __call__(self, request: Any) -> AWSResponse | None:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return None
        if body.get("ResourceTypeFilters") != ["codepipeline:pipeline"]:
            return None
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else str(auth)
        scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
        if len(scope) < 3:
            return None
        token = request.headers.get("X-Amz-Security-Token")
        token = token.decode() if isinstance(token, bytes) else token
        url = urlsplit(request.url)
        with self._lock:
            if self._session is None:
                import botocore.session

                self._session = botocore.session.Session()
            client = self._session.create_client(
                "codepipeline",
                region_name=scope[2],
                endpoint_url=f"{url.scheme}://{url.netloc}",
                aws_access_key_id=scope[0],
                aws_secret_access_key="emulator",  # noqa: S106 - the emulator checks no signature
                aws_session_token=token,
            )
        mappings = []
        for item in client.list_pipelines().get("pipelines", []):
            got = client.get_pipeline(name=item["name"])
            arn = got["metadata"]["pipelineArn"]
            tags = client.list_tags_for_resource(resourceArn=arn).get("tags", [])
            if tags:
                mappings.append(
                    {
                        "ResourceARN": arn,
                        "Tags": [{"Key": t["key"], "Value": t.get("value", "")} for t in tags],
                    }
                )
        return _response(request.url, 200, {"ResourceTagMappingList": mappings})


def answer_missing_apis(session: Any) -> None:
    """Answer, on ``session`` (a boto3 or botocore session), the operations in
    :data:`MISSING` without sending them. Register before creating clients."""
    pipeline_tags = _PipelineTags()

    def answer(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        parts = event_name.split(".")
        if len(parts) < 3:
            return None
        service, operation = parts[1], parts[2]
        if (service, operation) == ("resource-groups-tagging-api", "GetResources"):
            return pipeline_tags(request)
        if (service, operation) not in MISSING and (service, "*") not in MISSING:
            return None
        canned = EMPTY_ANSWERS.get((service, operation))
        if canned is not None:
            return _response(request.url, 200, canned)
        return _response(
            request.url,
            501,
            {
                "__type": "NotImplemented",
                "message": f"{operation} is not implemented by the local AWS emulator",
            },
        )

    events = getattr(session, "events", None)
    if events is None:
        events = session.get_component("event_emitter")
    events.register("before-send", answer)
