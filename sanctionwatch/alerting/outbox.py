"""The outbox's rows: alerts and every other message (notices, uploads) waiting for Slack.

Both tables carry the same delivery columns (schema ``_v2``): ``status`` (pending, retrying,
unknown, delivered, failed), ``attempts``, ``next_attempt_at``, ``unknown_since``,
``first_attempt_at``, ``reduced``, ``last_error``, ``error_code``. This module is the SQL;
``delivery`` is the state machine that decides the transitions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sanctionwatch.clock import iso, parse_iso, utcnow
from sanctionwatch.storage.db import Store

log = logging.getLogger(__name__)

TABLES = ("alerts", "outbox")
WAITING = ("pending", "retrying", "unknown")  # not delivered yet, will be tried again
STATES = (*WAITING, "delivered", "failed", "suppressed")  # suppressed: recorded, never posted
MAX_ERROR_CHARS = 1000


@dataclass
class Job:
    """One message to deliver: an alert (``table == "alerts"``) or an outbox row."""

    table: str
    id: int
    channel: str
    status: str
    attempts: int
    kind: str  # "alert", or the outbox kind: designation | ops | upload | notice
    unknown_since: datetime | None
    first_attempt_at: datetime | None
    reduced: bool
    row: dict[str, Any]


def _job(table: str, row: dict[str, Any]) -> Job:
    return Job(
        table=table,
        id=int(row["id"]),
        channel=str(row["channel"]),
        status=str(row["status"]),
        attempts=int(row["attempts"] or 0),
        kind="alert" if table == "alerts" else str(row["kind"]),
        unknown_since=parse_iso(row.get("unknown_since")),
        first_attempt_at=parse_iso(row.get("first_attempt_at")),
        reduced=bool(row.get("reduced")),
        row=row,
    )


def _check(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"not a delivery table: {table!r}")
    return table


def due_jobs(
    store: Store, table: str, now: datetime, limit: int, ids: list[int] | None = None
) -> list[Job]:
    """Waiting rows whose next attempt is due, earliest first (a row never tried: its
    creation time), so a row in backoff never holds back the others."""
    where = ""
    params: list[Any] = [iso(now)]
    if ids is not None:
        where = f" AND id IN ({','.join('?' * len(ids))})" if ids else " AND 0"
        params += ids
    rows = store.db.query(
        f"SELECT * FROM {_check(table)} WHERE status IN ('pending', 'retrying', 'unknown')"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)" + where + " ORDER BY"
        " coalesce(next_attempt_at, created_at), id LIMIT ?",
        [*params, limit],
    )
    return [_job(table, r) for r in rows]


def set_state(store: Store, job: Job, status: str, **fields: Any) -> None:
    """Write ``status`` and the given columns for one job."""
    if status not in STATES:
        raise ValueError(f"not a delivery state: {status!r}")
    fields["status"] = status
    if "last_error" in fields and fields["last_error"]:
        fields["last_error"] = str(fields["last_error"])[:MAX_ERROR_CHARS]
    cols = ", ".join(f"[{k}] = ?" for k in fields)
    store.db.execute(
        f"UPDATE {_check(job.table)} SET {cols} WHERE id = ?", [*fields.values(), job.id]
    )


def fail_channel(store: Store, table: str, channel: str, code: str, error: str) -> list[int]:
    """Mark every waiting row for ``channel`` failed with a channel-wide error; their ids."""
    with store.transaction() as db:
        ids = [
            int(r[0])
            for r in db.execute(
                f"SELECT id FROM {_check(table)} WHERE channel = ?"
                " AND status IN ('pending', 'retrying', 'unknown')",
                [channel],
            )
        ]
        db.execute(
            f"UPDATE {table} SET status = 'failed', error_code = ?, last_error = ?"
            " WHERE channel = ? AND status IN ('pending', 'retrying', 'unknown')",
            [code, error[:MAX_ERROR_CHARS], channel],
        )
    return ids


def enqueue(
    store: Store,
    kind: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    file_path: Path | None = None,
    title: str | None = None,
    ref: str | None = None,
    now: datetime | None = None,
) -> int:
    """Queue a non-alert message (or, with ``file_path``, an upload); its outbox id."""
    cur = store.db.execute(
        "INSERT INTO outbox (kind, ref, channel, text, blocks, file_path, title, status,"
        " attempts, reduced, created_at) VALUES (?,?,?,?,?,?,?,'pending',0,0,?)",
        [
            kind,
            ref,
            channel,
            text,
            json.dumps(blocks or [], ensure_ascii=False),
            str(file_path) if file_path is not None else None,
            title,
            iso(now or utcnow()),
        ],
    )
    assert cur.lastrowid is not None
    log.info("message queued outbox=%d kind=%s channel=%s", cur.lastrowid, kind, channel)
    return int(cur.lastrowid)


def outbox_row(store: Store, outbox_id: int) -> dict[str, Any] | None:
    rows = list(store.db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    return rows[0] if rows else None


# ---- channels -------------------------------------------------------------------------------
def channel_row(store: Store, channel: str) -> dict[str, Any]:
    rows = list(store.db.query("SELECT * FROM delivery_channels WHERE channel = ?", [channel]))
    return rows[0] if rows else {}


def set_channel(store: Store, channel: str, **fields: Any) -> None:
    store.db.table("delivery_channels").upsert({"channel": channel, **fields}, pk="channel")


def waiting_channels(store: Store, now: datetime) -> set[str]:
    """Channels Slack asked us (429 + Retry-After) to leave alone until a later time."""
    return {
        str(r[0])
        for r in store.db.execute(
            "SELECT channel FROM delivery_channels WHERE retry_after_until > ?", [iso(now)]
        )
    }


# ---- reporting / operator -------------------------------------------------------------------
def failed_alerts(store: Store, channel: str | None = None) -> list[dict[str, Any]]:
    rows = store.db.query(
        "SELECT a.id, a.channel, a.rule, a.error_code, a.last_error, a.attempts, a.created_at,"
        " i.title, i.link FROM alerts a LEFT JOIN items i ON i.item_id = a.item_id"
        " WHERE a.status = 'failed' ORDER BY a.channel, a.id"
    )
    return [r for r in rows if channel is None or same_channel(r["channel"], channel)]


def failed_messages(store: Store) -> list[dict[str, Any]]:
    return list(
        store.db.query(
            "SELECT id, kind, channel, error_code, last_error, attempts, created_at FROM outbox"
            " WHERE status = 'failed' ORDER BY channel, id"
        )
    )


def count_waiting(store: Store, table: str = "alerts") -> int:
    return int(
        store.db.execute(
            f"SELECT count(*) FROM {_check(table)}"
            " WHERE status IN ('pending', 'retrying', 'unknown')"
        ).fetchone()[0]
    )


def same_channel(a: str, b: str) -> bool:
    return a.lstrip("#").lower() == b.lstrip("#").lower()


def requeue_failed(store: Store, channel: str | None = None) -> tuple[int, int]:
    """Failed alerts and messages (of ``channel``) back to waiting, with fresh retry budgets.

    A row whose answer was once lost goes back to ``unknown``, so the history is searched
    before it is posted again. Returns (alerts, messages) re-queued."""
    counts = []
    with store.transaction() as db:
        for table in TABLES:
            ids = [
                int(r[0])
                for r in db.execute(f"SELECT id, channel FROM {table} WHERE status = 'failed'")
                if channel is None or same_channel(str(r[1]), channel)
            ]
            for i in ids:
                db.execute(
                    f"UPDATE {table} SET status = CASE WHEN unknown_since IS NULL THEN 'pending'"
                    " ELSE 'unknown' END, attempts = 0, first_attempt_at = NULL,"
                    " next_attempt_at = NULL, reduced = 0, error_code = NULL WHERE id = ?",
                    [i],
                )
            counts.append(len(ids))
        channels = [
            str(r[0])
            for r in db.execute("SELECT channel FROM delivery_channels")
            if channel is None or same_channel(str(r[0]), channel)
        ]
        for ch in channels:
            db.execute(
                "UPDATE delivery_channels SET failing_since = NULL, notified = 0,"
                " retry_after_until = NULL WHERE channel = ?",
                [ch],
            )
    return counts[0], counts[1]
