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


# Ordered migrations; index + 1 is the schema version it produces. Append only.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2]
