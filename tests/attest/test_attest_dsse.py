"""DSSE signing and opening on securesystemslib, with ed25519 and ECDSA P-256 keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from attest_keys import KeyPair, write_keypair
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pipewarden.attest.dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    VerificationError,
    encode_payload,
    load_private_key,
    load_public_key,
    open_envelope,
    sign_statement,
)
from pipewarden.errors import InputError

STATEMENT = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicate": {"é": 1}}


def test_round_trip(keypair: KeyPair) -> None:
    signer = load_private_key(keypair.private)
    key = load_public_key(keypair.public)
    assert signer.public_key.keyid == key.keyid  # same id from either half
    envelope = sign_statement(STATEMENT, signer)
    assert set(envelope) == {"payload", "payloadType", "signatures"}
    assert envelope["payloadType"] == IN_TOTO_PAYLOAD_TYPE
    assert [s["keyid"] for s in envelope["signatures"]] == [key.keyid]
    payload = open_envelope(json.loads(json.dumps(envelope)), key)
    assert payload == encode_payload(STATEMENT)
    assert json.loads(payload) == STATEMENT


def test_signature_is_over_the_dsse_pae(keypair: KeyPair) -> None:
    """Checked with cryptography directly, on a PAE written out by hand."""
    envelope = sign_statement(STATEMENT, load_private_key(keypair.private))
    payload = base64.b64decode(envelope["payload"])
    pae = b"DSSEv1 %d %s %d %s" % (
        len(IN_TOTO_PAYLOAD_TYPE),
        IN_TOTO_PAYLOAD_TYPE.encode(),
        len(payload),
        payload,
    )
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    public = serialization.load_pem_public_key(keypair.public.read_bytes())
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(sig, pae)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(sig, pae, ec.ECDSA(hashes.SHA256()))


def test_another_key_is_refused(tmp_path: Path, keypair: KeyPair) -> None:
    other = write_keypair(tmp_path / "other", keypair.kind)
    envelope = sign_statement(STATEMENT, load_private_key(other.private))
    with pytest.raises(VerificationError, match="not by the expected key"):
        open_envelope(envelope, load_public_key(keypair.public))


def _pem(key: object, *, encrypted: bool = False) -> bytes:
    assert hasattr(key, "private_bytes")
    encryption = (
        serialization.BestAvailableEncryption(b"pw") if encrypted else serialization.NoEncryption()
    )
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return data


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _pem(ec.generate_private_key(ec.SECP384R1())), "only P-256"),
        (lambda: _pem(rsa.generate_private_key(65537, 2048)), "unsupported key type"),
        (lambda: _pem(ed25519.Ed25519PrivateKey.generate(), encrypted=True), "encrypted"),
        (lambda: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM"),
        (lambda: b"\x00" * 10, "not a PEM"),
        (lambda: b"A" * (64 * 1024 + 1), "too large"),
    ],
)
def test_private_key_refusals(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "k.pem"
    assert callable(make)
    path.write_bytes(make())
    with pytest.raises(InputError, match=message):
        load_private_key(path)


def test_public_key_refusals(tmp_path: Path, keypair: KeyPair) -> None:
    with pytest.raises(InputError, match="is a private key"):
        load_public_key(keypair.private)
    with pytest.raises(InputError, match="no such key file"):
        load_public_key(tmp_path / "missing.pem")
    p384 = tmp_path / "p384.pem"
    p384.write_bytes(
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(InputError, match="only P-256"):
        load_public_key(p384)
    garbage = tmp_path / "g.pem"
    garbage.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a PEM public key"):
        load_public_key(garbage)
