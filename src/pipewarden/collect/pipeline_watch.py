"""Pipeline versions for ``pipewarden drift watch``: ListPipelines, then GetPipeline
only for what changed.

``ListPipelines`` returns every pipeline's ``version`` (incremented by each
``UpdatePipeline``) and ``updated`` time, one page per 100 pipelines, so a
poll costs a few calls per region whatever the number of pipelines; the
caller fetches a declaration (:meth:`PipelineVersions.get_pipeline`) only when
its version moved. The caller's own account is read with the standard
credential chain (or the session given), in the regions asked for (default:
the session's region).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import botocore.config
import botocore.exceptions

from pipewarden.collect._aws import CREDENTIAL_EXCEPTIONS, jsonable
from pipewarden.errors import CollectionError, ConfigError

__all__ = ["PERMISSIONS", "Listed", "PipelineVersions"]

PERMISSIONS: Final = frozenset(
    {"codepipeline:ListPipelines", "codepipeline:GetPipeline", "sts:GetCallerIdentity"}
)
_REGION: Final = re.compile(r"^[a-z]{2,}(-[a-z]+)+-[0-9]+$")
_NAME: Final = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
_GONE: Final = frozenset({"PipelineNotFoundException", "ResourceNotFoundException"})
_CONFIG: Final = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra="pipewarden"
)


@dataclass(frozen=True, slots=True)
class Listed:
    """One ``ListPipelines`` element: name, structure version, last update."""

    name: str
    version: int
    updated: str


def _why(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


class PipelineVersions:
    """Reads pipeline versions and declarations of the caller's account."""

    def __init__(
        self,
        *,
        session: Any = None,
        profile: str | None = None,
        regions: Sequence[str] | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        for region in regions or ():
            if not _REGION.fullmatch(region):
                raise ConfigError(f"`{region[:40]}` is not an AWS region name")
        if session is None:
            from pipewarden.collect import new_session

            session = new_session(profile)
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        chosen = list(regions or ())
        if not chosen and getattr(session, "region_name", None):
            chosen = [str(session.region_name)]
        if not chosen:
            raise ConfigError("no region to watch: pass --regions or configure a default region")
        self.regions: tuple[str, ...] = tuple(dict.fromkeys(chosen))
        try:
            identity = self._client("sts", self.regions[0]).get_caller_identity()
        except CREDENTIAL_EXCEPTIONS as exc:
            raise CollectionError(f"no usable AWS credentials: {exc}") from exc
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise CollectionError(f"sts:GetCallerIdentity failed: {_why(exc)}") from exc
        self.account = str(identity["Account"])
        arn = str(identity.get("Arn", "arn:aws:"))
        self.partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint_url, config=_CONFIG
            )
        return self._clients[key]

    def pipeline_arn(self, region: str, name: str) -> str:
        """The ARN of a pipeline of this account."""
        return f"arn:{self.partition}:codepipeline:{region}:{self.account}:{name}"

    def list_versions(self, region: str) -> list[Listed]:
        """Every pipeline of the region with its version, sorted by name."""
        out: dict[str, Listed] = {}
        try:
            paginator = self._client("codepipeline", region).get_paginator("list_pipelines")
            for page in paginator.paginate():
                for item in page.get("pipelines", ()):
                    name = item.get("name")
                    if not isinstance(name, str) or not _NAME.fullmatch(name):
                        continue
                    updated = jsonable(item.get("updated"))
                    out[name] = Listed(name, int(item.get("version") or 0), str(updated or ""))
        except CREDENTIAL_EXCEPTIONS as exc:
            raise CollectionError(f"no usable AWS credentials: {exc}") from exc
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise CollectionError(
                f"codepipeline:ListPipelines in {region} failed: {_why(exc)}"
            ) from exc
        return [out[n] for n in sorted(out)]

    def get_pipeline(self, region: str, name: str) -> dict[str, Any] | None:
        """The GetPipeline response (JSON data), or None when the pipeline is gone."""
        try:
            response = self._client("codepipeline", region).get_pipeline(name=name)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return None
            raise CollectionError(
                f"codepipeline:GetPipeline {name} in {region} failed: {_why(exc)}"
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise CollectionError(
                f"codepipeline:GetPipeline {name} in {region} failed: {_why(exc)}"
            ) from exc
        doc: dict[str, Any] = jsonable(response)
        return doc
