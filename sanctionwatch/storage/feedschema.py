"""Schema ``_v8``: a feed remembers the entries of the last document it recorded.

Its own module because schema.py is at its size limit; schema.MIGRATIONS lists it last.
``feeds.entries_hash`` is `ingest.samedoc.entries_hash` of the last document whose items were
all recorded: a changed document with the same hash (a rebuilt feed with a new
`lastBuildDate`) brings nothing new and is not parsed. NULL (a feed not polled since, a new
URL): the next document is read in full.
"""

from __future__ import annotations

import sqlite_utils


def v8_entries_hash(db: sqlite_utils.Database) -> None:
    """``feeds.entries_hash``: the hash of the last recorded document's entries."""
    if "entries_hash" not in db.table("feeds").columns_dict:
        db.execute("ALTER TABLE feeds ADD COLUMN entries_hash TEXT")
