"""AWS CodeBuild: the projects build and test actions run (with their webhooks)."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "read_projects"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"codebuild:BatchGetProjects"})

BATCH: Final = 100  # BatchGetProjects takes at most 100 names


def read_projects(reading: Reading, region: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Snapshot entries of the named projects, 100 names a call. A project that does
    not exist is a gap."""
    out: dict[str, dict[str, Any]] = {}
    wanted = sorted(set(names))
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        response = reading.call(
            "codebuild",
            region,
            "BatchGetProjects",
            kind="codebuild-project",
            resource=batch[0] if len(batch) == 1 else None,
            names=batch,
        )
        if response is None:
            continue
        for project in response.get("projects", []):
            name = project.get("name")
            if isinstance(name, str) and name in batch:
                out[name] = {"BatchGetProjects": project}
        for name in batch:
            if name not in out:
                reading.gaps.add(
                    account=reading.account_id,
                    region=region,
                    service="codebuild",
                    operation="BatchGetProjects",
                    kind="codebuild-project",
                    resource=name,
                    code="ProjectNotFound",
                    message=f"project {name} was not returned (projectsNotFound)",
                )
    return out
