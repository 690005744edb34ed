"""AWS Organizations: the accounts of an organisation."""

from __future__ import annotations

from typing import Final

from pipewarden.collect._aws import Reading, Unreadable
from pipewarden.errors import CollectionError

__all__ = ["PERMISSIONS", "active_accounts"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"organizations:ListAccounts"})

# ListAccounts returns at most 20 accounts a page.
_PAGE: Final = 20


def active_accounts(reading: Reading) -> list[str]:
    """Ids of every active account of the organisation (from the management account
    or a delegated administrator); CollectionError when the list cannot be read."""
    try:
        response = reading.attempt_pages("organizations", None, "ListAccounts", page_size=_PAGE)
    except Unreadable as failure:
        raise CollectionError(
            "cannot list the accounts of the organisation (organizations:ListAccounts: "
            f"{failure.code}{': ' + failure.message[:300] if failure.message else ''}); "
            "--org needs the management account or a delegated administrator"
        ) from failure
    out = []
    for account in response.get("Accounts", []):
        state = account.get("State") or account.get("Status") or "ACTIVE"
        if state == "ACTIVE" and account.get("Id"):
            out.append(str(account["Id"]))
    return sorted(set(out))
