"""Signing DSSE envelopes with an AWS KMS asymmetric key, as a securesystemslib signer.

securesystemslib's own ``AWSSigner`` builds its KMS client from the ambient
configuration only; this adapter takes the client (so a region, an endpoint
such as a VPC endpoint, or a test server can be given) and produces ordinary
securesystemslib :class:`~securesystemslib.signer.Signature` objects over the
bytes it is handed (the DSSE PAE). Verification needs no AWS call beyond
``kms:GetPublicKey``: the public key becomes an
:class:`~securesystemslib.signer.SSlibKey` and securesystemslib verifies with
``cryptography``, exactly as for a key file.

Key specs and algorithms: ``ECC_NIST_P256`` signs with ``ECDSA_SHA_256``
(scheme ``ecdsa-sha2-nistp256``); ``RSA_2048``/``RSA_3072``/``RSA_4096`` sign
with ``RSASSA_PSS_SHA_256`` (scheme ``rsassa-pss-sha256``).

Messages of at most 4096 bytes (the ``kms:Sign`` limit for ``MessageType``
``RAW``) are sent whole; longer ones (a statement carrying an SBOM) are sent as
their SHA-256 with ``MessageType`` ``DIGEST``. For these two algorithms both
produce the same kind of signature over the same message; after signing, the
signature is checked against the public key, so a signer that does not behave
so fails here rather than at the destination.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from securesystemslib.signer import Key, SecretsHandler, Signature, Signer, SSlibKey

from pipewarden.errors import CollectionError

# A boto3 KMS client (``boto3.client("kms")``).
KMSClient = Any

__all__ = [
    "MAX_RAW_MESSAGE",
    "PERMISSIONS",
    "KmsSigner",
    "kms_client",
    "kms_public_key",
]

PERMISSIONS: Final = ("kms:GetPublicKey", "kms:Sign")
MAX_RAW_MESSAGE: Final = 4096

# KMS key spec -> (signing algorithm, securesystemslib scheme)
_ALGORITHMS: Final[dict[str, tuple[str, str]]] = {
    "ECC_NIST_P256": ("ECDSA_SHA_256", "ecdsa-sha2-nistp256"),
    "RSA_2048": ("RSASSA_PSS_SHA_256", "rsassa-pss-sha256"),
    "RSA_3072": ("RSASSA_PSS_SHA_256", "rsassa-pss-sha256"),
    "RSA_4096": ("RSASSA_PSS_SHA_256", "rsassa-pss-sha256"),
}


def kms_client(*, region: str | None = None, endpoint_url: str | None = None) -> KMSClient:
    """A KMS client on the standard credential chain (profiles, environment, roles)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": 5})
    client: KMSClient = boto3.session.Session().client(
        "kms", region_name=region, endpoint_url=endpoint_url, config=config
    )
    return client


def _call(operation: str, key_id: str, call: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = str(error.get("Message", ""))[:300]
        raise CollectionError(f"kms:{operation} on key {key_id}: {code}: {message}") from None
    except BotoCoreError as exc:
        raise CollectionError(f"kms:{operation} on key {key_id}: {exc}") from None


def _key_spec(response: Any) -> str:
    spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec")
    return str(spec) if spec else ""


def kms_public_key(client: KMSClient, key_id: str) -> tuple[SSlibKey, str]:
    """The key's public half as an SSlibKey, and the KMS signing algorithm to use with it."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    response = _call("GetPublicKey", key_id, client.get_public_key, KeyId=key_id)
    if response.get("KeyUsage") != "SIGN_VERIFY":
        raise CollectionError(
            f"KMS key {key_id} has key usage {response.get('KeyUsage')}, not SIGN_VERIFY"
        )
    spec = _key_spec(response)
    if spec not in _ALGORITHMS:
        supported = ", ".join(_ALGORITHMS)
        raise CollectionError(f"KMS key {key_id} has key spec {spec}; supported: {supported}")
    algorithm, scheme = _ALGORITHMS[spec]
    if algorithm not in response.get("SigningAlgorithms", []):
        raise CollectionError(f"KMS key {key_id} does not offer {algorithm}")
    public = load_der_public_key(response["PublicKey"])
    return SSlibKey.from_crypto(public, scheme=scheme), algorithm


class KmsSigner(Signer):
    """Signs with ``kms:Sign``; build it with :meth:`from_key_id`."""

    def __init__(
        self, client: KMSClient, key_id: str, public_key: SSlibKey, algorithm: str
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._public_key = public_key
        self._algorithm = algorithm

    @classmethod
    def from_key_id(cls, client: KMSClient, key_id: str) -> KmsSigner:
        """A signer for ``key_id`` (key id, key ARN, alias name or alias ARN)."""
        public_key, algorithm = kms_public_key(client, key_id)
        return cls(client, key_id, public_key, algorithm)

    @classmethod
    def from_priv_key_uri(
        cls,
        priv_key_uri: str,
        public_key: Key,
        secrets_handler: SecretsHandler | None = None,
    ) -> KmsSigner:
        """Not supported: build the signer with an explicit client (:meth:`from_key_id`)."""
        raise ValueError("KmsSigner is built with KmsSigner.from_key_id(client, key_id)")

    @property
    def public_key(self) -> SSlibKey:
        """The key's public half, from ``kms:GetPublicKey``."""
        return self._public_key

    def sign(self, payload: bytes) -> Signature:
        """Sign ``payload``; the signature is checked against the public key before returning."""
        from securesystemslib.exceptions import UnverifiedSignatureError

        if len(payload) <= MAX_RAW_MESSAGE:
            message, message_type = payload, "RAW"
        else:
            message, message_type = hashlib.sha256(payload).digest(), "DIGEST"
        response = _call(
            "Sign",
            self._key_id,
            self._client.sign,
            KeyId=self._key_id,
            Message=message,
            MessageType=message_type,
            SigningAlgorithm=self._algorithm,
        )
        signature = Signature(self._public_key.keyid, bytes(response["Signature"]).hex())
        try:
            self._public_key.verify_signature(signature, payload)
        except UnverifiedSignatureError:
            raise CollectionError(
                f"kms:Sign on key {self._key_id} returned a signature that does not verify "
                f"with the key's public key ({message_type} message)"
            ) from None
        return signature
