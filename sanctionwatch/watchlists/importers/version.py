"""What a list file says about its own age, and the bytes it was read from.

A re-import must not silently replace a newer list with an older one (an old download left in
a folder, a mirror that stopped updating). Each format offers a different marker:

- OFAC SDN legacy CSV: no date at all. ``ent_num`` is assigned in increasing order to every new
  designation, so the highest ``ent_num`` in the file grows with time (2021-04-25: 31651,
  2024-04-26: 48785, 2024-05-03: 48907). A delisting of the newest entry alone would lower it;
  that rare case needs ``--force``.
- UN consolidated XML: the root element's ``dateGenerated`` attribute.
- OFAC list XML (consolidated.xml): ``publshInformation/Publish_Date`` (MM/DD/YYYY).
- OFAC Consolidated legacy CSV (cons_prim.csv): no date; the highest ``ent_num``, as for SDN.
- Canada SEMA XML: no file date; the newest ``DateOfListing`` (a delisting of the newest
  entry alone would lower it, as for OFAC's ent_num).
- OpenSanctions FollowTheMoney JSON lines: the newest ``last_seen`` (else ``last_change``,
  else ``first_seen``) of the entities, as for the CSV export.
- OpenSanctions ``targets.simple.csv``: no file date; the newest ``last_seen`` (the crawl
  time), else ``last_change``, else ``first_seen`` value over all rows; none of these columns
  means no date.

Markers of different kinds (or a missing marker) cannot be compared and never block an import.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sanctionwatch.models import Entry

log = logging.getLogger(__name__)

MAX_ENT_NUM = "max-ent-num"  # OFAC: highest entity number in the file
PUBLISH_DATE = "Publish_Date"  # OFAC XML
DATE_OF_LISTING = "DateOfListing"  # Canada SEMA: newest listing date
NO_DATE = "none"
# Markers that are the publisher's own issue date: when one is older than a refreshed list's
# max_age_days, the source has stopped publishing (a dead mirror serving 304s forever).
PUBLICATION_KINDS = frozenset({PUBLISH_DATE, "dateGenerated"})

# how each marker kind is described to a user
KIND_LABELS = {
    MAX_ENT_NUM: "highest ent_num",
    "dateGenerated": "dateGenerated",
    PUBLISH_DATE: "Publish_Date",
    DATE_OF_LISTING: "newest DateOfListing",
    "last_seen": "newest last_seen",
    "last_change": "newest last_change",
    "first_seen": "newest first_seen",
    NO_DATE: "no date",
}


@dataclass(frozen=True)
class ListVersion:
    """The list's own age marker: ``kind`` (see KIND_LABELS) and the value as published."""

    kind: str
    value: str = ""
    note: str = ""  # why there is no marker, for the user

    @property
    def label(self) -> str:
        if self.kind == NO_DATE or not self.value:
            return f"no date ({self.note})" if self.note else "no date"
        return f"{KIND_LABELS.get(self.kind, self.kind)} {self.value}"

    def sort_key(self) -> int | datetime | None:
        """A value comparable with another marker of the same kind, or None."""
        if self.kind == NO_DATE or not self.value:
            return None
        if self.kind == MAX_ENT_NUM:
            return int(self.value) if self.value.isdigit() else None
        return parse_timestamp(self.value)


def parse_timestamp(value: str) -> datetime | None:
    """ISO 8601 (``2025-04-19T23:00:04.625Z``, ``2024-05-03T06:00:00``, ``2024-05-03``) as UTC;
    a value without an offset is taken as UTC (OpenSanctions publishes UTC without one)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def is_older(new: ListVersion, stored: ListVersion | None) -> bool | None:
    """True when ``new`` is older than ``stored``; None when the two cannot be compared."""
    if stored is None or new.kind != stored.kind:
        return None
    new_key, old_key = new.sort_key(), stored.sort_key()
    if new_key is None or old_key is None:
        return None
    return new_key < old_key  # type: ignore[operator]  # same kind → same key type


def ofac_version(entries: list[Entry]) -> ListVersion:
    numbers = [int(e.source_id) for e in entries if e.source_id.isdigit()]
    if not numbers:
        return ListVersion(NO_DATE, note="no numeric ent_num")
    return ListVersion(MAX_ENT_NUM, str(max(numbers)))


def newest_timestamp(kind: str, values: list[str]) -> ListVersion | None:
    """The newest parseable value of one date column, or None when it has none."""
    parsed = [(t, v) for v in values if (t := parse_timestamp(v)) is not None]
    if not parsed:
        return None
    return ListVersion(kind, max(parsed)[1].strip())


@dataclass(frozen=True)
class SourceFile:
    """One file an import read, with the SHA-256 of exactly the bytes parsed."""

    path: str
    sha256: str

    @classmethod
    def of(cls, path: Path, data: bytes) -> SourceFile:
        return cls(str(path), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class ParsedList:
    """A complete parsed list file: entries, its own age marker, the files read, and
    warnings worth repeating if the import is refused (e.g. a missing end-of-file marker)."""

    entries: list[Entry]
    version: ListVersion
    files: tuple[SourceFile, ...]
    warnings: tuple[str, ...] = ()
