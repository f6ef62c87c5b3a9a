"""When a feed is polled next: its interval, a backoff that doubles per failure up to a cap,
a server's Retry-After (honoured up to the same cap), and a random spread so that feeds
added together do not stay in step."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sanctionwatch.clock import iso, parse_iso
from sanctionwatch.config.settings import FeedConfig, Settings
from sanctionwatch.storage.db import Store

# Backoff doubles the interval per failure up to poll.backoff_max_minutes; 2**20 times the
# shortest interval (1 minute) already exceeds the longest cap (30 days), and without a
# bound `2 ** failures` overflows float after about 1,024 failures in a row.
MAX_BACKOFF_DOUBLINGS = 20


def next_poll(
    feed: FeedConfig, settings: Settings, failures: int, now: datetime, retry_after_s: float | None
) -> datetime:
    """When the feed is due again: its interval, doubled per failure up to the backoff cap,
    and no earlier than the server's Retry-After (itself capped)."""
    minutes = float(feed.interval_minutes)
    if failures:
        doublings = min(failures - 1, MAX_BACKOFF_DOUBLINGS)
        minutes = min(minutes * 2**doublings, float(settings.poll.backoff_max_minutes))
    at = now + timedelta(minutes=minutes)
    if retry_after_s:
        # A server's Retry-After is honoured up to our own backoff cap: a huge value
        # (99999999999999 s) must neither overflow the date nor silence the feed for years.
        wait_s = min(retry_after_s, settings.poll.backoff_max_minutes * 60.0)
        at = max(at, now + timedelta(seconds=wait_s))
    return at


def spread_next_polls(store: Store, names: Sequence[str], jitter_s: float) -> None:
    """Move each feed's next poll later by a random share of ``jitter_s``, so feeds added
    together drift apart."""
    with store.transaction() as db:
        for name in names:
            row = db.execute("SELECT next_poll_at FROM feeds WHERE name = ?", [name]).fetchone()
            at = parse_iso(row[0]) if row else None
            if at is not None:
                at += timedelta(seconds=random.uniform(0, jitter_s))
                db.execute("UPDATE feeds SET next_poll_at = ? WHERE name = ?", [iso(at), name])
