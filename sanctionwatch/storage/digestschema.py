"""Schema ``_v7``: the alerts waiting for their channel's digest.

Its own module because schema.py is at its size limit; schema.MIGRATIONS lists it last.
An alert routed to a digest is recorded with ``status = 'digest'`` and one row here, in the
same transaction as the match, so a restart before the period ends loses nothing. When the
period is over its rows get the ``outbox_id`` of the one digest message that lists them (queued
in one transaction with that update, so every entry is in exactly one digest); when that
message is delivered, its alerts become ``delivered``.
"""

from __future__ import annotations

import sqlite_utils

DIGEST_ENTRIES_TABLE = "digest_entries"


def v7_digests(db: sqlite_utils.Database) -> None:
    """``digest_entries``: alert, channel, period and its UTC bounds, the digest's outbox id."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {DIGEST_ENTRIES_TABLE} ("
        " alert_id INTEGER PRIMARY KEY, channel TEXT NOT NULL, period TEXT NOT NULL,"
        " period_start TEXT NOT NULL, period_end TEXT NOT NULL, created_at TEXT NOT NULL,"
        " outbox_id INTEGER)"
    )
    db.execute(
        f"CREATE INDEX IF NOT EXISTS idx_digest_open ON {DIGEST_ENTRIES_TABLE}"
        " (outbox_id, period_end)"
    )
