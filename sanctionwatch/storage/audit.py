"""The append-only audit log: who changed what, when, before and after.

Watchlist edits (overlay.py) and review decisions (review.py) append a record here in the same
transaction as the change. SQLite triggers refuse UPDATE and DELETE on the table, so no code
path (ours or a stray SQL shell session) can rewrite history. The weekly export uploads the
watchlist part as ``watchlist-changes-YYYY-Www.csv`` beside the alerts CSV
(reporting/companions.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sanctionwatch.clock import iso
from sanctionwatch.storage.schema import AUDIT_TABLE, create_audit_table

WATCHLIST_ACTIONS = ("watchlist.add", "watchlist.remove")
CHANGES_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "via",
    "action",
    "list",
    "target",
    "before",
    "after",
)


@dataclass(frozen=True)
class Actor:
    """Who made a change: a Slack user (id + display name) or a local user (via="cli")."""

    id: str
    name: str
    via: str = "slack"  # "slack" | "cli"

    @property
    def label(self) -> str:
        return self.name if self.name == self.id else f"{self.name} ({self.id})"


def ensure_schema(db: sqlite_utils.Database) -> None:
    """The audit table, for a database that did not come through ``Store`` (tools, tests)."""
    create_audit_table(db)


def audit(
    db: sqlite_utils.Database,
    actor: Actor,
    action: str,
    list_name: str,
    target: str,
    before: Any,
    after: Any,
    now: datetime,
) -> None:
    """Append one audit record; call inside the transaction that makes the change."""
    db.execute(
        f"INSERT INTO {AUDIT_TABLE} (at, actor_id, actor_name, via, action, list, target,"
        " before, after) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            iso(now),
            actor.id,
            actor.name,
            actor.via,
            action,
            list_name,
            target,
            None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
            None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True),
        ],
    )


def audit_rows(
    db: sqlite_utils.Database,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("at >= ?")
        params.append(iso(since))
    if until is not None:
        clauses.append("at < ?")
        params.append(iso(until))
    if actions:
        clauses.append(f"action IN ({','.join('?' * len(actions))})")
        params.extend(actions)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return list(db.query(f"SELECT * FROM {AUDIT_TABLE} {where} ORDER BY id", params))
