"""Time, in UTC everywhere: the current moment and the ISO 8601 text the database stores.

Stored times look like ``2026-11-28T10:00:00+00:00`` so that they sort and compare as text.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """``dt`` as stored text (seconds, UTC); naive datetimes are taken to be UTC already."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
