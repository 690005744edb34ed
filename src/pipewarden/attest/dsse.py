"""DSSE envelopes: signing statements and opening signed ones, on securesystemslib.

The envelope, its Pre-Authentication Encoding (PAE) and the signature checks
are securesystemslib's (:class:`securesystemslib.dsse.Envelope`,
:class:`securesystemslib.signer.CryptoSigner`, :class:`~securesystemslib.signer.SSlibKey`);
this module adds the strictness a handoff check needs around them: exactly the
DSSE fields, strict base64, the in-toto payload type, exactly one signature,
made by the expected key. Every refusal raises :class:`VerificationError`
whose message is the one-line reason.

Keys: ed25519 or ECDSA P-256 private keys in PKCS#8 PEM (unencrypted) for
signing; the matching SubjectPublicKeyInfo PEM public keys for verifying. A
key id is securesystemslib's default: the SHA-256 of the canonical public key,
so signer and verifier derive the same id from the same key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipewarden.errors import Error, InputError

if TYPE_CHECKING:
    from securesystemslib.signer import Key, Signer

__all__ = [
    "IN_TOTO_PAYLOAD_TYPE",
    "MAX_KEY_BYTES",
    "AttestationError",
    "VerificationError",
    "encode_payload",
    "load_private_key",
    "load_public_key",
    "open_envelope",
    "sign_statement",
]

IN_TOTO_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
MAX_KEY_BYTES: Final = 64 << 10
_ENVELOPE_FIELDS: Final = frozenset({"payload", "payloadType", "signatures"})
_SIGNATURE_FIELDS: Final = frozenset({"keyid", "sig"})


class AttestationError(Error):
    """An attestation could not be made or read."""


class VerificationError(AttestationError):
    """An attestation does not verify. The message is the reason, one line."""


def _read_key_file(path: Path) -> bytes:
    source = str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise InputError(source, "no such key file") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, not a key file") from None
    except OSError as exc:
        raise InputError(source, f"cannot read the key: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_BYTES:
        raise InputError(source, "too large for a PEM key")
    return data


def load_private_key(path: Path) -> Signer:
    """A signer for the ed25519 or ECDSA P-256 PKCS#8 PEM private key at ``path``."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    source = str(path)
    data = _read_key_file(path)
    try:
        private_key = load_pem_private_key(data, password=None)
    except TypeError:
        raise InputError(
            source, "the private key is encrypted; give an unencrypted PKCS#8 PEM key"
        ) from None
    except (ValueError, _unsupported_algorithm()) as exc:
        raise InputError(source, f"not a PEM private key: {_first_line(exc)}") from None
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise InputError(
                source, f"ECDSA key on curve {private_key.curve.name}; only P-256 is supported"
            )
    elif not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise InputError(
            source, f"unsupported key type {type(private_key).__name__}: use ed25519 or P-256"
        )
    return CryptoSigner(private_key)


def load_public_key(path: Path) -> Key:
    """The ed25519 or ECDSA P-256 public key (SubjectPublicKeyInfo PEM) at ``path``."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    source = str(path)
    data = _read_key_file(path)
    if b"PRIVATE KEY" in data:
        raise InputError(source, "is a private key; give the public key (never ship the other)")
    try:
        public_key = load_pem_public_key(data)
    except (ValueError, _unsupported_algorithm()) as exc:
        raise InputError(source, f"not a PEM public key: {_first_line(exc)}") from None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise InputError(
                source, f"ECDSA key on curve {public_key.curve.name}; only P-256 is supported"
            )
    elif not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise InputError(
            source, f"unsupported key type {type(public_key).__name__}: use ed25519 or P-256"
        )
    return SSlibKey.from_crypto(public_key)


def _unsupported_algorithm() -> type[Exception]:
    from cryptography.exceptions import UnsupportedAlgorithm

    return UnsupportedAlgorithm


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def encode_payload(statement: Mapping[str, Any]) -> bytes:
    """The statement's bytes as signed: compact JSON with sorted keys, UTF-8."""
    return json.dumps(
        statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_statement(statement: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """A DSSE envelope (its JSON form) carrying ``statement``, signed over the PAE by ``signer``."""
    from securesystemslib.dsse import Envelope

    envelope = Envelope(encode_payload(statement), IN_TOTO_PAYLOAD_TYPE, {})
    envelope.sign(signer)
    doc: dict[str, Any] = envelope.to_dict()
    return doc


def _strict_b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise VerificationError(f"{what} is not valid base64") from None


def open_envelope(envelope: Any, key: Key, *, where: str = "envelope") -> bytes:
    """The payload of ``envelope`` (its parsed JSON form) once it verifies with ``key``.

    Refuses (VerificationError, with the reason) an envelope that is not
    exactly ``{payload, payloadType, signatures}``, whose payload type is not
    in-toto's, whose payload or signature is not strict base64, that does not
    carry exactly one signature, whose signature names another key id, or whose
    signature does not verify over the PAE of payload type and payload.
    """
    from securesystemslib import exceptions as sslib_errors
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import Signature

    if not isinstance(envelope, dict):
        raise VerificationError(f"{where} is not a JSON object")
    missing = sorted(_ENVELOPE_FIELDS - envelope.keys())
    if missing:
        raise VerificationError(f"{where} has no {', '.join(missing)}")
    extra = sorted(envelope.keys() - _ENVELOPE_FIELDS)
    if extra:
        raise VerificationError(f"{where} has unexpected field(s) {', '.join(extra)[:200]}")
    payload_type = envelope["payloadType"]
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        shown = json.dumps(payload_type)[:100]
        raise VerificationError(
            f"{where} payloadType is {shown}, expected {json.dumps(IN_TOTO_PAYLOAD_TYPE)}"
        )
    if not isinstance(envelope["payload"], str):
        raise VerificationError(f"{where} payload is not a string")
    payload = _strict_b64(envelope["payload"], f"{where} payload")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list):
        raise VerificationError(f"{where} signatures is not a list")
    if len(signatures) != 1:
        raise VerificationError(
            f"{where} carries {len(signatures)} signatures; exactly one, by the expected key, "
            "is accepted"
        )
    entry = signatures[0]
    if not isinstance(entry, dict):
        raise VerificationError(f"{where} signature is not a JSON object")
    if set(entry) != _SIGNATURE_FIELDS:
        raise VerificationError(f"{where} signature must have exactly the fields keyid and sig")
    keyid, sig = entry["keyid"], entry["sig"]
    if not isinstance(keyid, str) or not isinstance(sig, str):
        raise VerificationError(f"{where} signature keyid and sig must be strings")
    sig_bytes = _strict_b64(sig, f"{where} signature")
    if keyid != key.keyid:
        raise VerificationError(
            f"{where} is signed by key id {json.dumps(keyid)[:80]}, not by the expected key "
            f"{key.keyid}"
        )
    signed = Envelope(payload, payload_type, {keyid: Signature(keyid, sig_bytes.hex())})
    try:
        signed.verify([key], 1)
    except (sslib_errors.UnverifiedSignatureError, ValueError):
        raise VerificationError(
            f"{where} signature does not verify over the DSSE PAE with key {key.keyid} "
            "(payload, payload type or signature altered, or another key)"
        ) from None
    return payload
