"""Key pairs made for a test run: PKCS#8 private and SubjectPublicKeyInfo public PEM files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


@dataclass(frozen=True)
class KeyPair:
    kind: str
    private: Path
    public: Path


def write_keypair(directory: Path, kind: str) -> KeyPair:
    """A fresh ed25519 or ECDSA P-256 key pair as PKCS#8 / SubjectPublicKeyInfo PEM files."""
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / f"{kind}.key.pem"
    public = directory / f"{kind}.pub.pem"
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
    return KeyPair(kind, private, public)
