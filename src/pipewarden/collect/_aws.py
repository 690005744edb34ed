"""The botocore edge of the collector: clients, retries, and what an AWS error means.

Readers make their API calls through :class:`Reading`, which knows the account
and credentials, records gaps, and classifies every ``ClientError`` by its code:

* denied (``AccessDenied*``, ``UnauthorizedOperation``, ...), not found,
  throttled or unavailable after botocore's adaptive retries, an invalid
  identifier, or a region the account has not enabled: a **gap** (or, for the
  codes the snapshot format treats as answers, the stored error response);
* expired or rejected credentials: :class:`~pipewarden.errors.CollectionError`,
  which ends the collection with one line;
* anything else: propagates.

``EndpointConnectionError`` and ``ConnectTimeoutError`` (an endpoint that does
not exist in a region, or cannot be reached) are gaps too.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    UnknownEndpointError,
    UnknownServiceError,
)

from pipewarden.errors import CollectionError

__all__ = [
    "CREDENTIAL_EXCEPTIONS",
    "Clients",
    "Credentials",
    "Failure",
    "Gaps",
    "Reading",
    "Unreadable",
    "jsonable",
]

_log = logging.getLogger(__name__)

MAX_MESSAGE: Final = 4096

# Raised by botocore before any request when no usable credentials exist.
CREDENTIAL_EXCEPTIONS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    NoRegionError,
)

_EXPIRED: Final = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
_REJECTED: Final = frozenset(
    {"SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken"}
)
# What an endpoint in a region the account has not enabled (opt-in regions) answers.
_REGION_DISABLED: Final = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "OptInRequired",
        "InvalidToken",
    }
)
_DENIED: Final = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "UnauthorizedException",
        "AuthorizationError",
        "AuthorizationErrorException",
        "AllAccessDisabled",
        "Forbidden",
        "ForbiddenException",
        "AWSOrganizationsNotInUseException",
    }
)
_THROTTLED: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_UNAVAILABLE: Final = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalServiceError",
        "InternalServiceException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
        "ServiceFailure",
        "NotImplemented",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_INVALID: Final = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameter",
        "InvalidParameterException",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidParameterCombination",
        "InvalidInput",
        "InvalidInputException",
        "InvalidRequest",
        "InvalidRequestException",
        "InvalidArnException",
        "InvalidArgument",
        "InvalidBucketName",
        "InvalidKeyId",
        "InvalidArn",
        "MalformedPolicyDocument",
    }
)


class Failure(StrEnum):
    """Why a read produced no answer (each becomes a gap)."""

    DENIED = "denied"
    NOT_FOUND = "not found"
    THROTTLED = "throttled after retries"
    UNAVAILABLE = "unavailable"
    INVALID = "rejected as invalid"
    REGION = "region not enabled"


def _not_found(code: str) -> bool:
    return (
        code.startswith("NoSuch")
        or code.endswith(("NotFound", "NotFoundException", "NotFoundError", "NotFoundFault"))
        or code in {"EntityNotFound", "NotFound"}
    )


def classify_code(code: str, status: int | None) -> Failure | None:
    """The kind of failure an error code (and HTTP status) means; None: not a gap."""
    if code in _DENIED or code.startswith("AccessDenied"):
        return Failure.DENIED
    if _not_found(code):
        return Failure.NOT_FOUND
    if code in _THROTTLED or "Throttl" in code:
        return Failure.THROTTLED
    if code in _UNAVAILABLE:
        return Failure.UNAVAILABLE
    if code in _INVALID:
        return Failure.INVALID
    if code in _REGION_DISABLED:
        return Failure.REGION
    # An error without an AWS code (botocore names it by HTTP status).
    if status is not None:
        if status == 403:
            return Failure.DENIED
        if status == 404:
            return Failure.NOT_FOUND
        if status == 429:
            return Failure.THROTTLED
        if status >= 500:
            return Failure.UNAVAILABLE
    return None


class Unreadable(Exception):
    """A read that failed in a way the snapshot records as a gap."""

    def __init__(self, failure: Failure, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.failure = failure
        self.code = code
        self.message = message


def _error_parts(exc: ClientError) -> tuple[str, str, int | None]:
    error = exc.response.get("Error") or {}
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or error.get("message") or "")
    if message.lstrip().startswith("<"):
        message = ""  # an HTML error page, not an AWS message
    status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code, message, status if isinstance(status, int) else None


def credentials_error(code: str, message: str) -> CollectionError:
    """The one-line error for credentials that AWS refuses."""
    if code in _EXPIRED:
        what = "the AWS credentials have expired"
    else:
        what = "the AWS credentials were rejected"
    detail = f" ({code}: {message})" if message else f" ({code})"
    return CollectionError(
        f"{what}{detail[:300]}; sign in again or choose other credentials "
        "(--profile, AWS_PROFILE, environment variables, SSO login)"
    )


def unreadable_from(exc: ClientError) -> Unreadable:
    """Classify a ClientError: Unreadable for a gap; raises for credentials; re-raises others."""
    code, message, status = _error_parts(exc)
    if code in _EXPIRED or code in _REJECTED:
        raise credentials_error(code, message) from exc
    failure = classify_code(code, status)
    if failure is None:
        raise exc
    return Unreadable(failure, code, message)


def jsonable(value: Any) -> Any:
    """A botocore response as JSON data: datetimes as ISO 8601, bytes as base64,
    without ``ResponseMetadata``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials of an assumed role (never printed)."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


class Clients:
    """Every client of one collection, created once each from one session.

    Clients come from the session the caller gave (so event hooks registered
    on it, such as :func:`pipewarden.collect.count_calls`, see every call),
    with explicit credentials for assumed roles. boto3 sessions are not
    thread-safe, clients are: creation is serialised, use is not.
    """

    def __init__(
        self,
        session: Any,
        *,
        endpoint_url: str | None,
        max_attempts: int,
        pool_size: int,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            max_pool_connections=max(10, pool_size),
            user_agent_extra="pipewarden",
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    def get(self, service: str, region: str, creds: Credentials | None) -> Any:
        """The client for ``service`` in ``region`` with ``creds`` (None: the session's)."""
        key = (service, region, creds.access_key if creds is not None else "")
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {"region_name": region, "config": self.config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                if creds is not None:
                    kwargs["aws_access_key_id"] = creds.access_key
                    kwargs["aws_secret_access_key"] = creds.secret_key
                    kwargs["aws_session_token"] = creds.token
                client = self.session.client(service, **kwargs)
                self._clients[key] = client
            return client


class Gaps:
    """The gaps of one collection (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []

    def add(
        self,
        *,
        account: str | None,
        region: str | None,
        service: str,
        operation: str,
        kind: str,
        resource: str | None,
        code: str,
        message: str,
    ) -> None:
        """Record one gap."""
        gap = {
            "account_id": account,
            "region": region,
            "service": service,
            "operation": operation,
            "resource_kind": kind,
            "resource": None if resource is None else resource[:2048],
            "error_code": code or "Unknown",
            "message": message[:MAX_MESSAGE],
        }
        _log.info("not read: %s %s %s: %s", service, operation, resource or kind, code)
        with self._lock:
            self._items.append(gap)

    def extend(self, other: Gaps) -> None:
        """Add every gap of ``other``."""
        items = other.items()
        with self._lock:
            self._items.extend(items)

    def items(self) -> list[dict[str, Any]]:
        """Every gap recorded so far (a copy)."""
        with self._lock:
            return list(self._items)

    def sorted(self) -> list[dict[str, Any]]:
        """Every gap, deduplicated and in a stable order."""
        seen: dict[tuple[str, ...], dict[str, Any]] = {}
        for gap in self.items():
            key = tuple(str(gap[k]) for k in sorted(gap))
            seen.setdefault(key, gap)
        return [seen[k] for k in sorted(seen)]


@dataclass(frozen=True, slots=True)
class Reading:
    """Reading one account: its clients and credentials, and where gaps go."""

    clients: Clients
    account_id: str
    creds: Credentials | None
    gaps: Gaps
    partition: str = "aws"
    home_region: str = "us-east-1"

    def with_gaps(self, gaps: Gaps) -> Reading:
        """The same account, recording gaps elsewhere (to keep or drop them later)."""
        return Reading(
            self.clients, self.account_id, self.creds, gaps, self.partition, self.home_region
        )

    def client(self, service: str, region: str | None) -> Any:
        """A client for ``service`` (global services use the home region)."""
        return self.clients.get(service, region or self.home_region, self.creds)

    # -- calls -------------------------------------------------------------

    def attempt(self, service: str, region: str | None, operation: str, **params: Any) -> Any:
        """One API call: the response, or :class:`Unreadable` raised for a gap."""
        try:
            client = self.client(service, region)
            return getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            raise unreadable_from(exc) from exc
        except (EndpointConnectionError, ConnectTimeoutError, UnknownEndpointError) as exc:
            raise Unreadable(Failure.UNAVAILABLE, "EndpointConnectionError", str(exc)) from exc
        except UnknownServiceError as exc:
            raise Unreadable(Failure.UNAVAILABLE, "UnknownService", str(exc)) from exc
        except CREDENTIAL_EXCEPTIONS as exc:
            raise CollectionError(f"no usable AWS credentials: {exc}") from exc

    def attempt_pages(
        self,
        service: str,
        region: str | None,
        operation: str,
        *,
        page_size: int | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Every page of a paginated call merged into one response (no tokens)."""
        try:
            client = self.client(service, region)
            paginator = client.get_paginator(xform_name(operation))
            config = {"PageSize": page_size} if page_size else {}
            result = paginator.paginate(PaginationConfig=config, **params).build_full_result()
        except ClientError as exc:
            raise unreadable_from(exc) from exc
        except (EndpointConnectionError, ConnectTimeoutError, UnknownEndpointError) as exc:
            raise Unreadable(Failure.UNAVAILABLE, "EndpointConnectionError", str(exc)) from exc
        except CREDENTIAL_EXCEPTIONS as exc:
            raise CollectionError(f"no usable AWS credentials: {exc}") from exc
        return dict(result)

    def record(
        self,
        failure: Unreadable,
        *,
        service: str,
        region: str | None,
        operation: str,
        kind: str,
        resource: str | None,
    ) -> None:
        """Record a gap for a failed read."""
        message = failure.message or str(failure.failure)
        self.gaps.add(
            account=self.account_id,
            region=region,
            service=service,
            operation=operation,
            kind=kind,
            resource=resource,
            code=failure.code,
            message=message,
        )

    def call(
        self,
        service: str,
        region: str | None,
        operation: str,
        *,
        kind: str,
        resource: str | None,
        absent: Iterable[str] = (),
        pages: bool = False,
        page_size: int | None = None,
        global_resource: bool = False,
        **params: Any,
    ) -> dict[str, Any] | None:
        """A call whose failure is a gap: the JSON response, the stored error
        response for an ``absent`` code ("not configured"), or None.
        ``global_resource``: the gap names no region (an S3 bucket)."""
        try:
            if pages:
                response = self.attempt_pages(
                    service, region, operation, page_size=page_size, **params
                )
            else:
                response = self.attempt(service, region, operation, **params)
        except Unreadable as failure:
            if failure.code in set(absent):
                error = {"Code": failure.code}
                if failure.message:
                    error["Message"] = failure.message
                return {"Error": error}
            self.record(
                failure,
                service=service,
                region=None if global_resource else region,
                operation=operation,
                kind=kind,
                resource=resource,
            )
            return None
        data = jsonable(response)
        return data if isinstance(data, dict) else {}


def run_all(submit: Callable[..., Any], fn: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
    """Run ``fn(item)`` for every item through ``submit`` (an executor's), in order."""
    futures = [submit(fn, item) for item in items]
    return [f.result() for f in futures]
