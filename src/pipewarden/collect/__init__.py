"""Live collection: read pipelines and what they depend on from AWS accounts.

:func:`collect` returns a snapshot document (schema version 1, see
``docs/snapshot.md``): the raw responses of read-only API calls across the
accounts and regions of a :class:`Scope`, plus the gaps, what could not be
read and why. ``pipewarden.parse.snapshot.parse_snapshot`` turns it into an
Inventory exactly as it does a snapshot file, so a live scan and a scan of
the written snapshot give the same results.

One reader module per AWS service makes the calls and declares, in
``PERMISSIONS``, every IAM action it may need; :data:`PERMISSIONS` is their
union, the least-privilege read-only policy ``pipewarden policy`` prints.
boto3 is imported only under this package, and only when used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import boto3

__all__ = [
    "HOP_ACTIONS",
    "PERMISSIONS",
    "READERS",
    "Scope",
    "collect",
    "count_calls",
    "iam_action",
    "in_shard",
    "new_session",
    "policy_document",
]

# The reader modules, one per AWS service (pipewarden.collect.<name>).
READERS: Final = (
    "codebuild",
    "codeconnections",
    "codepipeline",
    "ec2",
    "ecr",
    "iam",
    "kms",
    "lambda_",
    "logs",
    "organizations",
    "s3",
    "secretsmanager",
    "sts",
    "tagging",
)

# Not a read: assuming the scanner role in another account (--org, --accounts, --assume-role).
HOP_ACTIONS: Final = frozenset({"sts:AssumeRole"})

# botocore service names whose IAM prefix differs.
_SERVICE_PREFIXES: Final = {"resourcegroupstaggingapi": "tag"}

# IAM names these operations differently from the API (service, operation) -> action.
_ACTION_NAMES: Final = {
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
}


@dataclass(frozen=True)
class Scope:
    """What to collect.

    ``regions`` None: every region enabled for each account (with an
    ``endpoint_url``, an emulator, the session's region). ``accounts``: these
    accounts (the caller's own is read with its own credentials, others
    through ``role_name``); with ``org``, only these of the organisation.
    ``assume_role``: a role to assume first, from which everything else is
    read. ``shard`` (K, N): only the accounts whose hash falls in part K
    (0 <= K < N) of N. ``max_workers``: accounts read at once, and regions of
    one account at once. ``max_attempts``: botocore's adaptive retry budget.
    """

    profile: str | None = None
    regions: tuple[str, ...] | None = None
    accounts: tuple[str, ...] | None = None
    org: bool = False
    role_name: str = "PipeWardenReadOnly"
    external_id: str | None = None
    assume_role: str | None = None
    endpoint_url: str | None = None
    shard: tuple[int, int] | None = None
    max_workers: int = 8
    max_attempts: int = 10


def in_shard(account_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether an account belongs to shard (K, N): sha256(account id) mod N == K.

    A hash rather than a position in the list, so an account stays in its
    shard when others join or leave the organisation.
    """
    if shard is None:
        return True
    k, n = shard
    digest = int.from_bytes(hashlib.sha256(account_id.encode("ascii")).digest()[:8], "big")
    return digest % n == k


def iam_action(service: str, operation: str) -> str:
    """The IAM action a botocore (service, operation) call needs."""
    prefix = _SERVICE_PREFIXES.get(service, service)
    return _ACTION_NAMES.get((service, operation), f"{prefix}:{operation}")


def new_session(profile: str | None = None, *, emulator: bool = False) -> boto3.Session:
    """A boto3 session on the standard credential chain (``profile`` if given).

    ``emulator``: the endpoint is a local AWS emulator; see
    :func:`pipewarden.collect.emulator.answer_missing_apis`.
    """
    import boto3

    from pipewarden.collect._aws import CREDENTIAL_EXCEPTIONS
    from pipewarden.errors import CollectionError

    try:
        session = boto3.Session(profile_name=profile)
    except CREDENTIAL_EXCEPTIONS as exc:
        raise CollectionError(f"cannot use the AWS profile: {exc}") from exc
    if emulator:
        from pipewarden.collect.emulator import answer_missing_apis

        answer_missing_apis(session)
    return session


def collect(
    scope: Scope,
    *,
    session: boto3.Session | None = None,
    progress: bool = False,
    clock: Callable[[], dt.datetime] | None = None,
) -> dict[str, Any]:
    """Collect a snapshot document (schema version 1) for ``scope``.

    ``session`` defaults to ``boto3.Session(profile_name=scope.profile)`` (the
    standard credential chain). ``progress`` shows a progress bar on stderr.
    Raises :class:`~pipewarden.errors.CollectionError` when nothing can be read
    (no credentials, expired credentials, an organisation that cannot be
    listed, a first role that cannot be assumed); everything narrower is a gap.
    """
    from pipewarden.collect._collector import Collector

    return Collector(scope, session=session, progress=progress, clock=clock).run()


@contextmanager
def count_calls(session: Any) -> Iterator[Counter[tuple[str, str]]]:
    """Count every API call (each page counts) made by clients that ``session``
    creates inside the block, by (botocore service name, operation name)."""
    import threading

    counter: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    active = [True]

    def _count(model: Any, **_: Any) -> None:
        if active[0]:
            key = (str(model.service_model.service_name), str(model.name))
            with lock:
                counter[key] += 1

    events = getattr(session, "events", None)
    if events is None:
        events = session.get_component("event_emitter")
    # Parameter building runs for every call, even one a stub answers before sending.
    events.register("before-parameter-build", _count)
    try:
        yield counter
    finally:
        active[0] = False
        events.unregister("before-parameter-build", _count)


def policy_document(role_name: str = "PipeWardenReadOnly") -> dict[str, Any]:
    """The least-privilege IAM policy for collection: every read-only action of
    :data:`PERMISSIONS` on every resource, and ``sts:AssumeRole`` (the one action
    that is not a read) only on ``role_name`` in other accounts."""
    actions = sorted(_permissions() - HOP_ACTIONS)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PipeWardenRead", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {
                "Sid": "PipeWardenHop",
                "Effect": "Allow",
                "Action": sorted(HOP_ACTIONS),
                "Resource": f"arn:*:iam::*:role/{role_name}",
            },
        ],
    }


def _permissions() -> frozenset[str]:
    import importlib

    out: set[str] = set()
    for name in READERS:
        out |= importlib.import_module(f"pipewarden.collect.{name}").PERMISSIONS
    return frozenset(out)


def __getattr__(name: str) -> frozenset[str]:
    # PERMISSIONS imports every reader (and botocore): only when asked for.
    if name == "PERMISSIONS":
        value = _permissions()
        globals()["PERMISSIONS"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
