"""Schemas ``_v8`` and ``_v9``: what keeps a poller cheap after months of running.

Their own module because schema.py is at its size limit; schema.MIGRATIONS lists them last.

``_v8``, ``feeds.entries_hash``: `ingest.samedoc.entries_hash` of the last document whose
items were all recorded. A changed document with the same hash (a rebuilt feed with a new
`lastBuildDate`) brings nothing new and is not parsed. NULL (a feed not polled since, a new
URL): the next document is read in full.

``_v9``, an index on ``alerts.thread_of``: every delivered message lists the outlets of the
copies in its thread (`alerting.threads.also_reported`); without the index that look-up
read every delivered alert ever recorded.
"""

from __future__ import annotations

import sqlite_utils


def v8_entries_hash(db: sqlite_utils.Database) -> None:
    """``feeds.entries_hash``: the hash of the last recorded document's entries."""
    if "entries_hash" not in db.table("feeds").columns_dict:
        db.execute("ALTER TABLE feeds ADD COLUMN entries_hash TEXT")


def v9_thread_index(db: sqlite_utils.Database) -> None:
    """``idx_alerts_thread``: the copies posted into one alert's thread."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_alerts_thread ON alerts (thread_of, status)")
