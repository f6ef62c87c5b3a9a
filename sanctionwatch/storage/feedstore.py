"""Feeds managed from Slack or the terminal, stored on top of the TOML feeds.

The TOML ``[[feeds]]`` stay the baseline: a row in ``managed_feeds`` (schema v5) either adds a
feed (``origin = 'added'``) or lays a pause, a channel or an interval over a TOML feed
(``origin = 'toml'``). Decisions:

- ``remove`` deletes an added feed; a TOML feed cannot be removed from Slack or the CLI (the
  next restart would bring it back from the file, so a "removed" flag would only hide a
  difference between the file and the bot): it can be paused, which has the same effect
  until someone edits the config.
- A name used by a TOML feed cannot be added again; a feed later added to the TOML under the
  name of an added feed takes over that name (the TOML wins, the added row is kept for the
  audit trail but ignored).
- Channel precedence for an alert: the rule's ``channel``, else the feed's channel, else
  ``[slack] default_channel``.

Every change is audited (``audit_log``, action ``feed_*``, list ``feeds``) in the transaction
that makes it. A change from Slack carries its ``RequestKey`` and claims it first in that
transaction (storage/replay.py): a replayed or retried ``/feeds`` command raises
DuplicateRequest and changes nothing (a replayed add cannot bring back a removed feed, a
replayed pause cannot undo a resume). The checks that refuse a command run inside the same
transaction, so a refused command's claim is rolled back with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sanctionwatch.clock import iso, utcnow
from sanctionwatch.config.settings import FeedConfig
from sanctionwatch.errors import SanctionwatchError
from sanctionwatch.storage.audit import Actor, audit
from sanctionwatch.storage.replay import RequestKey, claim
from sanctionwatch.storage.schema import MANAGED_FEEDS_TABLE

AUDIT_LIST = "feeds"
ADDED, TOML = "added", "toml"


class FeedAdminError(SanctionwatchError):
    """A feed command that cannot be applied (unknown name, duplicate, TOML feed removal)."""


@dataclass(frozen=True)
class ManagedFeed:
    feed: FeedConfig
    origin: str  # toml | added
    paused: bool = False
    added_by: str = ""


def _rows(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in db.query(f"SELECT * FROM {MANAGED_FEEDS_TABLE} ORDER BY name")}


def _overlay(feed: FeedConfig, row: dict[str, Any] | None) -> FeedConfig:
    if row is None:
        return feed
    changes: dict[str, Any] = {}
    if row.get("channel"):
        changes["channel"] = row["channel"]
    if row.get("interval_minutes"):
        changes["interval_minutes"] = int(row["interval_minutes"])
    return dataclasses.replace(feed, **changes)


def all_feeds(toml: Sequence[FeedConfig], db: sqlite_utils.Database) -> list[ManagedFeed]:
    """Every feed, paused ones included: TOML feeds (with their overlay) then added feeds."""
    rows = _rows(db)
    names = {f.name for f in toml}
    out = [
        ManagedFeed(_overlay(f, rows.get(f.name)), TOML, bool(rows.get(f.name, {}).get("paused")))
        for f in toml
    ]
    for name, row in rows.items():
        if row["origin"] == ADDED and name not in names:
            feed = FeedConfig(
                name=name,
                url=row["url"],
                interval_minutes=int(row.get("interval_minutes") or FeedConfig.interval_minutes),
                channel=row.get("channel") or None,
            )
            out.append(ManagedFeed(feed, ADDED, bool(row["paused"]), row.get("added_by") or ""))
    return out


def active_feeds(toml: Sequence[FeedConfig], db: sqlite_utils.Database) -> tuple[FeedConfig, ...]:
    """The feeds to poll now: read on every cycle, so a change needs no restart."""
    return tuple(m.feed for m in all_feeds(toml, db) if not m.paused)


def _find(toml: Sequence[FeedConfig], db: sqlite_utils.Database, name: str) -> ManagedFeed:
    for m in all_feeds(toml, db):
        if m.feed.name == name:
            return m
    known = ", ".join(m.feed.name for m in all_feeds(toml, db)) or "none"
    raise FeedAdminError(f"no feed named {name!r}", hint=f"feeds: {known}")


def _state(m: ManagedFeed) -> dict[str, Any]:
    return {
        "url": m.feed.url,
        "origin": m.origin,
        "paused": m.paused,
        "channel": m.feed.channel,
        "interval_minutes": m.feed.interval_minutes,
    }


def add_feed(
    db: sqlite_utils.Database,
    toml: Sequence[FeedConfig],
    feed: FeedConfig,
    actor: Actor,
    now: datetime | None = None,
    request: RequestKey | None = None,
) -> None:
    now = now or utcnow()
    with _tx(db):
        claim(db, request, now)
        existing = {m.feed.name: m for m in all_feeds(toml, db)}
        if feed.name in existing:
            raise FeedAdminError(
                f"a feed named {feed.name!r} exists already ({existing[feed.name].feed.url})",
                hint="choose another name, or remove the old feed first",
            )
        same_url = [m.feed.name for m in existing.values() if m.feed.url == feed.url]
        if same_url:
            raise FeedAdminError(f"{feed.url} is already polled as feed {same_url[0]!r}")
        db.execute(f"DELETE FROM {MANAGED_FEEDS_TABLE} WHERE name = ?", [feed.name])
        db.execute(
            f"INSERT INTO {MANAGED_FEEDS_TABLE} (name, url, origin, paused, channel,"
            " interval_minutes, added_by, added_at, updated_at) VALUES (?,?,?,0,?,?,?,?,?)",
            [
                feed.name,
                feed.url,
                ADDED,
                feed.channel,
                feed.interval_minutes,
                actor.label,
                iso(now),
                iso(now),
            ],
        )
        after = ManagedFeed(feed, ADDED)
        audit(db, actor, "feed_add", AUDIT_LIST, feed.name, None, _state(after), now)


def remove_feed(
    db: sqlite_utils.Database,
    toml: Sequence[FeedConfig],
    name: str,
    actor: Actor,
    now: datetime | None = None,
    request: RequestKey | None = None,
) -> None:
    now = now or utcnow()
    with _tx(db):
        claim(db, request, now)
        found = _find(toml, db, name)
        if found.origin == TOML:
            raise FeedAdminError(
                f"feed {name!r} comes from the config file and cannot be removed here",
                hint=f"pause it (feeds pause {name}), or delete it from the [[feeds]] in the "
                "config",
            )
        db.execute(f"DELETE FROM {MANAGED_FEEDS_TABLE} WHERE name = ?", [name])
        db.execute("UPDATE feeds SET active = 0 WHERE name = ?", [name])
        audit(db, actor, "feed_remove", AUDIT_LIST, name, _state(found), None, now)


def set_paused(
    db: sqlite_utils.Database,
    toml: Sequence[FeedConfig],
    name: str,
    paused: bool,
    actor: Actor,
    now: datetime | None = None,
    request: RequestKey | None = None,
) -> bool:
    """Pause or resume; False when it already was in that state (nothing audited)."""
    now = now or utcnow()
    with _tx(db):
        claim(db, request, now)
        found = _find(toml, db, name)
        if found.paused == paused:
            return False
        db.execute(
            f"INSERT OR IGNORE INTO {MANAGED_FEEDS_TABLE} (name, url, origin, paused)"
            " VALUES (?, ?, ?, 0)",
            [name, found.feed.url, found.origin],
        )
        db.execute(
            f"UPDATE {MANAGED_FEEDS_TABLE} SET paused = ?, updated_at = ? WHERE name = ?",
            [int(paused), iso(now), name],
        )
        after = dataclasses.replace(found, paused=paused)
        action = "feed_pause" if paused else "feed_resume"
        audit(db, actor, action, AUDIT_LIST, name, _state(found), _state(after), now)
    return True


class _tx:
    """BEGIN IMMEDIATE … COMMIT on the store's autocommit connection."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
