"""Refuse a re-import that parses fine but would be a fault if stored: cut off or stale.

A truncated download cut at a row boundary is still a well-formed CSV, and a 2021 file copied
over a 2024 one is a well-formed list; storing either silently de-lists real designations
(matching stops) and announces old ones as new. Both are refused unless ``--force``:

- the file would remove more than ``max_delist_fraction`` of the stored entries, or more
  than MAX_DELIST_ENTRIES of them;
- the file's own age marker (importers/version.py) is older than the stored list's;
- (kept from before) the file has less than ``min_ratio`` of the stored entry count.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sanctionwatch.errors import ImportRefused
from sanctionwatch.watchlists.importers.version import ListVersion, is_older

log = logging.getLogger(__name__)

# Real delistings are small: OFAC 2024-05-02 → 05-03 removed 8 of 14,973 entries, a week
# 2024-04-26 → 05-03 removed 8. A few hundred at once happens only in rare programme-wide
# actions, which an operator can confirm with --force; a cut-off 15k-row file loses thousands.
MAX_DELIST_ENTRIES = 500

# absorbs float error in fraction × count (0.29 × 100 = 28.999…)
_EPSILON = 1e-9


@dataclass(frozen=True)
class ImportCheck:
    """The numbers a re-import is judged by."""

    list_name: str
    source_file: str
    stored: int  # entries in the stored version
    in_file: int
    would_remove: int
    new_version: ListVersion
    stored_version: ListVersion | None

    def delist_limit(self, max_delist_fraction: float) -> int:
        """The most entries one import may remove without --force."""
        by_fraction = math.floor(max_delist_fraction * self.stored + _EPSILON)
        return min(by_fraction, MAX_DELIST_ENTRIES)


def refusal(
    check: ImportCheck,
    *,
    max_delist_fraction: float,
    min_ratio: float,
    warnings: tuple[str, ...] = (),
) -> ImportRefused[ImportCheck] | None:
    """The error to raise for this re-import, or None when it may go ahead."""
    if not check.stored and check.stored_version is None:
        return None  # first import: nothing to lose, nothing to compare with
    reasons: list[str] = []
    if check.in_file < min_ratio * check.stored:
        reasons.append(
            f"{check.in_file:,} entries vs {check.stored:,} before — looks truncated; "
            "re-run with --force if this is real"
        )
    limit = check.delist_limit(max_delist_fraction)
    if check.would_remove > limit:
        reasons.append(
            f"it would remove {check.would_remove:,} of the {check.stored:,} stored entries "
            f"({check.in_file:,} entries in the file); the limit is {limit:,} "
            f"(max_delist_fraction {max_delist_fraction:.0%} of the stored entries, "
            f"at most {MAX_DELIST_ENTRIES:,})"
        )
    if is_older(check.new_version, check.stored_version):
        assert check.stored_version is not None  # is_older is None without one
        reasons.append(
            f"the file is older than the stored list: {check.new_version.label} in the file, "
            f"{check.stored_version.label} stored"
        )
    if not reasons:
        return None
    notes = "".join(f"; note: {w}" for w in warnings)
    message = f"{check.source_file}: {'; '.join(reasons)} (list {check.list_name}){notes}"
    log.warning(
        "list import refused list=%s file=%s stored=%d in_file=%d would_remove=%d limit=%d "
        "file_version=%r stored_version=%r",
        check.list_name,
        check.source_file,
        check.stored,
        check.in_file,
        check.would_remove,
        limit,
        check.new_version.label,
        check.stored_version.label if check.stored_version else None,
    )
    return ImportRefused(
        message,
        hint="re-run with --force if this is intended (a real mass delisting, or going back "
        "to an older list on purpose); the stored list stays exactly as it was",
        check=check,
        reasons=reasons,
    )
