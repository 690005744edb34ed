"""Detects source connections that are not available, belong to another account, or are not allowed.

## Rationale
A `CodeStarSourceConnection` source action trusts whatever the connection
delivers. A connection owned by another AWS account puts the pipeline's
source in the hands of that account's administrators: they can re-point the
app installation or delete the connection. A connection that is not
`AVAILABLE` (still `PENDING` a handshake, or in `ERROR`) means the source is
not the repository the declaration names, or will be whichever installation
completes the handshake first. A connection to an unexpected provider or host
(a personal GitLab instead of the organisation's GitHub Enterprise Server),
or a `FullRepositoryId` whose owner is outside the organisation (a fork or a
look-alike repository), imports code nobody reviewed.

Connections come from the inventory: a template cannot know whether the
handshake was completed, so the status of a connection defined in a
CloudFormation template is reported as unknown; a snapshot knows it.

The allow-lists are configuration:

```toml
[allow]
connection_providers = ["GitHubEnterpriseServer"]
connection_hosts = ["github.example.com"]     # host ARN, endpoint URL or host name
repository_owners = ["example-org"]
```

An empty allow-list means "not configured": that check is skipped (the
status and owner-account checks always run). Owners and hosts match
exactly, case-insensitively; GitHub, Bitbucket, GitLab and Azure DevOps
connections are on the hosts `github.com`, `bitbucket.org`, `gitlab.com` and
`dev.azure.com`. A connection ARN written as a literal in a template whose
own account is `${AWS::AccountId}` may or may not be in the account the
template is deployed to: that is unknown, not a failure.

## Remediation
Use a connection owned by the pipeline's account, complete its handshake
(*Developer Tools > Settings > Connections > Update pending connection*) so
that its status is `AVAILABLE`, and point `ConnectionArn` and
`FullRepositoryId` only at hosts and owners on the allow-list. Restrict the
pipeline role's `codeconnections:UseConnection` with a
`codeconnections:FullRepositoryId` condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final
from urllib.parse import urlsplit

from pipewarden.model import Action, Connection, Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    arn_account,
    at_action,
    fail,
    unknown,
)
from pipewarden.rules._artifact_store import is_placeholder, same_account

META = RuleMeta(
    id="PW103",
    slug="source-connection-untrusted",
    title="Source connection is unavailable, foreign or not on the allow-list",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_8,),
    references=(
        "https://docs.aws.amazon.com/dtconsole/latest/userguide/connections.html",
        "https://docs.aws.amazon.com/dtconsole/latest/userguide/connections-update.html",
    ),
    needs=frozenset({"connection"}),
)

PROVIDER: Final = "CodeStarSourceConnection"
# Hosts of the cloud providers, whose connections have no host ARN or endpoint.
CLOUD_HOSTS: Final = {
    "github": "github.com",
    "bitbucket": "bitbucket.org",
    "gitlab": "gitlab.com",
    "azuredevops": "dev.azure.com",
}


def _hosts(connection: Connection) -> set[str]:
    """Every name the connection's host may be allow-listed under (lower-case)."""
    names: set[str] = set()
    if connection.host_arn:
        names.add(connection.host_arn.lower())
    if connection.provider_endpoint:
        endpoint = connection.provider_endpoint.lower().rstrip("/")
        names.add(endpoint)
        host = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").hostname
        if host:
            names.add(host)
    if not names and connection.provider_type:
        cloud = CLOUD_HOSTS.get(connection.provider_type.lower())
        if cloud:
            names.add(cloud)
    return names


def _same_account(owner: str | Unresolved | None, mine: str | Unresolved | None) -> bool | None:
    """Like :func:`same_account`, but a literal account against a template placeholder is
    undecided: connections are created in the console and their ARNs pasted into
    templates deployed to that same account."""
    if is_placeholder(owner) != is_placeholder(mine):
        return None
    return same_account(owner, mine)


def _connection_problems(
    ctx: RuleContext, connection: Connection
) -> tuple[list[str], list[str], dict[str, str]]:
    """Failures and unknowns about the connection itself, and evidence."""
    bad: list[str] = []
    unsure: list[str] = []
    label = f"`{connection.name or connection.arn}`"
    evidence = {"connection": connection.arn}

    if connection.status is None:
        unsure.append(f"the status of connection {label} is not known")
    elif connection.status != "AVAILABLE":
        bad.append(f"connection {label} is `{connection.status}`, not `AVAILABLE`")
        evidence["status"] = connection.status

    owner = connection.owner_account or arn_account(connection.arn)
    mine = ctx.pipeline_account
    verdict = _same_account(owner, mine)
    if verdict is False:
        bad.append(f"connection {label} is owned by account `{owner}`, not the pipeline's `{mine}`")
        evidence["owner_account"] = str(owner)
    elif verdict is None:
        unsure.append(
            f"whether connection {label} (account `{owner or '?'}`) belongs to the pipeline's "
            f"account (`{mine if isinstance(mine, str) else '?'}`) cannot be told"
        )

    providers = ctx.config.allowed_connection_providers
    if providers:
        if connection.provider_type is None:
            unsure.append(f"the provider of connection {label} is not known")
        elif connection.provider_type.lower() not in {p.lower() for p in providers}:
            bad.append(
                f"connection {label} is to provider `{connection.provider_type}`, "
                f"which is not on the allowed connection providers"
            )
            evidence["provider_type"] = connection.provider_type

    hosts = ctx.config.allowed_connection_hosts
    if hosts:
        names = _hosts(connection)
        if not names:
            unsure.append(f"the host of connection {label} is not known")
        elif not names & {h.lower().rstrip("/") for h in hosts}:
            shown = connection.provider_endpoint or connection.host_arn or sorted(names)[0]
            bad.append(
                f"connection {label} is to host `{shown}`, which is not on the allowed hosts"
            )
            evidence["host"] = shown
    return bad, unsure, evidence


def _check_action(ctx: RuleContext, action: Action) -> Iterator[Finding]:
    config = action.loc / "configuration"
    arn_loc = config.raw("ConnectionArn")
    bad: list[str] = []
    unsure: list[str] = []
    evidence: dict[str, str] = {}
    where = f"Source action `{action.name}` in stage `{action.stage_name}`"

    arn = action.config("ConnectionArn")
    if arn is None:
        yield unknown(
            config, f"{where} has no `ConnectionArn`", stage=action.stage_name, action=action.name
        )
        return
    if isinstance(arn, Unresolved):
        unsure.append(f"`ConnectionArn` is unresolved ({arn.expr}): {arn.reason}")
    else:
        found = ctx.inventory.connection(arn)
        if isinstance(found, Gap):
            unsure.append(found.reason)
            # The ARN alone still names the owning account.
            owner = arn_account(arn)
            if _same_account(owner, ctx.pipeline_account) is False:
                bad.append(
                    f"connection `{arn}` is owned by account `{owner}`, "
                    f"not the pipeline's `{ctx.pipeline_account}`"
                )
                evidence = {"connection": arn, "owner_account": str(owner)}
        else:
            bad, unsure, evidence = _connection_problems(ctx, found)

    owner_bad, owner_unsure = _repository_owner(ctx, action)
    if bad:
        yield fail(arn_loc, f"{where}: " + "; ".join(bad), **at_action(action), evidence=evidence)
    if owner_bad:
        repo = str(action.config("FullRepositoryId"))
        yield fail(
            config.raw("FullRepositoryId"),
            f"{where}: {owner_bad}",
            **at_action(action),
            evidence={"FullRepositoryId": repo},
        )
    if not bad and not owner_bad and (unsure or owner_unsure):
        reasons = unsure + ([owner_unsure] if owner_unsure else [])
        yield unknown(
            arn_loc, f"{where}: " + "; ".join(reasons), stage=action.stage_name, action=action.name
        )


def _repository_owner(ctx: RuleContext, action: Action) -> tuple[str, str]:
    """A failure or an unknown about the ``FullRepositoryId`` owner ("" when fine)."""
    owners = ctx.config.allowed_repository_owners
    if not owners:
        return "", ""
    repo = action.config("FullRepositoryId")
    if repo is None:
        return "", "it has no `FullRepositoryId`"
    if isinstance(repo, Unresolved):
        return "", f"`FullRepositoryId` is unresolved ({repo.expr}): {repo.reason}"
    owner = repo.split("/", 1)[0]
    if owner.lower() in {o.lower() for o in owners}:
        return "", ""
    return (
        f"repository `{repo}` belongs to `{owner}`, which is not on the allowed repository owners",
        "",
    )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source", provider=PROVIDER):
        yield from _check_action(ctx, action)


RULE = Rule(META, check, __doc__ or "")
