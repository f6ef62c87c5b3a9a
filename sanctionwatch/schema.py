"""The database schema as ordered migrations. Version N is produced by MIGRATIONS[N - 1].

Append only: never edit a migration that has shipped; add the next one. Feature modules
(imported lists, Slack edits, reviews) add their own idempotent tables through
``store.register_migration``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


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


# Ordered migrations; index + 1 is the schema version it produces. Append only.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1]
