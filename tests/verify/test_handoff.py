"""``pipewarden verify-handoff``: a round trip, then every field and byte tampered with.

Each mutation must be refused (exit 1) with its own reason, in one JSON
evidence record on stdout, never a traceback.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipewarden.attest.dsse import load_private_key, load_public_key, sign_statement
from pipewarden.attest.statement import (
    BuildFacts,
    digest_artifact,
    provenance_statement,
    sbom_statement,
)
from pipewarden.cli import main
from pipewarden.verify.handoff import (
    HandoffRejected,
    HandoffRequirements,
    format_duration,
    parse_duration,
    verify_handoff,
)

ARN = "arn:aws:codepipeline:us-east-1:111122223333:app"
OTHER_ARN = "arn:aws:codepipeline:us-east-1:111122223333:evil"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "a"}]}
Doc = dict[str, Any]


def _write_keys(directory: Path, kind: str) -> tuple[Path, Path]:
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / "key.pem", directory / "pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


class Handoff:
    """An artifact, its key pair and helpers to write (possibly doctored) attestations."""

    def __init__(self, root: Path, kind: str) -> None:
        self.root = root
        self.kind = kind
        self.private, self.public = _write_keys(root / "keys", kind)
        self.artifact = root / "app.zip"
        self.artifact.write_bytes(os.urandom(300_000))
        self.attestation = root / "attestation.jsonl"

    def statements(
        self, *, finished: dt.datetime | None = None, artifact: Path | None = None
    ) -> list[Doc]:
        when = finished or dt.datetime.now(dt.UTC)
        digest = digest_artifact(artifact or self.artifact)
        facts = BuildFacts(builder_id=ARN, execution_id="exec-1", source_revision=COMMIT)
        return [
            provenance_statement(digest, facts, started=when, finished=when),
            sbom_statement(digest, BOM),
        ]

    def envelopes(self, statements: list[Doc], private: Path | None = None) -> list[Doc]:
        signer = load_private_key(private or self.private)
        return [sign_statement(s, signer) for s in statements]

    def write(self, envelopes: list[Any]) -> Path:
        self.attestation.write_text(
            "".join(json.dumps(e) + "\n" for e in envelopes), encoding="utf-8"
        )
        return self.attestation

    def verify(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Doc, str]:
        argv = [
            "verify-handoff",
            str(self.artifact),
            "--attestation",
            str(self.attestation),
            "--public-key",
            str(self.public),
            *extra,
        ]
        code = main(argv, environ={"CODEBUILD_BUILD_ID": "dest:1"})
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert len(lines) == 1, captured.out  # exactly one record, whatever happened
        assert "Traceback" not in captured.err
        return code, json.loads(lines[0]), captured.err


@pytest.fixture(params=["ed25519", "p256"])
def handoff(request: pytest.FixtureRequest, tmp_path: Path) -> Handoff:
    return Handoff(tmp_path, request.param)


def test_round_trip(handoff: Handoff, capsys: pytest.CaptureFixture[str]) -> None:
    handoff.write(handoff.envelopes(handoff.statements()))
    code, record, _ = handoff.verify(
        capsys, "--expect-pipeline", ARN, "--expect-source-revision", COMMIT, "--max-age", "1h"
    )
    assert code == 0
    assert record["verified"] is True
    assert record["reason"] == "every check passed"
    assert record["verifier"] == "verify-handoff"
    assert record["checks_passed"] == [
        "signature",
        "statement",
        "subject",
        "builder",
        "source_revision",
        "freshness",
    ]
    assert record["artifact"]["sha256"] == digest_artifact(handoff.artifact).sha256
    assert record["builder_id"] == ARN
    assert record["execution_id"] == "exec-1"
    assert record["source_revisions"] == [COMMIT]
    assert record["sbom"] == {"attached": True, "spec_version": "1.6", "components": 1}
    assert record["key_id"] == load_public_key(handoff.public).keyid
    assert record["expected"] == {"pipeline": ARN, "source_revision": COMMIT, "max_age": "1h"}
    assert record["context"] == {"codebuild_build_id": "dest:1"}
    assert record["verified_at"].endswith("Z")


def test_without_expectations_only_signature_subject_and_freshness_are_checked(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff.write(handoff.envelopes(handoff.statements()[:1]))
    code, record, _ = handoff.verify(capsys)
    assert code == 0
    assert record["checks_passed"] == ["signature", "statement", "subject", "freshness"]
    assert record["sbom"] == {"attached": False}
    assert record["expected"]["max_age"] == "1d"


# -- tampering: every envelope field, the artifact, the statement ------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _flip_payload_byte(env: Doc) -> None:
    payload = bytearray(base64.b64decode(env["payload"]))
    at = payload.index(ARN.encode()) + len(ARN) - 1
    payload[at] ^= 0x01  # the last character of the builder id
    env["payload"] = _b64(bytes(payload))


def _flip_sig_byte(env: Doc) -> None:
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[len(sig) // 2] ^= 0x01
    env["signatures"][0]["sig"] = _b64(bytes(sig))


ENVELOPE_MUTATIONS: dict[str, tuple[Callable[[Doc], None], str]] = {
    "payload byte": (_flip_payload_byte, "signature does not verify over the DSSE PAE"),
    "payload replaced": (
        lambda e: e.update(payload=_b64(b'{"_type":"https://in-toto.io/Statement/v1"}')),
        "signature does not verify",
    ),
    "payload not base64": (lambda e: e.update(payload="%%%"), "payload is not valid base64"),
    "payload not a string": (lambda e: e.update(payload=7), "payload is not a string"),
    "payloadType": (
        lambda e: e.update(payloadType="application/json"),
        'payloadType is "application/json"',
    ),
    "payloadType missing": (lambda e: e.pop("payloadType"), "has no payloadType"),
    "sig byte": (_flip_sig_byte, "signature does not verify"),
    "sig truncated": (
        lambda e: e["signatures"][0].update(
            sig=_b64(base64.b64decode(e["signatures"][0]["sig"])[:-1])
        ),
        "signature does not verify",
    ),
    "sig not base64": (
        lambda e: e["signatures"][0].update(sig="not base64!"),
        "signature is not valid base64",
    ),
    "keyid": (
        lambda e: e["signatures"][0].update(keyid="0" * 64),
        'signed by key id "000',
    ),
    "keyid removed": (
        lambda e: e["signatures"][0].pop("keyid"),
        "exactly the fields keyid and sig",
    ),
    "signature field added": (
        lambda e: e["signatures"][0].update(cert="x"),
        "exactly the fields keyid and sig",
    ),
    "signature added": (
        lambda e: e["signatures"].append(dict(e["signatures"][0])),
        "carries 2 signatures",
    ),
    "signatures removed": (lambda e: e.update(signatures=[]), "carries 0 signatures"),
    "signatures not a list": (lambda e: e.update(signatures={}), "signatures is not a list"),
    "signature not an object": (lambda e: e.update(signatures=["x"]), "not a JSON object"),
    "field added": (lambda e: e.update(extra=1), "unexpected field(s) extra"),
    "payload missing": (lambda e: e.pop("payload"), "has no payload"),
}


@pytest.mark.parametrize("mutation", sorted(ENVELOPE_MUTATIONS))
@pytest.mark.parametrize("line", [0, 1], ids=["provenance", "sbom"])
def test_every_envelope_field_is_checked(
    handoff: Handoff, capsys: pytest.CaptureFixture[str], mutation: str, line: int
) -> None:
    change, reason = ENVELOPE_MUTATIONS[mutation]
    envelopes = handoff.envelopes(handoff.statements())
    if mutation == "payload byte" and line == 1:
        change = _flip_sbom_payload_byte
    change(envelopes[line])
    handoff.write(envelopes)
    code, record, err = handoff.verify(capsys)
    assert code == 1
    assert record["verified"] is False
    assert reason in record["reason"], record["reason"]
    assert record["reason"].startswith(f"envelope {line + 1} ")
    assert "handoff refused" in err


def _flip_sbom_payload_byte(env: Doc) -> None:
    payload = bytearray(base64.b64decode(env["payload"]))
    at = payload.index(b'"CycloneDX"') + 1
    payload[at] ^= 0x20  # CycloneDX -> cycloneDX
    env["payload"] = _b64(bytes(payload))


def test_a_signature_from_another_key_with_the_expected_key_id(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    other_private, _ = _write_keys(handoff.root / "other", handoff.kind)
    envelopes = handoff.envelopes(handoff.statements(), private=other_private)
    for env in envelopes:  # claim to be the expected key
        env["signatures"][0]["keyid"] = load_public_key(handoff.public).keyid
    handoff.write(envelopes)
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "signature does not verify" in record["reason"]


def test_wrong_key(handoff: Handoff, capsys: pytest.CaptureFixture[str]) -> None:
    other_private, _ = _write_keys(handoff.root / "other", handoff.kind)
    handoff.write(handoff.envelopes(handoff.statements(), private=other_private))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "not by the expected key" in record["reason"]
    assert record["checks_passed"] == []


@pytest.mark.parametrize("offset", [0, 150_000, -1])
def test_one_byte_of_the_artifact(
    handoff: Handoff, capsys: pytest.CaptureFixture[str], offset: int
) -> None:
    handoff.write(handoff.envelopes(handoff.statements()))
    data = bytearray(handoff.artifact.read_bytes())
    data[offset] ^= 0x80
    handoff.artifact.write_bytes(bytes(data))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "not for this artifact" in record["reason"]
    assert record["checks_passed"] == ["signature", "statement"]
    assert record["artifact"]["sha256"] == digest_artifact(handoff.artifact).sha256


def test_appended_byte_and_truncated_artifact(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff.write(handoff.envelopes(handoff.statements()))
    original = handoff.artifact.read_bytes()
    for changed in (original + b"\x00", original[:-1], b""):
        handoff.artifact.write_bytes(changed)
        code, record, _ = handoff.verify(capsys)
        assert code == 1
        assert "not for this artifact" in record["reason"]


def test_an_attestation_made_for_another_artifact(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    other = handoff.root / "other.zip"
    other.write_bytes(b"another build output")
    handoff.write(handoff.envelopes(handoff.statements(artifact=other)))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert '"other.zip"' in record["reason"]
    assert "not for this artifact" in record["reason"]


def test_envelopes_from_two_attestations_mixed(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    """A genuine provenance with the SBOM statement of another artifact, same key."""
    other = handoff.root / "other.zip"
    other.write_bytes(b"another build output")
    mine = handoff.envelopes(handoff.statements())
    theirs = handoff.envelopes(handoff.statements(artifact=other))
    handoff.write([mine[0], theirs[1]])
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert record["reason"].startswith("statement 2 (https://cyclonedx.org/bom)")


def test_expired_and_future_attestations(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2, minutes=1)
    handoff.write(handoff.envelopes(handoff.statements(finished=old)))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "older than the maximum age 1d" in record["reason"]
    assert record["checks_passed"] == ["signature", "statement", "subject"]
    code, record, _ = handoff.verify(capsys, "--max-age", "3d")
    assert code == 0

    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    handoff.write(handoff.envelopes(handoff.statements(finished=future)))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "in the future" in record["reason"]


def test_expected_pipeline_and_revision_mismatch(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff.write(handoff.envelopes(handoff.statements()))
    code, record, _ = handoff.verify(capsys, "--expect-pipeline", OTHER_ARN)
    assert code == 1
    assert f"not by the expected pipeline {OTHER_ARN}" in record["reason"]
    code, record, _ = handoff.verify(capsys, "--expect-source-revision", "f" * 40)
    assert code == 1
    assert (
        f"source revision {'f' * 40} is not the attested one (attested: {COMMIT})"
        in (record["reason"])
    )


# -- statements signed by the right key but not acceptable -------------------------


def _provenance(handoff: Handoff) -> Doc:
    return handoff.statements()[0]


STATEMENT_MUTATIONS: dict[str, tuple[Callable[[Handoff], list[Doc]], str]] = {
    "old _type": (
        lambda h: [{**_provenance(h), "_type": "https://in-toto.io/Statement/v0.1"}],
        "statement 1 _type is",
    ),
    "unknown predicate": (
        lambda h: [{**_provenance(h), "predicateType": "https://example.com/x"}],
        "unexpected predicateType",
    ),
    "no subject": (lambda h: [{**_provenance(h), "subject": []}], "has no subject"),
    "subject without sha256": (
        lambda h: [{**_provenance(h), "subject": [{"name": "a", "digest": {"sha1": "ab"}}]}],
        "no subject with a sha256 digest",
    ),
    "no predicate": (lambda h: [{**_provenance(h), "predicate": []}], "no predicate object"),
    "two provenance statements": (
        lambda h: [_provenance(h), _provenance(h)],
        "2 SLSA provenance statements",
    ),
    "sbom only": (lambda h: h.statements()[1:], "0 SLSA provenance statements"),
    "two sboms": (
        lambda h: [*h.statements(), h.statements()[1]],
        "2 SBOM statements",
    ),
    "no builder": (
        lambda h: [_with(_provenance(h), ("runDetails", "builder"), {})],
        "no runDetails.builder.id",
    ),
    "no timestamp": (
        lambda h: [_with(_provenance(h), ("runDetails", "metadata"), {})],
        "freshness cannot be judged",
    ),
    "naive timestamp": (
        lambda h: [
            _with(_provenance(h), ("runDetails", "metadata"), {"finishedOn": "2026-01-01T00:00:00"})
        ],
        "freshness cannot be judged",
    ),
}


def _with(statement: Doc, path: tuple[str, ...], value: Any) -> Doc:
    doc = json.loads(json.dumps(statement))
    node = doc["predicate"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize("mutation", sorted(STATEMENT_MUTATIONS))
def test_signed_but_unacceptable_statements(
    handoff: Handoff, capsys: pytest.CaptureFixture[str], mutation: str
) -> None:
    make, reason = STATEMENT_MUTATIONS[mutation]
    handoff.write(handoff.envelopes(make(handoff)))
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert reason in record["reason"], record["reason"]


def test_a_payload_that_is_not_json_but_signed(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    from securesystemslib.dsse import Envelope

    envelope = Envelope(b"\xff not json", "application/vnd.in-toto+json", {})
    envelope.sign(load_private_key(handoff.private))
    handoff.write([envelope.to_dict()])
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "statement 1 payload is not UTF-8 JSON" in record["reason"]


# -- malformed input fails closed ----------------------------------------------------


MALFORMED: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "holds no envelope"),
    "blank lines": (b"\n\n  \n", "holds no envelope"),
    "not json": (b"{not json}\n", "envelope 1 is not JSON"),
    "not utf-8": (b"\xff\xfe{}\n", "not UTF-8"),
    "array": (b"[]\n", "envelope 1 is not a JSON object"),
    "deep nesting": (b"[" * 200_000 + b"\n", "envelope 1 is n"),
    "too many lines": (b"{}\n" * 17, "17 lines; at most 16"),
    "binary": (bytes(range(256)), "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_attestation(
    handoff: Handoff, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    content, reason = MALFORMED[case]
    handoff.attestation.write_bytes(content)
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert reason in record["reason"], record["reason"]


def test_oversized_attestation(handoff: Handoff, capsys: pytest.CaptureFixture[str]) -> None:
    with handoff.attestation.open("wb") as fh:  # sparse
        fh.truncate((100 << 20) + 1)
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "larger than 100 MiB" in record["reason"]


def test_missing_inputs_and_bad_keys_fail_closed(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record, _ = handoff.verify(capsys)  # no attestation file yet
    assert code == 1
    assert "no such attestation file" in record["reason"]
    handoff.write(handoff.envelopes(handoff.statements()))
    handoff.artifact.unlink()
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "no such file" in record["reason"]
    handoff.artifact.mkdir()
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "directory" in record["reason"]
    handoff.public.write_text("not a key", encoding="utf-8")
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "not a PEM public key" in record["reason"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--max-age", "soon"],
        ["--max-age", "0h"],
        ["--expect-source-revision", "main"],
        ["--bogus"],
    ],
)
def test_usage_errors_exit_2(
    handoff: Handoff, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    argv = ["verify-handoff", str(handoff.artifact), "--attestation", "a", "--public-key", "k"]
    assert main([*argv, *extra], environ={}) == 2
    assert "Traceback" not in capsys.readouterr().err


# -- the library, with an injected clock -------------------------------------------


def test_library_judges_freshness_by_the_injected_clock(tmp_path: Path) -> None:
    handoff = Handoff(tmp_path, "ed25519")
    made = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    handoff.write(handoff.envelopes(handoff.statements(finished=made)))
    key = load_public_key(handoff.public)
    req = HandoffRequirements(expect_pipeline=ARN, max_age=dt.timedelta(minutes=30))
    evidence = verify_handoff(
        handoff.artifact,
        handoff.attestation,
        key,
        req,
        clock=lambda: made + dt.timedelta(minutes=29),
    )
    assert evidence["age_seconds"] == 29 * 60
    with pytest.raises(HandoffRejected, match="is 31m old, older than the maximum age 30m") as info:
        verify_handoff(
            handoff.artifact,
            handoff.attestation,
            key,
            req,
            clock=lambda: made + dt.timedelta(minutes=31),
        )
    assert info.value.evidence["builder_id"] == ARN
    assert info.value.evidence["checks_passed"] == ["signature", "statement", "subject", "builder"]
    no_freshness = HandoffRequirements(max_age=None)
    evidence = verify_handoff(
        handoff.artifact,
        handoff.attestation,
        key,
        no_freshness,
        clock=lambda: made + dt.timedelta(days=999),
    )
    assert "freshness" not in evidence["checks_passed"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), ("2w", 1209600)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "10", "1.5h", "-1h", "1y", "0m", "1h 30m"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(dt.timedelta(days=1, hours=2, seconds=5)) == "1d2h5s"
    assert format_duration(dt.timedelta(0)) == "0s"


def test_a_statement_with_a_repeated_key_is_refused(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    from securesystemslib.dsse import Envelope

    text = json.dumps(handoff.statements()[0])
    doctored = text[:-1] + ', "predicateType": "https://example.com/other"}'
    envelope = Envelope(doctored.encode(), "application/vnd.in-toto+json", {})
    envelope.sign(load_private_key(handoff.private))
    handoff.write([envelope.to_dict()])
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert 'statement 1 repeats the key "predicateType"' in record["reason"]


def test_fifo_inputs_are_refused_without_blocking(
    handoff: Handoff, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff.write(handoff.envelopes(handoff.statements()))
    handoff.artifact.unlink()
    os.mkfifo(handoff.artifact)
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "not a regular file" in record["reason"]
    handoff.attestation.unlink()
    os.mkfifo(handoff.attestation)
    code, record, _ = handoff.verify(capsys)
    assert code == 1
    assert "not a regular file" in record["reason"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
_PLACES = (
    ("subject",),
    ("predicate",),
    ("predicate", "runDetails"),
    ("predicate", "runDetails", "builder"),
    ("predicate", "runDetails", "metadata"),
    ("predicate", "runDetails", "metadata", "finishedOn"),
    ("predicate", "buildDefinition"),
    ("predicate", "buildDefinition", "resolvedDependencies"),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    place=st.sampled_from(_PLACES),
    value=_json
    | st.sampled_from(
        ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00:00Z"]
    ),
)
def test_any_signed_statement_shape_is_judged_never_crashes(
    tmp_path: Path, place: tuple[str, ...], value: Any
) -> None:
    """Whatever a (key-holding) signer puts where: a verdict, never an exception."""
    handoff = Handoff(tmp_path, "ed25519")  # tmp_path is shared by the examples
    statement = json.loads(json.dumps(handoff.statements()[0]))
    node = statement
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = value
    handoff.write(handoff.envelopes([statement]))
    req = HandoffRequirements(expect_pipeline=ARN, expect_source_revision=COMMIT)
    key = load_public_key(handoff.public)
    try:
        verdict = verify_handoff(handoff.artifact, handoff.attestation, key, req)["checks_passed"]
    except HandoffRejected as exc:
        verdict = [exc.reason]
    assert verdict
