"""Files uploaded beside the weekly alerts CSV: today the watchlist-changes companion, the
audit trail's watchlist edits of the same week (``watchlist-changes-YYYY-Www.csv``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sanctionwatch.reporting.export import write_changes_csv
from sanctionwatch.storage.audit import CHANGES_COLUMNS, WATCHLIST_ACTIONS, audit_rows
from sanctionwatch.storage.db import Store


def write_changes(store: Store, since: datetime, until: datetime, exports_dir: Path) -> Path:
    """The weekly companion ``watchlist-changes-YYYY-Www.csv`` (header only when quiet)."""
    year, week, _ = since.isocalendar()
    path = exports_dir / f"watchlist-changes-{year}-W{week:02d}.csv"
    rows = audit_rows(store.db, since, until, WATCHLIST_ACTIONS)
    write_changes_csv(rows, path, CHANGES_COLUMNS)
    return path
