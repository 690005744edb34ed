"""Amazon ECR: tag mutability and scanning of the repositories pipelines use."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading, Unreadable, jsonable

__all__ = ["PERMISSIONS", "read_repositories", "registry_scanning"]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {"ecr:DescribeRepositories", "ecr:GetRegistryScanningConfiguration"}
)

BATCH: Final = 100


def _one_by_one(reading: Reading, region: str, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        response = reading.call(
            "ecr",
            region,
            "DescribeRepositories",
            kind="ecr-repository",
            resource=name,
            repositoryNames=[name],
        )
        if response is not None:
            out.extend(response.get("repositories", []))
    return out


def read_repositories(reading: Reading, region: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Snapshot entries of the named repositories (up to 100 names a call; when one
    of them does not exist, the batch is read name by name so that it is the gap)."""
    wanted = sorted(set(names))
    repos: list[Any] = []
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        try:
            response = reading.attempt_pages(
                "ecr", region, "DescribeRepositories", repositoryNames=batch
            )
        except Unreadable as failure:
            if failure.code == "RepositoryNotFoundException" and len(batch) > 1:
                repos.extend(_one_by_one(reading, region, batch))
                continue
            reading.record(
                failure,
                service="ecr",
                region=region,
                operation="DescribeRepositories",
                kind="ecr-repository",
                resource=batch[0] if len(batch) == 1 else None,
            )
            continue
        repos.extend(jsonable(response).get("repositories", []))
    return {
        str(repo["repositoryName"]): {"DescribeRepositories": repo}
        for repo in repos
        if isinstance(repo, dict) and repo.get("repositoryName") in wanted
    }


def registry_scanning(reading: Reading, region: str) -> dict[str, Any] | None:
    """The registry's scanning configuration."""
    return reading.call(
        "ecr", region, "GetRegistryScanningConfiguration", kind="ecr-registry", resource=None
    )
