"""The database schema as one ordered list of migrations: version N is made by MIGRATIONS[N - 1].

Append only: never edit a migration that has shipped; add the next one. Every table lives
here, whichever stage uses it, so opening a database gives the same schema whatever was
imported first. Migrations from v3 on are idempotent (IF NOT EXISTS, columns added only when
missing): databases from releases that created the feature tables on the fly take them as
they are.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from sanctionwatch.storage.digestschema import v7_digests
from sanctionwatch.storage.pollschema import v8_entries_hash, v9_thread_index
from sanctionwatch.storage.reviewschema import v6_reasons


def _v1(db: sqlite_utils.Database) -> None:
    db.table("feeds").create(
        {
            "name": str,
            "url": str,
            "active": int,
            "etag": str,
            "last_modified": str,
            "last_fetch_at": str,
            "last_success_at": str,
            "last_status": int,
            "last_error": str,
            "last_error_at": str,
            "consecutive_failures": int,
            "items_seen": int,
            "alerts": int,
            "next_poll_at": str,
            "first_polled_at": str,
            "gone": int,
            "ops_notified": int,
        },
        pk="name",
        defaults={"active": 1, "consecutive_failures": 0, "items_seen": 0, "alerts": 0},
        not_null={"url"},
    )
    db.table("items").create(
        {
            "item_id": str,
            "feed": str,
            "link_key": str,
            "guid": str,
            "title": str,
            "link": str,
            "summary": str,
            "published_at": str,
            "first_seen_at": str,
            "match_count": int,
        },
        pk="item_id",
        defaults={"match_count": 0},
    )
    db.table("items").create_index(["link_key"])
    db.table("items").create_index(["first_seen_at"])
    db.table("matches").create(
        {
            "id": int,
            "item_id": str,
            "entity_id": str,
            "entity": str,
            "watchlist": str,
            "alias": str,
            "text": str,
            "field": str,
            "start": int,
            "end": int,
            "score": float,
            "detail": str,
            "type": str,
            "tags": str,
        },
        pk="id",
        foreign_keys=[("item_id", "items", "item_id")],
    )
    db.table("matches").create_index(["item_id"])
    db.table("alerts").create(
        {
            "id": int,
            "item_id": str,
            "rule": str,
            "severity": str,
            "channel": str,
            "explanation": str,
            "matches": str,  # JSON list of the matches that made the rule fire
            "status": str,  # pending | delivered
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "delivered_at": str,
            "slack_channel": str,
            "slack_ts": str,
        },
        pk="id",
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("item_id", "items", "item_id")],
    )
    db.table("alerts").create_index(["item_id", "rule"], unique=True)
    db.table("alerts").create_index(["status"])
    db.table("alerts").create_index(["created_at"])
    db.table("exports").create(
        {
            "id": int,
            "since": str,
            "until": str,
            "path": str,
            "rows": int,
            "created_at": str,
            "uploaded_to": str,
            "error": str,
        },
        pk="id",
    )


def _v2(db: sqlite_utils.Database) -> None:
    """Delivery as a per-alert state machine, and an outbox for every other message.

    alerts.status becomes pending | retrying | unknown | delivered | failed. ``unknown_since``
    is the time of an attempt whose answer was lost (the message may be in Slack: look in the
    channel's history before posting again); ``next_attempt_at`` the earliest next try;
    ``error_code`` the Slack error that made an alert fail; ``reduced`` whether the shortened
    message was already tried. ``outbox`` holds notices (designations, ops) and file uploads
    with the same states; ``delivery_channels`` the per-channel failure streak and Retry-After.
    """
    alerts = db.table("alerts")
    for column in ("next_attempt_at", "unknown_since", "first_attempt_at", "error_code"):
        alerts.add_column(column, str)
    alerts.add_column("reduced", int, not_null_default=0)
    alerts.create_index(["status", "next_attempt_at"])
    db.table("outbox").create(
        {
            "id": int,
            "kind": str,  # designation | ops | upload | notice
            "ref": str,  # what it belongs to, e.g. "export:12"; free text
            "channel": str,
            "text": str,
            "blocks": str,  # JSON list
            "file_path": str,  # uploads
            "title": str,
            "status": str,  # pending | retrying | unknown | delivered | failed
            "attempts": int,
            "next_attempt_at": str,
            "unknown_since": str,
            "first_attempt_at": str,
            "reduced": int,
            "last_error": str,
            "error_code": str,
            "created_at": str,
            "delivered_at": str,
            "slack_ts": str,
        },
        pk="id",
        defaults={"status": "pending", "attempts": 0, "reduced": 0},
        not_null={"kind", "channel"},
    )
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.table("outbox").create_index(["ref"])
    db.table("delivery_channels").create(
        {
            "channel": str,
            "failing_since": str,  # start of the current failure streak; NULL: healthy
            "last_error": str,
            "notified": int,  # the ops channel heard about this streak
            "retry_after_until": str,  # Slack asked us to wait (429) until then
        },
        pk="channel",
        defaults={"notified": 0},
    )


# ---- feature tables (v3) ------------------------------------------------------------------
AUDIT_TABLE = "audit_log"  # append-only: who changed watchlists, imported lists, dispositions
OVERLAY_TABLE = "watchlist_overlay"  # Slack/terminal edits on top of the watchlist files
DISPOSITIONS_TABLE = "alert_dispositions"  # every review click, latest one on the alert
DISPOSITION_COLUMNS = ("disposition", "disposition_by", "disposition_at")  # on alerts
SEEN_REQUESTS_TABLE = "slack_requests_seen"  # signed Slack requests already applied
IMPORTED_LISTS_TABLE = "imported_lists"
IMPORTED_ENTRIES_TABLE = "imported_entries"
# imported_lists columns added after the first release: name → declaration
IMPORTED_LIST_ADDED_COLUMNS = {"list_date_kind": "TEXT", "list_date": "TEXT", "files": "TEXT"}


def create_audit_table(db: sqlite_utils.Database) -> None:
    """The audit table, its indexes and the triggers that make it append-only."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor_id TEXT NOT NULL,"
        " actor_name TEXT, via TEXT NOT NULL, action TEXT NOT NULL, list TEXT, target TEXT,"
        " before TEXT, after TEXT)"
    )
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_audit_action ON {AUDIT_TABLE} (action, id)")
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_audit_at ON {AUDIT_TABLE} (at)")
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_{op.lower()}"
            f" BEFORE {op} ON {AUDIT_TABLE}"
            f" BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only'); END"
        )


def create_imported_list_tables(db: sqlite_utils.Database) -> None:
    """Official lists (one row per list) and their entries, plus the audit table."""
    db.conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {IMPORTED_LISTS_TABLE} (
        name TEXT PRIMARY KEY,
        fmt TEXT NOT NULL,
        source_file TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        entry_count INTEGER NOT NULL,
        version INTEGER NOT NULL
    )"""
    )
    db.conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {IMPORTED_ENTRIES_TABLE} (
        list TEXT NOT NULL,
        entry_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        aliases TEXT NOT NULL,
        tags TEXT NOT NULL,
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        programs TEXT NOT NULL,
        notes TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        strict INTEGER NOT NULL DEFAULT 0
    )"""
    )
    db.conn.execute(
        f"CREATE INDEX IF NOT EXISTS imported_entries_list ON {IMPORTED_ENTRIES_TABLE}"
        " (list, entry_id)"
    )
    have = {row[1] for row in db.conn.execute(f"PRAGMA table_info({IMPORTED_LISTS_TABLE})")}
    for column, declaration in IMPORTED_LIST_ADDED_COLUMNS.items():
        if column not in have:
            db.conn.execute(f"ALTER TABLE {IMPORTED_LISTS_TABLE} ADD COLUMN {column} {declaration}")
    create_audit_table(db)


def _create_overlay_table(db: sqlite_utils.Database) -> None:
    db.table(OVERLAY_TABLE).create(
        {
            "id": int,
            "entry_id": str,
            "list": str,
            "name": str,
            "type": str,
            "aliases": str,  # JSON list
            "tags": str,  # JSON list
            "strict": int,
            "notes": str,
            "added_by": str,
            "added_by_id": str,
            "added_at": str,
        },
        pk="id",
        not_null={"entry_id", "list", "name", "type"},
        if_not_exists=True,
    )
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS idx_overlay_entry ON {OVERLAY_TABLE} (entry_id)")


def _create_dispositions(db: sqlite_utils.Database) -> None:
    db.table(DISPOSITIONS_TABLE).create(
        {
            "id": int,
            "alert_id": int,
            "disposition": str,
            "user_id": str,
            "user_name": str,
            "via": str,
            "at": str,
        },
        pk="id",
        not_null={"alert_id", "disposition", "user_id", "at"},
        if_not_exists=True,
    )
    db.execute(
        f"CREATE INDEX IF NOT EXISTS idx_dispositions_alert ON {DISPOSITIONS_TABLE} (alert_id)"
    )
    alerts = db.table("alerts")
    have = alerts.columns_dict
    for column in DISPOSITION_COLUMNS:
        if column not in have:
            alerts.add_column(column, str)


def _create_seen_requests(db: sqlite_utils.Database) -> None:
    db.table(SEEN_REQUESTS_TABLE).create(
        {"key": str, "seen_at": str}, pk="key", not_null={"seen_at"}, if_not_exists=True
    )
    db.execute(
        f"CREATE INDEX IF NOT EXISTS idx_requests_seen_at ON {SEEN_REQUESTS_TABLE} (seen_at)"
    )


def _v3(db: sqlite_utils.Database) -> None:
    """The feature tables that earlier releases created on the fly when their module was
    imported: the audit trail, imported official lists, watchlist edits, review dispositions
    and the Slack requests already applied."""
    create_audit_table(db)
    create_imported_list_tables(db)
    _create_overlay_table(db)
    _create_dispositions(db)
    _create_seen_requests(db)


# ---- stories (v4) -------------------------------------------------------------------------
STORIES_TABLE = "stories"  # items in a window that tell one story (alerting/stories.py)
MUTES_TABLE = "mutes"  # /watchlist mute: entities or rules kept quiet for a while
# alerts columns added in v4: name → declaration
ALERT_V4_COLUMNS = {
    "rules": "TEXT",  # JSON list of every rule that fired for this item in this channel
    "excerpt": "TEXT",  # JSON list of [text, bold] segments: where the clauses meet
    "language": "TEXT",  # the item's language, guessed from its text (alerting/language.py)
    "story_id": "INTEGER",
    "story_first": "INTEGER",  # 1: this item posted the story's message in this channel
    "thread_of": "INTEGER",  # alert id of the story's first message in this channel
    "disposition_reason": "TEXT",  # the reason typed into the review modal
    "suppressed": "TEXT",  # why a recorded alert is not posted (false positive, mute)
}


def _v4(db: sqlite_utils.Database) -> None:
    """One alert per item and channel, grouped into stories; mutes; threads in the outbox.

    An alert row is now one message: ``rule``/``severity`` are the highest-severity rule that
    fired for the item in that channel (so the (item_id, rule) index still names one row),
    ``rules`` all of them. A story copy's row has ``thread_of`` set and is posted into the
    first message's thread. ``status = 'suppressed'`` rows are recorded and never posted.
    """
    alerts = db.table("alerts")
    have = alerts.columns_dict
    for column, declaration in ALERT_V4_COLUMNS.items():
        if column not in have:
            db.execute(f"ALTER TABLE alerts ADD COLUMN {column} {declaration}")
    db.execute("CREATE INDEX IF NOT EXISTS idx_alerts_story ON alerts (story_id, channel)")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {STORIES_TABLE} ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, first_item_id TEXT NOT NULL,"
        " rules_key TEXT NOT NULL, entities TEXT NOT NULL, minhash BLOB,"
        " title TEXT, created_at TEXT NOT NULL, last_at TEXT NOT NULL)"
    )
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_stories_last ON {STORIES_TABLE} (last_at)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS story_items (item_id TEXT PRIMARY KEY,"
        " story_id INTEGER NOT NULL, joined_at TEXT NOT NULL, reason TEXT NOT NULL,"
        " text_similarity REAL, entity_similarity REAL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_story_items_story ON story_items (story_id)")
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {MUTES_TABLE} ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, target TEXT NOT NULL,"
        " label TEXT, reason TEXT, until TEXT NOT NULL, created_at TEXT NOT NULL,"
        " created_by TEXT NOT NULL, lifted_at TEXT, lifted_by TEXT)"
    )
    outbox = db.table("outbox")
    if "thread_ts" not in outbox.columns_dict:
        db.execute("ALTER TABLE outbox ADD COLUMN thread_ts TEXT")


LIST_SOURCES_TABLE = "list_sources"  # refresh state of each [[lists]] entry
MANAGED_FEEDS_TABLE = "managed_feeds"  # feeds added/paused/routed from Slack or the CLI


def _v5(db: sqlite_utils.Database) -> None:
    """Sources that keep themselves current. ``list_sources``: per [[lists]] entry, the
    validators of the last successful download (ETag/Last-Modified of the list and of its
    alias file, so an unchanged list costs a 304), the last attempt, success and error, and
    whether ops heard about the current problem.
    ``managed_feeds``: feeds added from Slack or the CLI, and pause/channel/interval laid over
    a TOML feed (``origin`` says which)."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {LIST_SOURCES_TABLE} ("
        " name TEXT PRIMARY KEY, url TEXT, etag TEXT, last_modified TEXT,"
        " aliases_etag TEXT, aliases_last_modified TEXT, last_attempt_at TEXT,"
        " last_success_at TEXT, last_changed_at TEXT, last_status INTEGER, last_error TEXT,"
        " last_error_at TEXT, consecutive_failures INTEGER NOT NULL DEFAULT 0,"
        " ops_notified TEXT)"
    )
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {MANAGED_FEEDS_TABLE} ("
        " name TEXT PRIMARY KEY, url TEXT, origin TEXT NOT NULL, paused INTEGER NOT NULL"
        " DEFAULT 0, channel TEXT, interval_minutes INTEGER, added_by TEXT, added_at TEXT,"
        " updated_at TEXT)"
    )


# Ordered migrations; index + 1 is the schema version. Append only; v6 on: own modules.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5]
MIGRATIONS += [v6_reasons, v7_digests, v8_entries_hash, v9_thread_index]
