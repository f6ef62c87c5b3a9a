"""The append-only audit log: who changed what, when, before and after.

Watchlist edits (overlay.py) and review decisions (review.py) append a record here in the same
transaction as the change. SQLite triggers refuse UPDATE and DELETE on the table, so no code
path (ours or a stray SQL shell session) can rewrite history. The weekly export uploads the
watchlist part as ``watchlist-changes-YYYY-Www.csv`` beside the alerts CSV.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sanctionwatch.storage.db import Store, iso, register_migration

AUDIT_TABLE = "audit_log"
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
    """The audit table, its indexes and the append-only triggers (idempotent)."""
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


def write_changes(store: Store, since: datetime, until: datetime, exports_dir: Path) -> Path:
    """The weekly companion ``watchlist-changes-YYYY-Www.csv`` (header only when quiet)."""
    from sanctionwatch.reporting.export import write_changes_csv

    year, week, _ = since.isocalendar()
    path = exports_dir / f"watchlist-changes-{year}-W{week:02d}.csv"
    rows = audit_rows(store.db, since, until, WATCHLIST_ACTIONS)
    write_changes_csv(rows, path, CHANGES_COLUMNS)
    return path


def _register() -> None:
    from sanctionwatch.alerting import jobs

    register_migration("audit_log", ensure_schema)
    if write_changes not in jobs.COMPANIONS:
        jobs.COMPANIONS.append(write_changes)


_register()
