"""The gate as an AWS Lambda function: ``pipewarden.verify.lambda_handler.handler``.

Two ways CodePipeline can call it:

* **Invoke action** (``Invoke``/``AWS``/``Lambda``): the event is a
  ``CodePipeline.job``. The parameters are the action's ``UserParameters``
  (JSON). The decision is reported with ``PutJobSuccessResult`` (allow; output
  variable ``decision``) or ``PutJobFailureResult`` (deny, with the reasons);
  the function then returns the decision record. Any failure, including a
  crash, is reported as a job failure, so the action never waits for a
  timeout and never passes by accident.
* **LambdaInvoke rule** (a stage condition): how a rule reads a function's
  result is not documented beyond "an error from the Lambda function meets
  the criteria for On Failure conditions". So the function *raises*
  :class:`GateDenied` on deny (the invocation errors and the rule fails) and
  returns the decision record on allow. Parameters are the event's
  ``UserParameters`` (JSON string or object) or, without that key, the event
  itself; a rule event that is a ``CodePipeline.job`` is handled as a job.

Parameters (every key optional; an unknown key is an error, so a typo cannot
drop a requirement)::

    {"policy": REF, "scan": REF, "evidence": [REF, ...], "drift": REF}

A REF is ``s3://bucket/key`` (read with the function's role), ``ARTIFACT::PATH``
(the file PATH inside the input artifact ARTIFACT's zip, read with the job's
artifact credentials; jobs only), or, except for ``policy``, the JSON
document itself inline. Without ``policy`` the built-in policy decides.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final

from pipewarden.errors import Error
from pipewarden.verify._evidence import evidence_context, utc_now_iso
from pipewarden.verify.gate import (
    MAX_INPUT_BYTES,
    MAX_POLICY_BYTES,
    Decision,
    GateError,
    Policy,
    decide,
    decision_record,
    default_policy,
    parse_evidence,
    parse_json_document,
)

__all__ = ["MAX_ARTIFACT_BYTES", "GateDenied", "handle", "handler"]

MAX_ARTIFACT_BYTES: Final = 512 << 20
_PARAMETERS: Final = frozenset({"policy", "scan", "evidence", "drift"})

# (credentials or None) -> S3 client; None means the function's own role.
S3Factory = Callable[[Mapping[str, Any] | None], Any]


class GateDenied(Error):
    """The gate denied (rule mode): raised so that the invocation, and the rule, fail."""


@dataclass(slots=True)
class _Sources:
    """Reads REFs: s3:// with the function's role, ARTIFACT::PATH with the job's credentials."""

    s3_factory: S3Factory
    artifacts: dict[str, tuple[str, str]] = field(default_factory=dict)
    credentials: Mapping[str, Any] | None = None
    job: bool = False
    _zips: dict[str, zipfile.ZipFile] = field(default_factory=dict)

    def read(self, ref: str, limit: int) -> bytes:
        from pipewarden.collect.codepipeline_jobs import download

        if ref.startswith("s3://"):
            bucket, _, key = ref[len("s3://") :].partition("/")
            if not bucket or not key:
                raise GateError(f"`{ref[:200]}` is not s3://bucket/key")
            with download(self.s3_factory(None), bucket, key, limit=limit) as fh:
                return fh.read()
        name, sep, member = ref.partition("::")
        if not sep or not name or not member:
            raise GateError(f"`{ref[:200]}` is neither s3://bucket/key nor ARTIFACT::PATH")
        if not self.job:
            raise GateError(f"`{ref[:200]}`: input artifacts are available to a job only")
        archive = self._zips.get(name)
        if archive is None:
            if name not in self.artifacts:
                known = ", ".join(sorted(self.artifacts)) or "none"
                raise GateError(f"no input artifact `{name[:100]}` (input artifacts: {known})")
            bucket, key = self.artifacts[name]
            client = self.s3_factory(self.credentials or {})
            spool = download(client, bucket, key, limit=MAX_ARTIFACT_BYTES)
            try:
                archive = zipfile.ZipFile(spool)
            except (zipfile.BadZipFile, OSError):
                spool.close()
                raise GateError(f"input artifact `{name}` is not a zip archive") from None
            self._zips[name] = archive
        return _zip_member(archive, name, member, limit)

    def close(self) -> None:
        for archive in self._zips.values():
            fp: IO[bytes] | None = archive.fp
            archive.close()
            if fp is not None:
                fp.close()


def _zip_member(archive: zipfile.ZipFile, name: str, member: str, limit: int) -> bytes:
    wanted = member.lstrip("/").removeprefix("./")
    try:
        info = archive.getinfo(wanted)
    except KeyError:
        raise GateError(f"input artifact `{name}` has no file `{member[:200]}`") from None
    if info.file_size > limit:
        raise GateError(f"`{name}::{member[:200]}` is larger than {limit >> 20} MiB")
    try:
        with archive.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise GateError(f"`{name}::{member[:200]}` cannot be read: {exc}") from None
    if len(data) > limit:  # the header lied about the size
        raise GateError(f"`{name}::{member[:200]}` is larger than {limit >> 20} MiB")
    return data


def _parameters(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise GateError("UserParameters is not JSON") from None
    if not isinstance(raw, dict):
        raise GateError("the parameters must be a JSON object")
    unknown = sorted(set(raw) - _PARAMETERS)
    if unknown:
        raise GateError(
            f"unknown parameter(s) {', '.join(unknown)[:200]}; known: "
            + ", ".join(sorted(_PARAMETERS))
        )
    return raw


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _document(ref: Any, what: str, sources: _Sources) -> tuple[Any, dict[str, Any]]:
    if isinstance(ref, dict | list):
        return ref, {"inline": True}
    if not isinstance(ref, str):
        raise GateError(f"`{what}` must be a reference string or a JSON document")
    data = sources.read(ref, MAX_INPUT_BYTES)
    return parse_json_document(data, ref, what), {"ref": ref, "sha256": _digest(data)}


def _decide(params: Mapping[str, Any], sources: _Sources) -> tuple[Decision, dict[str, Any]]:
    inputs: dict[str, Any] = {"scan": None, "evidence": [], "drift": None}
    policy: Policy | None = None
    try:
        ref = params.get("policy")
        if ref is None:
            policy = default_policy()
        elif isinstance(ref, str):
            data = sources.read(ref, MAX_POLICY_BYTES)
            try:
                policy = Policy(ref, data.decode("utf-8"))
            except UnicodeDecodeError:
                raise GateError(f"{ref}: the policy is not UTF-8") from None
        else:
            raise GateError("`policy` must be a reference string")
        scan = drift = None
        if "scan" in params:
            scan, inputs["scan"] = _document(params["scan"], "scan", sources)
            if scan is None:
                raise GateError("the scan result is JSON null")
        refs = params.get("evidence", [])
        if not isinstance(refs, list):
            raise GateError("`evidence` must be a list")
        records: list[Any] = []
        for ref in refs:
            if isinstance(ref, dict):
                records.append(ref)
                inputs["evidence"].append({"inline": True, "records": 1})
            elif isinstance(ref, str):
                data = sources.read(ref, MAX_INPUT_BYTES)
                found = parse_evidence(data, ref)
                records.extend(found)
                inputs["evidence"].append(
                    {"ref": ref, "sha256": _digest(data), "records": len(found)}
                )
            else:
                raise GateError("each `evidence` item must be a reference string or an object")
        if "drift" in params:
            drift, inputs["drift"] = _document(params["drift"], "drift", sources)
            if drift is None:
                raise GateError("the drift report is JSON null")
        return decide(policy, scan=scan, evidence=records, drift=drift), inputs
    except Error as exc:
        return Decision.undecided(exc.diagnostics(), policy), inputs


def _default_s3_factory(credentials: Mapping[str, Any] | None) -> Any:
    from pipewarden.collect.codepipeline_jobs import s3_client

    return s3_client(credentials=credentials)


def _job(
    job: Any,
    *,
    codepipeline: Any,
    s3_factory: S3Factory,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    from pipewarden.collect.codepipeline_jobs import put_job_failure, put_job_success

    if not isinstance(job, dict) or not isinstance(job.get("id"), str) or not job["id"]:
        raise GateError("CodePipeline.job has no id: nothing to report to")
    job_id: str = job["id"]
    sources = _Sources(s3_factory=s3_factory, job=True)
    inputs: dict[str, Any] = {}
    try:
        data = job.get("data") or {}
        configuration = (data.get("actionConfiguration") or {}).get("configuration") or {}
        params = _parameters(configuration.get("UserParameters"))
        for artifact in data.get("inputArtifacts") or []:
            location = (artifact.get("location") or {}).get("s3Location") or {}
            bucket, key = location.get("bucketName"), location.get("objectKey")
            if isinstance(artifact.get("name"), str) and isinstance(bucket, str) and key:
                sources.artifacts[artifact["name"]] = (bucket, str(key))
        sources.credentials = data.get("artifactCredentials") or {}
        decision, inputs = _decide(params, sources)
    except Error as exc:
        decision = Decision.undecided(exc.diagnostics(), None)
    except Exception as exc:  # noqa: BLE001 - a job must always be reported, never left to time out
        decision = Decision.undecided(f"internal error: {type(exc).__name__}: {exc}", None)
    finally:
        sources.close()
    record = decision_record(
        decision, inputs=inputs, verified_at=utc_now_iso(), context=evidence_context(environ)
    )
    record["job_id"] = job_id
    if decision.allowed:
        policy = decision.policy.source if decision.policy else "policy"
        put_job_success(
            codepipeline,
            job_id,
            summary=f"allowed by {policy}",
            output_variables={"decision": "allow"},
        )
    else:
        put_job_failure(codepipeline, job_id, message="; ".join(decision.reasons))
    return record


def handle(
    event: Any,
    *,
    codepipeline: Any = None,
    s3_factory: S3Factory | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Serve one invocation; the clients are injectable (default: the function's role)."""
    env = os.environ if environ is None else environ
    factory = s3_factory or _default_s3_factory
    if isinstance(event, dict) and "CodePipeline.job" in event:
        if codepipeline is None:
            from pipewarden.collect.codepipeline_jobs import codepipeline_client

            codepipeline = codepipeline_client()
        return _job(
            event["CodePipeline.job"], codepipeline=codepipeline, s3_factory=factory, environ=env
        )
    sources = _Sources(s3_factory=factory)
    try:
        if isinstance(event, dict) and "UserParameters" in event:
            params = _parameters(event["UserParameters"])
        else:
            params = _parameters(event)
        decision, inputs = _decide(params, sources)
    except Error as exc:
        decision, inputs = Decision.undecided(exc.diagnostics(), None), {}
    finally:
        sources.close()
    record = decision_record(
        decision, inputs=inputs, verified_at=utc_now_iso(), context=evidence_context(env)
    )
    if not decision.allowed:
        raise GateDenied("gate denied: " + "; ".join(decision.reasons)[:4000])
    return record


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return handle(event)
