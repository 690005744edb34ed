"""Signing with AWS KMS (moto in server mode on loopback) and verifying the result."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from pipewarden.attest.dsse import open_envelope, sign_statement
from pipewarden.cli import main
from pipewarden.collect.kms_signer import MAX_RAW_MESSAGE, KmsSigner, kms_client, kms_public_key
from pipewarden.errors import CollectionError

ARN = "arn:aws:codepipeline:us-east-1:111122223333:app"
pytestmark = pytest.mark.usefixtures("aws_env")


def _kms(endpoint: str) -> Any:
    return kms_client(region="us-east-1", endpoint_url=endpoint)


def _key(endpoint: str, spec: str, usage: str = "SIGN_VERIFY") -> str:
    key_id: str = _kms(endpoint).create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    return key_id


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "RSA_2048"])
def test_attest_and_verify_with_kms(
    tmp_path: Path,
    artifact: Path,
    moto_endpoint: str,
    spec: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_id = _key(moto_endpoint, spec)
    out = tmp_path / "att.jsonl"
    kms = ["--kms-key-id", key_id, "--region", "us-east-1", "--kms-endpoint-url", moto_endpoint]
    assert (
        main(["attest", str(artifact), *kms, "--pipeline-arn", ARN, "-o", str(out)], environ={})
        == 0
    )
    attest_record = json.loads(capsys.readouterr().out)
    assert attest_record["key_source"] == f"kms:{key_id}"

    verify = ["verify-handoff", str(artifact), "--attestation", str(out), "--expect-pipeline", ARN]
    assert main([*verify, *kms], environ={}) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verified"] is True
    assert record["key_id"] == attest_record["key_id"]

    # The destination can also verify offline with the public key exported once.
    public_der = _kms(moto_endpoint).get_public_key(KeyId=key_id)["PublicKey"]
    pem = tmp_path / "kms.pub.pem"
    pem.write_bytes(
        serialization.load_der_public_key(public_der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    if spec == "ECC_NIST_P256":
        assert main([*verify, "--public-key", str(pem)], environ={}) == 0
        assert json.loads(capsys.readouterr().out)["verified"] is True


def test_another_kms_key_is_refused(
    tmp_path: Path, artifact: Path, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    signing, other = _key(moto_endpoint, "ECC_NIST_P256"), _key(moto_endpoint, "ECC_NIST_P256")
    out = tmp_path / "att.jsonl"
    common = ["--region", "us-east-1", "--kms-endpoint-url", moto_endpoint]
    argv = ["attest", str(artifact), "--kms-key-id", signing, *common, "--pipeline-arn", ARN]
    assert main([*argv, "-o", str(out)], environ={}) == 0
    capsys.readouterr()
    verify = ["verify-handoff", str(artifact), "--attestation", str(out), "--kms-key-id", other]
    assert main([*verify, *common], environ={}) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["verified"] is False
    assert "not by the expected key" in record["reason"]


def test_kms_errors_are_one_line(
    tmp_path: Path, artifact: Path, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--region", "us-east-1", "--kms-endpoint-url", moto_endpoint, "--pipeline-arn", ARN]
    missing = "11111111-2222-3333-4444-555555555555"
    argv = ["attest", str(artifact), "--kms-key-id", missing, *common, "-o", str(tmp_path / "a")]
    assert main(argv, environ={}) == 2
    err = capsys.readouterr().err
    assert "kms:GetPublicKey" in err
    assert "NotFoundException" in err
    assert err.count("\n") == 1

    encrypt_key = _key(moto_endpoint, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    with pytest.raises(CollectionError, match="not SIGN_VERIFY"):
        kms_public_key(_kms(moto_endpoint), encrypt_key)
    p384 = _key(moto_endpoint, "ECC_NIST_P384")
    with pytest.raises(CollectionError, match="key spec ECC_NIST_P384"):
        kms_public_key(_kms(moto_endpoint), p384)


def test_long_messages_are_signed_as_a_digest() -> None:
    """Over 4096 bytes, kms:Sign gets the SHA-256 and MessageType DIGEST.

    moto signs whatever it is sent as a message and ignores MessageType, so it
    cannot check this path: a botocore Stubber stands in for kms:Sign, answering
    as KMS does for DIGEST (an ECDSA signature over the pre-hashed message).
    """
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client = boto3.client("kms", region_name="us-east-1")
    statement = {"_type": "https://in-toto.io/Statement/v1", "predicate": {"pad": "x" * 6000}}
    with Stubber(client) as stub:
        stub.add_response(
            "get_public_key",
            {
                "KeyId": "k",
                "PublicKey": der,
                "KeyUsage": "SIGN_VERIFY",
                "KeySpec": "ECC_NIST_P256",
                "SigningAlgorithms": ["ECDSA_SHA_256"],
            },
            {"KeyId": "k"},
        )
        signer = KmsSigner.from_key_id(client, "k")
        from securesystemslib.dsse import Envelope

        from pipewarden.attest.dsse import IN_TOTO_PAYLOAD_TYPE, encode_payload

        pae = Envelope(encode_payload(statement), IN_TOTO_PAYLOAD_TYPE, {}).pae()
        assert len(pae) > MAX_RAW_MESSAGE
        digest = hashlib.sha256(pae).digest()
        stub.add_response(
            "sign",
            {
                "KeyId": "k",
                "Signature": private.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))),
                "SigningAlgorithm": "ECDSA_SHA_256",
            },
            {
                "KeyId": "k",
                "Message": digest,
                "MessageType": "DIGEST",
                "SigningAlgorithm": "ECDSA_SHA_256",
            },
        )
        envelope = sign_statement(statement, signer)
        stub.assert_no_pending_responses()
    assert json.loads(open_envelope(envelope, signer.public_key)) == statement
    assert base64.b64decode(envelope["payload"]) == encode_payload(statement)


def test_a_signature_that_does_not_verify_is_caught_at_signing(moto_endpoint: str) -> None:
    """moto's DIGEST behaviour (signing the digest as a message) is exactly such a signer."""
    client = _kms(moto_endpoint)
    signer = KmsSigner.from_key_id(client, _key(moto_endpoint, "ECC_NIST_P256"))
    with pytest.raises(CollectionError, match="does not verify"):
        signer.sign(b"x" * (MAX_RAW_MESSAGE + 1))
