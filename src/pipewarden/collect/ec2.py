"""Amazon EC2, for one thing only: the regions enabled for an account."""

from __future__ import annotations

from typing import Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "enabled_regions"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"ec2:DescribeRegions"})


def enabled_regions(reading: Reading, home_region: str) -> list[str] | None:
    """Regions enabled for the account (opt-in regions only when opted in);
    None, with a gap, when they cannot be listed."""
    response = reading.call(
        "ec2", home_region, "DescribeRegions", kind="region", resource=None, AllRegions=False
    )
    if response is None:
        return None
    names = [
        str(r["RegionName"])
        for r in response.get("Regions", [])
        if r.get("RegionName") and r.get("OptInStatus") != "not-opted-in"
    ]
    return sorted(set(names))
