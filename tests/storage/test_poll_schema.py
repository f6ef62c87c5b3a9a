"""Migrations v8 and v9 (`storage/pollschema.py`): a database of the previous release gains
`feeds.entries_hash` and the thread index on opening, keeping its rows; the look-up of a
thread's copies, run for every delivered message, reads the index, not every alert."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sanctionwatch.alerting.threads import also_reported
from sanctionwatch.storage.db import Store


def test_a_v7_database_gains_the_column_and_the_index(tmp_path: Path) -> None:
    path = tmp_path / "sw.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:  # as the previous release left it
        conn.execute("DROP INDEX idx_alerts_thread")
        conn.execute("ALTER TABLE feeds DROP COLUMN entries_hash")
        conn.execute("INSERT INTO feeds (name, url, active) VALUES ('A', 'https://a/', 1)")
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    store = Store(path)
    assert "entries_hash" in store.db.table("feeds").columns_dict
    assert store.feed("A")["url"] == "https://a/" and store.feed("A")["entries_hash"] is None
    indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "idx_alerts_thread" in indexes
    store.close()


def test_the_thread_look_up_reads_the_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    sent: list[str] = []
    store.db.conn.set_trace_callback(sent.append)
    assert also_reported(store, 1) == ()
    store.db.conn.set_trace_callback(None)
    (query,) = [s for s in sent if "thread_of" in s]
    plan = " ".join(str(r[3]) for r in store.db.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "USING INDEX idx_alerts_thread" in plan, plan
    store.close()
