"""The SQLite store: schema, migrations and the queries the pipeline needs.

One file, WAL mode, a busy timeout, every multi-row change in one transaction. Times are
UTC ISO 8601 strings (``2026-11-28T10:00:00+00:00``) so they sort and compare as text.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sanctionwatch.clock import iso
from sanctionwatch.errors import StoreError
from sanctionwatch.models import Alert, Item, Match
from sanctionwatch.storage.dbfile import (
    OPEN_INODES,
    describe_sqlite_error,
    inode_key,
    prepare_file,
    quick_check,
)
from sanctionwatch.storage.schema import MIGRATIONS

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000  # long enough for a concurrent Slack edit or export to finish
SQL_CHUNK = 500  # stays below SQLite's host-parameter limit on every build
# Text kept per item (title aside) so `backtest` can re-run rules on what was seen: enough
# for a news summary or the opening paragraphs rules look at (`within_words` spans run to a
# few dozen words), bounded so 90 days of items (retention_days) stay a few hundred MiB at
# most. Items are pruned by the retention settings as before.
ITEM_TEXT_CHARS = 4_000


class Store:
    """All reads and writes of the database go through here."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._inode: tuple[int, int] | None = None
        prepare_file(self.path)
        self._inode = inode_key(self.path)
        OPEN_INODES.add(self._inode)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                isolation_level=None,
            )
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except BaseException as exc:
            if conn is not None:
                conn.close()
            self._forget_inode()
            if isinstance(exc, sqlite3.Error):
                raise describe_sqlite_error(self.path, exc) from exc
            raise

    def close(self) -> None:
        self.db.conn.close()
        self._forget_inode()

    def _forget_inode(self) -> None:
        if self._inode is not None:
            OPEN_INODES.remove(self._inode)
            self._inode = None

    def quick_check(self) -> None:
        """Raise :class:`DatabaseFileError` unless SQLite's quick_check passes (see dbfile)."""
        quick_check(self.db.conn, self.path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this "
                f"sanctionwatch ({len(MIGRATIONS)})",
                hint="upgrade sanctionwatch, or point 'database' at another file",
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction() as db:
                MIGRATIONS[number](db)
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    [str(number + 1)],
                )
            log.info("migrated database path=%s version=%d", self.path, number + 1)

    # ---- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    # ---- feeds ------------------------------------------------------------------------
    def sync_feeds(self, feeds: Iterable[tuple[str, str]]) -> None:
        """Make the feeds table match the configured (name, url) pairs; unlisted → inactive."""
        wanted = dict(feeds)
        with self.transaction() as db:
            db.execute("UPDATE feeds SET active = 0")
            for name, url in wanted.items():
                row = db.execute("SELECT url FROM feeds WHERE name = ?", [name]).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO feeds (name, url, active) VALUES (?, ?, 1)", [name, url]
                    )
                elif row[0] != url:  # a new URL is a new feed: reset its fetch state
                    db.execute(
                        "UPDATE feeds SET url = ?, active = 1, etag = NULL, last_modified = NULL,"
                        " entries_hash = NULL, gone = 0, consecutive_failures = 0,"
                        " next_poll_at = NULL WHERE name = ?",
                        [url, name],
                    )
                else:
                    db.execute("UPDATE feeds SET active = 1 WHERE name = ?", [name])

    def feed(self, name: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM feeds WHERE name = ?", [name]))
        return rows[0] if rows else {}

    def feed_rows(self) -> dict[str, dict[str, Any]]:
        """Every feed's row by name, in one query (a poll reads them all at its start)."""
        return {row["name"]: row for row in self.db.query("SELECT * FROM feeds")}

    def feeds(self, active_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE active = 1" if active_only else ""
        return list(self.db.query(f"SELECT * FROM feeds {where} ORDER BY name"))

    def update_feed(self, name: str, **fields: Any) -> None:
        if not fields:
            return
        cols = ", ".join(f"[{k}] = ?" for k in fields)
        self.db.execute(f"UPDATE feeds SET {cols} WHERE name = ?", [*fields.values(), name])

    # ---- items ------------------------------------------------------------------------
    def known_items(self, items: Sequence[Item], link_keys: Sequence[str | None]) -> set[str]:
        """Ids of the given items already recorded (by id, or by the same normalised link)."""
        known: set[str] = set()
        ids = [it.item_id for it in items]
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            known.update(
                r[0]
                for r in self.db.execute(
                    f"SELECT item_id FROM items WHERE item_id IN ({marks})", chunk
                )
            )
        keyed = {k: it.item_id for it, k in zip(items, link_keys, strict=True) if k}
        for chunk in _chunks(list(keyed)):
            marks = ",".join("?" * len(chunk))
            for (key,) in self.db.execute(
                f"SELECT link_key FROM items WHERE link_key IN ({marks})", chunk
            ):
                known.add(keyed[key])
        return known

    def record_item(
        self,
        db: sqlite_utils.Database,
        item: Item,
        link_key: str | None,
        matches: Sequence[Match],
        alerts: Sequence[Alert],
        now: datetime,
        summary_chars: int = ITEM_TEXT_CHARS,
    ) -> list[int]:
        """Insert one item with its matches and queued alerts; call inside ``transaction()``.

        Returns the new alert ids. An item already present (a race with another feed carrying
        the same story) is left alone and yields no alerts.
        """
        cur = db.execute(
            "INSERT OR IGNORE INTO items (item_id, feed, link_key, guid, title, link, summary,"
            " published_at, first_seen_at, match_count) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                item.item_id,
                item.feed,
                link_key,
                item.guid,
                item.title,
                item.link,
                item.text[:summary_chars],
                iso(item.published),
                iso(now),
                len(matches),
            ],
        )
        if cur.rowcount == 0:
            return []
        if matches:
            db.conn.executemany(
                "INSERT INTO matches (item_id, entity_id, entity, watchlist, alias, text, field,"
                " start, [end], score, detail, type, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        item.item_id,
                        m.entity_id,
                        m.entity,
                        m.watchlist,
                        m.alias,
                        m.text,
                        m.field,
                        m.start,
                        m.end,
                        m.score,
                        m.detail,
                        m.type,
                        json.dumps(list(m.tags)),
                    )
                    for m in matches
                ],
            )
        ids: list[int] = []
        for alert in alerts:
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts (item_id, rule, severity, channel, explanation,"
                " matches, status, attempts, created_at) VALUES (?,?,?,?,?,?,'pending',0,?)",
                [
                    item.item_id,
                    alert.rule,
                    alert.severity,
                    alert.channel,
                    alert.explanation,
                    matches_to_json(alert.matches),
                    iso(now),
                ],
            )
            if cur.rowcount and cur.lastrowid is not None:
                ids.append(cur.lastrowid)
        return ids

    # ---- outbox -----------------------------------------------------------------------
    def pending_alerts(self, limit: int = 1000) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM alerts WHERE status = 'pending' ORDER BY id LIMIT ?", [limit]
            )
        )

    def count_pending(self) -> int:
        """Alerts waiting for delivery: pending, retrying, or unknown (answer lost)."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM alerts WHERE status IN ('pending', 'retrying', 'unknown')"
            ).fetchone()[0]
        )

    def alert_with_item(self, alert_id: int) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT a.*, i.title, i.link, i.feed, i.published_at, i.summary FROM alerts a"
                " JOIN items i ON i.item_id = a.item_id WHERE a.id = ?",
                [alert_id],
            )
        )
        return rows[0] if rows else None

    def mark_delivered(self, alert_id: int, slack_channel: str, ts: str, now: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'delivered', slack_channel = ?, slack_ts = ?,"
                " delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                [slack_channel, ts, iso(now), alert_id],
            )
            db.execute(
                "UPDATE feeds SET alerts = alerts + 1 WHERE name ="
                " (SELECT i.feed FROM items i JOIN alerts a ON a.item_id = i.item_id"
                " WHERE a.id = ?)",
                [alert_id],
            )

    def mark_attempt_failed(self, alert_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error[:1000], alert_id],
        )

    # ---- export -----------------------------------------------------------------------
    def alerts_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT a.*, i.title, i.link, i.feed, i.published_at FROM alerts a"
                " JOIN items i ON i.item_id = a.item_id"
                " WHERE a.created_at >= ? AND a.created_at < ? ORDER BY a.id",
                [iso(since), iso(until)],
            )
        )

    def record_export(
        self,
        since: datetime,
        until: datetime,
        path: Path,
        rows: int,
        uploaded_to: str | None,
        error: str | None,
        now: datetime,
    ) -> int:
        """Record a written export; its id (uploads queued for it refer to it)."""
        table = self.db.table("exports")
        table.insert(
            {
                "since": iso(since),
                "until": iso(until),
                "path": str(path),
                "rows": rows,
                "created_at": iso(now),
                "uploaded_to": uploaded_to,
                "error": error,
            }
        )
        assert table.last_pk is not None
        return int(table.last_pk)

    def last_export(self) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM exports ORDER BY id DESC LIMIT 1"))
        return rows[0] if rows else None

    # ---- retention --------------------------------------------------------------------
    def prune_items(self, older_than: datetime, matched_older_than: datetime | None = None) -> int:
        """Delete items that never alerted: without matches when first seen before
        ``older_than``; with matches (and those matches) before ``matched_older_than``.
        Alerted items, their matches and the audit trail are never pruned."""
        not_alerted = "item_id NOT IN (SELECT item_id FROM alerts)"
        with self.transaction() as db:
            cur = db.execute(
                f"DELETE FROM items WHERE match_count = 0 AND first_seen_at < ? AND {not_alerted}",
                [iso(older_than)],
            )
            pruned = cur.rowcount
            if matched_older_than is not None:
                old = f"match_count > 0 AND first_seen_at < ? AND {not_alerted}"
                db.execute(
                    f"DELETE FROM matches WHERE item_id IN (SELECT item_id FROM items WHERE {old})",
                    [iso(matched_older_than)],
                )
                cur = db.execute(f"DELETE FROM items WHERE {old}", [iso(matched_older_than)])
                pruned += cur.rowcount
        return pruned


def matches_to_json(matches: Iterable[Match]) -> str:
    return json.dumps([asdict(m) for m in matches], ensure_ascii=False)


def matches_from_json(text: str | None) -> tuple[Match, ...]:
    out = []
    for d in json.loads(text or "[]"):
        d["tags"] = tuple(d.get("tags", ()))
        d["programs"] = tuple(d.get("programs", ()))
        out.append(Match(**d))
    return tuple(out)


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), SQL_CHUNK):
        yield values[i : i + SQL_CHUNK]
