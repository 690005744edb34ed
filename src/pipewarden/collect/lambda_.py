"""AWS Lambda: functions that actions and stage conditions invoke."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "read_function"]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {"lambda:GetFunction", "lambda:ListVersionsByFunction", "lambda:ListAliases"}
)


def read_function(reading: Reading, region: str, name: str) -> dict[str, Any] | None:
    """GetFunction (without the presigned code URL), its versions and aliases."""
    got = reading.call(
        "lambda", region, "GetFunction", kind="lambda-function", resource=name, FunctionName=name
    )
    if got is None or not isinstance(got.get("Configuration"), dict):
        return None
    code = got.get("Code")
    if isinstance(code, dict):
        # A presigned download URL: it carries temporary credentials.
        got["Code"] = {k: v for k, v in code.items() if k != "Location"}
    entry: dict[str, Any] = {"GetFunction": got}
    versions = reading.call(
        "lambda",
        region,
        "ListVersionsByFunction",
        kind="lambda-function",
        resource=name,
        pages=True,
        FunctionName=name,
    )
    if versions is not None:
        entry["ListVersionsByFunction"] = {"Versions": versions.get("Versions", [])}
    aliases = reading.call(
        "lambda",
        region,
        "ListAliases",
        kind="lambda-function",
        resource=name,
        pages=True,
        FunctionName=name,
    )
    if aliases is not None:
        entry["ListAliases"] = {"Aliases": aliases.get("Aliases", [])}
    return entry
