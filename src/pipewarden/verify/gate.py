"""The policy gate: a Rego policy decides whether a pipeline may proceed.

The policy runs in-process on regopy (Microsoft's rego-cpp interpreter), with
no network and no OPA binary. Its input is one document::

    {"scan": <PipeWarden JSON report>, "evidence": [<evidence record>, ...],
     "drift": <drift report>, "reach": <pipewarden reach JSON report>}

(an input not given is an absent key). The policy is a Rego module in package
``pipewarden.gate`` defining ``deny``, a set of reason strings; the decision is
*allow* exactly when ``deny`` is empty. The built-in policy
(``gate_default.rego`` beside this module) denies on any unsuppressed failing
result of severity high or critical, a scan with rule crashes, no verified
verify-handoff record, any evidence record that did not verify, no SBOM in the
verified attestation, any PW901 (drift) failure when drift data is given, and
a vulnerability that is reachable, of high, critical or unknown severity and
not known to stay out of production, when a reachability report is given.

Everything that keeps a decision from being made is a :class:`GateError`, and
the callers turn it into a denial: a policy that does not parse or compile,
fails at run time or defines no ``deny``; a missing, oversized, non-JSON or
mis-shaped input. Inputs are checked for the fields the policy reads, so a
malformed record cannot make a ``deny`` rule silently not fire.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import Error

__all__ = [
    "DEFAULT_POLICY_NAME",
    "MAX_INPUT_BYTES",
    "MAX_POLICY_BYTES",
    "Decision",
    "GateError",
    "Policy",
    "decide",
    "decision_record",
    "default_policy",
    "load_policy",
    "parse_evidence",
    "parse_json_document",
    "read_evidence",
    "read_json_document",
    "validate_drift",
    "validate_evidence",
    "validate_scan",
]

DEFAULT_POLICY_NAME: Final = "builtin:default"
MAX_POLICY_BYTES: Final = 1 << 20
MAX_INPUT_BYTES: Final = 64 << 20
MAX_EVIDENCE_RECORDS: Final = 1000
_QUERY: Final = "data.pipewarden.gate.deny"
_SCHEMA_VERSION: Final = re.compile(r"^1\.[0-9]+$")
_STATUSES: Final = frozenset({"pass", "fail", "unknown"})
_SEVERITIES: Final = ("critical", "high", "medium", "low", "info")
_ERRORMSG: Final = re.compile(r"errormsg \d+:([^)\n]*)")


class GateError(Error):
    """No decision could be made (bad policy or input). A gate treats it as a denial."""


@dataclass(frozen=True, slots=True)
class Policy:
    """A Rego module: where it came from, its text and the SHA-256 of that text."""

    source: str
    text: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the policy text (UTF-8), for the decision record."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer: allowed, or the reasons it is not."""

    allowed: bool
    reasons: tuple[str, ...]
    policy: Policy | None

    @classmethod
    def undecided(cls, why: str, policy: Policy | None) -> Decision:
        """A denial because no decision could be made, saying why."""
        return cls(False, (f"no decision, so denied: {why}",), policy)


def default_policy() -> Policy:
    """The built-in policy shipped with PipeWarden."""
    text = resources.files("pipewarden.verify").joinpath("gate_default.rego").read_text("utf-8")
    return Policy(DEFAULT_POLICY_NAME, text)


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        mode = path.stat().st_mode  # a FIFO would block open(): refuse it first
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise GateError(f"{path}: the {what} is not a regular file")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise GateError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise GateError(f"{path}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise GateError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise GateError(f"{path}: the {what} is larger than {limit >> 20} MiB")
    return data


def load_policy(path: Path) -> Policy:
    """A Rego policy file (UTF-8, at most 1 MiB)."""
    data = _read(path, MAX_POLICY_BYTES, "policy")
    try:
        return Policy(str(path), data.decode("utf-8"))
    except UnicodeDecodeError:
        raise GateError(f"{path}: the policy is not UTF-8") from None


def _loads(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise GateError(f"{source}: JSON nested too deeply") from None
    except ValueError as exc:
        raise GateError(f"{source}: not valid JSON: {exc}") from None


def parse_json_document(data: bytes, source: str, what: str) -> Any:
    """One JSON document from ``data`` (UTF-8); GateError otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GateError(f"{source}: the {what} is not UTF-8") from None
    return _loads(text, source)


def parse_evidence(data: bytes, source: str) -> list[Any]:
    """Evidence records from one JSON object, a JSON array or JSON Lines of objects."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GateError(f"{source}: the evidence is not UTF-8") from None
    stripped = text.strip()
    if not stripped:
        raise GateError(f"{source}: the evidence is empty")
    try:
        whole = json.loads(stripped)
    except RecursionError:
        raise GateError(f"{source}: JSON nested too deeply") from None
    except ValueError:
        lines = [line for line in stripped.splitlines() if line.strip()]
        return [_loads(line, f"{source} line {n}") for n, line in enumerate(lines, 1)]
    return whole if isinstance(whole, list) else [whole]


def read_json_document(path: Path, what: str) -> tuple[Any, str]:
    """One JSON document (at most 64 MiB) and the SHA-256 of the file."""
    data = _read(path, MAX_INPUT_BYTES, what)
    return parse_json_document(data, str(path), what), hashlib.sha256(data).hexdigest()


def read_evidence(path: Path) -> tuple[list[Any], str]:
    """Evidence records from a file (see :func:`parse_evidence`) and the file's SHA-256."""
    data = _read(path, MAX_INPUT_BYTES, "evidence")
    return parse_evidence(data, str(path)), hashlib.sha256(data).hexdigest()


def _require_str(doc: Mapping[str, Any], key: str, where: str) -> None:
    if not isinstance(doc.get(key), str):
        raise GateError(f"{where}: `{key}` must be a string")


def _check_results(results: Any, where: str) -> None:
    if not isinstance(results, list):
        raise GateError(f"{where}: `results` must be a list")
    for n, result in enumerate(results):
        at = f"{where} results[{n}]"
        if not isinstance(result, dict):
            raise GateError(f"{at}: not an object")
        for key in ("rule_id", "severity", "pipeline", "message"):
            _require_str(result, key, at)
        if result.get("status") not in _STATUSES:
            raise GateError(f"{at}: `status` must be one of pass, fail, unknown")
        if result.get("severity") not in _SEVERITIES:
            raise GateError(f"{at}: `severity` must be one of {', '.join(_SEVERITIES)}")
        suppressed = result.get("suppressed", None)
        if suppressed is not None and not isinstance(suppressed, dict):
            raise GateError(f"{at}: `suppressed` must be null or an object")


def validate_scan(doc: Any, source: str) -> dict[str, Any]:
    """A PipeWarden JSON report (schema 1.x) with the fields the policy reads; else GateError."""
    if not isinstance(doc, dict):
        raise GateError(f"{source}: the scan result is not a JSON object")
    version = doc.get("schema_version")
    if not isinstance(version, str) or not _SCHEMA_VERSION.match(version):
        raise GateError(
            f"{source}: not a PipeWarden JSON report (schema_version 1.x); "
            "use `pipewarden scan --format json`"
        )
    _check_results(doc.get("results"), source)
    if not isinstance(doc.get("errors", []), list):
        raise GateError(f"{source}: `errors` must be a list")
    return {**doc, "results": doc["results"], "errors": doc.get("errors", [])}


def validate_evidence(records: Iterable[Any], source: str) -> list[dict[str, Any]]:
    """Evidence records: objects with ``verifier`` (string), ``verified`` (boolean), ``reason``."""
    checked = []
    for n, record in enumerate(records):
        at = f"{source} record {n + 1}"
        if not isinstance(record, dict):
            raise GateError(f"{at}: not a JSON object")
        _require_str(record, "verifier", at)
        if not isinstance(record.get("verified"), bool):
            raise GateError(f"{at}: `verified` must be true or false")
        reason = record.get("reason", "")
        if not isinstance(reason, str):
            raise GateError(f"{at}: `reason` must be a string")
        sbom = record.get("sbom")
        if sbom is not None and not isinstance(sbom, dict):
            raise GateError(f"{at}: `sbom` must be an object")
        checked.append({**record, "reason": reason})
    return checked


def validate_drift(doc: Any, source: str) -> dict[str, Any]:
    """Drift data: an object with ``results`` shaped like a report's; else GateError."""
    if not isinstance(doc, dict):
        raise GateError(f"{source}: the drift data is not a JSON object")
    _check_results(doc.get("results"), source)
    return doc


_TIERS: Final = frozenset(
    {
        "not-installed",
        "not-imported",
        "symbol-not-referenced",
        "no-call-path",
        "reachable",
        "unknown",
    }
)


def validate_reach(doc: Any, source: str) -> dict[str, Any]:
    """A ``pipewarden reach --format json`` report with the fields the policy reads."""
    if not isinstance(doc, dict) or doc.get("format") != "pipewarden-reach":
        raise GateError(
            f"{source}: not a reachability report; use `pipewarden reach --format json`"
        )
    results = doc.get("results")
    if not isinstance(results, list):
        raise GateError(f"{source}: `results` must be a list")
    for n, finding in enumerate(results):
        at = f"{source} results[{n}]"
        if not isinstance(finding, dict):
            raise GateError(f"{at}: not an object")
        for key in ("vulnerability", "package"):
            _require_str(finding, key, at)
        if finding.get("tier") not in _TIERS:
            raise GateError(f"{at}: `tier` must be one of {', '.join(sorted(_TIERS))}")
        severity = finding.get("severity")
        if not isinstance(severity, dict) or not isinstance(severity.get("label"), str):
            raise GateError(f"{at}: `severity.label` must be a string")
        if finding.get("deployed_to_production") not in (True, False, None):
            raise GateError(f"{at}: `deployed_to_production` must be true, false or null")
    return doc


def _rego_message(exc: BaseException) -> str:
    text = str(exc)
    messages = [m.strip() for m in _ERRORMSG.findall(text) if m.strip()]
    if messages:
        return "; ".join(dict.fromkeys(messages))[:500]
    first = text.strip().splitlines()
    return (first[0] if first else type(exc).__name__)[:500]


def _evaluate(policy: Policy, document: Mapping[str, Any]) -> tuple[str, ...]:
    from regopy import Interpreter, LogLevel, RegoError

    interpreter = Interpreter()
    # The interpreter prints diagnostics on stdout unless told not to; the
    # errors come back as exceptions or failed outputs instead.
    interpreter.log_level = LogLevel.NONE
    interpreter.strict_built_in_errors = True
    try:
        interpreter.add_module(policy.source, policy.text)
        interpreter.set_input_term(json.dumps(document, ensure_ascii=True, allow_nan=False))
        output = interpreter.query(_QUERY)
    except RegoError as exc:
        raise GateError(f"policy {policy.source} does not compile: {_rego_message(exc)}") from None
    except (ValueError, TypeError) as exc:
        # rego-cpp can emit output that is not valid JSON; never trust it then.
        raise GateError(f"policy {policy.source}: unreadable result ({exc})") from None
    if not output.ok():
        raise GateError(f"policy {policy.source} failed to evaluate (a built-in raised an error)")
    results = output.results
    expressions = results[0].expressions if results else []
    if not expressions:
        raise GateError(f"policy {policy.source} defines no `deny` in package pipewarden.gate")
    deny = expressions[0]
    if not isinstance(deny, list):
        raise GateError(f"policy {policy.source}: `deny` must be a set of strings")
    return tuple(sorted(item if isinstance(item, str) else json.dumps(item) for item in deny))


def decide(
    policy: Policy | None = None,
    *,
    scan: Any = None,
    evidence: Sequence[Any] = (),
    drift: Any = None,
    reach: Any = None,
    sources: Mapping[str, str] | None = None,
) -> Decision:
    """The gate's decision on these inputs. ``None`` means the input was not given.

    Never raises for a bad policy or input: that is a denial whose reason says
    why no decision could be made (fail closed).
    """
    names = dict(sources or {})
    active = policy or default_policy()
    try:
        document: dict[str, Any] = {}
        if scan is not None:
            document["scan"] = validate_scan(scan, names.get("scan", "scan"))
        records = validate_evidence(evidence, names.get("evidence", "evidence"))
        if len(records) > MAX_EVIDENCE_RECORDS:
            raise GateError(f"more than {MAX_EVIDENCE_RECORDS} evidence records")
        document["evidence"] = records
        if drift is not None:
            document["drift"] = validate_drift(drift, names.get("drift", "drift"))
        if reach is not None:
            document["reach"] = validate_reach(reach, names.get("reach", "reach"))
        reasons = _evaluate(active, document)
    except GateError as exc:
        return Decision.undecided(exc.diagnostics(), active)
    return Decision(not reasons, reasons, active)


def decision_record(
    decision: Decision,
    *,
    inputs: Mapping[str, Any],
    verified_at: str,
    context: Mapping[str, str],
    policy_source: str | None = None,
) -> dict[str, Any]:
    """The gate's evidence record: the decision, every reason, the policy and inputs used."""
    allowed = decision.allowed
    policy = decision.policy
    return {
        "verifier": "gate",
        "verified": allowed,
        "decision": "allow" if allowed else "deny",
        "reason": "allowed by policy" if allowed or not decision.reasons else decision.reasons[0],
        "reasons": list(decision.reasons),
        "policy": (
            {"source": policy.source, "sha256": policy.sha256}
            if policy is not None
            else {"source": policy_source, "sha256": None}
        ),
        "inputs": dict(inputs),
        "verified_at": verified_at,
        "context": dict(context),
    }
