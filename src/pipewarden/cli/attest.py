"""``pipewarden attest ARTIFACT``: signed in-toto statements about a build artifact.

Writes JSON Lines to ``-o FILE``, one DSSE envelope per line: the SLSA
provenance statement, then (with ``--sbom``) the CycloneDX statement. Prints
one JSON record (what was attested, with which key) on stdout.

Exit codes: 0 written; 2 usage or input error (unreadable artifact or key, a
KMS error); 3 internal error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.errors import ConfigError, Error

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``attest`` sub-command."""
    parser = sub.add_parser(
        "attest",
        help="sign in-toto provenance (and an SBOM) for a build artifact",
        description=(
            "Hash ARTIFACT (streamed) and write DSSE-signed in-toto Statement v1 documents to "
            "FILE as JSON Lines: a SLSA provenance v1 statement (builder = the pipeline, "
            "invocation = the execution id, resolved dependency = the source revision) and, "
            "with --sbom, the CycloneDX SBOM as a second statement."
        ),
        epilog=(
            "Inside CodeBuild, --execution-id defaults to $CODEPIPELINE_EXECUTION_ID, "
            "--source-revision to $CODEBUILD_RESOLVED_SOURCE_VERSION and the builder to "
            "$CODEBUILD_BUILD_ARN when --pipeline-arn is not given. Exit codes: 0 written; "
            "2 usage or input error; 3 internal error."
        ),
    )
    parser.add_argument("artifact", metavar="ARTIFACT", type=Path, help="the file to attest")
    keys = parser.add_mutually_exclusive_group(required=True)
    keys.add_argument(
        "--key", metavar="PEM", type=Path, help="ed25519 or ECDSA P-256 PKCS#8 PEM private key"
    )
    keys.add_argument(
        "--kms-key-id",
        metavar="ID",
        help="AWS KMS asymmetric signing key (id, ARN or alias; ECC_NIST_P256 or RSA)",
    )
    parser.add_argument("--sbom", metavar="FILE", type=Path, help="CycloneDX JSON SBOM to attach")
    parser.add_argument("--pipeline-arn", metavar="ARN", help="the builder: the pipeline's ARN")
    parser.add_argument("--execution-id", metavar="ID", help="the pipeline execution id")
    parser.add_argument(
        "--source-revision", metavar="SHA", help="the source commit id (or sha256:<digest>)"
    )
    parser.add_argument("--region", help="AWS region for --kms-key-id (default: the usual chain)")
    parser.add_argument(
        "--kms-endpoint-url", metavar="URL", help="KMS endpoint (for example a VPC endpoint)"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, required=True, help="JSON Lines output"
    )
    parser.set_defaults(command=run)


def _signer(args: argparse.Namespace) -> tuple[Signer, str]:
    if args.key is not None:
        from pipewarden.attest.dsse import load_private_key

        return load_private_key(args.key), f"file:{args.key.name}"
    from pipewarden.collect.kms_signer import KmsSigner, kms_client

    client = kms_client(region=args.region, endpoint_url=args.kms_endpoint_url)
    return KmsSigner.from_key_id(client, args.kms_key_id), f"kms:{args.kms_key_id}"


def _write_lines(path: Path, lines: list[str]) -> None:
    """Write atomically: a reader never sees half a file."""
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.writelines(line + "\n" for line in lines)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise Error(f"{path}: cannot write the attestation: {exc.strerror or exc}") from exc


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Attest the artifact; returns the exit code."""
    import json

    from pipewarden.attest.dsse import sign_statement
    from pipewarden.attest.statement import (
        BuildFacts,
        digest_artifact,
        load_sbom,
        provenance_statement,
        revision_digest,
        sbom_statement,
    )
    from pipewarden.verify._evidence import dump_record, evidence_context, utc_now_iso

    env = ctx.environ
    builder = args.pipeline_arn or env.get("CODEBUILD_BUILD_ARN", "")
    if not builder:
        raise ConfigError("a builder is required: give --pipeline-arn (the pipeline's ARN)")
    execution_id = args.execution_id or env.get("CODEPIPELINE_EXECUTION_ID") or None
    revision = args.source_revision
    if revision is not None:
        try:
            revision_digest(revision)
        except ValueError as exc:
            raise ConfigError(f"--source-revision: {exc}") from None
    else:
        revision = env.get("CODEBUILD_RESOLVED_SOURCE_VERSION") or None
        if revision is not None:
            try:
                revision_digest(revision)
            except ValueError:
                say(
                    ctx.stderr,
                    "warning",
                    "CODEBUILD_RESOLVED_SOURCE_VERSION is not a commit id; no source revision "
                    "is attested (give --source-revision)",
                )
                revision = None

    sbom = load_sbom(args.sbom) if args.sbom is not None else None
    signer, key_source = _signer(args)
    context = evidence_context(env)
    started = dt.datetime.now(dt.UTC)
    digest = digest_artifact(args.artifact)
    finished = dt.datetime.now(dt.UTC)
    facts = BuildFacts(
        builder_id=builder,
        execution_id=execution_id,
        source_revision=revision,
        context=context,
    )
    statements = [provenance_statement(digest, facts, started=started, finished=finished)]
    if sbom is not None:
        statements.append(sbom_statement(digest, sbom))
    envelopes = [sign_statement(statement, signer) for statement in statements]
    _write_lines(
        args.output, [json.dumps(e, separators=(",", ":"), sort_keys=True) for e in envelopes]
    )
    record: dict[str, Any] = {
        "verifier": "attest",
        "artifact": {"name": digest.name, "sha256": digest.sha256, "size": digest.size},
        "output": str(args.output),
        "statements": [s["predicateType"] for s in statements],
        "key_id": signer.public_key.keyid,
        "key_source": key_source,
        "builder_id": builder,
    }
    if execution_id:
        record["execution_id"] = execution_id
    if revision:
        record["source_revision"] = revision
    record["attested_at"] = utc_now_iso(lambda: finished)
    record["context"] = context
    emit(ctx.stdout, dump_record(record) + "\n")
    return 0
