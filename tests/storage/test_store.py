"""The SQLite store: schema, WAL, item identity across feeds, outbox bookkeeping, retention."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanctionwatch.models import Alert, Item
from sanctionwatch.storage.db import Store, StoreError, matches_from_json, matches_to_json
from sanctionwatch.storage.schema import MIGRATIONS
from tests.support.factories import make_item, make_match

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def item(n: int, link: str | None = None, feed: str = "A") -> Item:
    return make_item(
        f"guid:{feed}-{n}",
        feed=feed,
        title=f"title {n}",
        text="body " * 50,
        link=link,
        published=NOW - timedelta(hours=n),
    )


# North Korea found as «КНДР» in a title
NK = make_match("North Korea", "КНДР", detail="exact", type="country", tags=("dprk",), token_end=1)


def test_schema_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sw.db"
    store = Store(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"feeds", "items", "matches", "alerts", "exports", "meta"} <= set(store.db.table_names())
    assert store.get_meta("schema_version") == str(len(MIGRATIONS))
    store.close()
    again = Store(path)  # migrations are idempotent
    assert again.get_meta("schema_version") == str(len(MIGRATIONS))


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        Store(bad)


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "sw.db"
    Store(path).set_meta("schema_version", "99")
    with pytest.raises(StoreError, match="newer than this"):
        Store(path)


def test_record_item_with_alert_and_outbox(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    store.sync_feeds([("A", "http://x/a")])
    it = item(1, "https://example.org/a")
    alert = Alert(rule="r1", severity="high", channel="#c", matches=(NK,), explanation="e")
    with store.transaction() as db:
        ids = store.record_item(db, it, "https://example.org/a", [NK], [alert], NOW)
    assert len(ids) == 1
    pending = store.pending_alerts()
    assert [p["id"] for p in pending] == ids and store.count_pending() == 1
    # the same item again (a second feed racing) yields nothing
    with store.transaction() as db:
        assert store.record_item(db, it, "https://example.org/a", [NK], [alert], NOW) == []
    store.mark_attempt_failed(ids[0], "ratelimited")
    assert store.pending_alerts()[0]["attempts"] == 1
    store.mark_delivered(ids[0], "C1", "1.2", NOW)
    assert store.count_pending() == 0
    assert store.feed("A")["alerts"] == 1
    row = store.alert_with_item(ids[0])
    assert row is not None and row["slack_ts"] == "1.2" and row["title"] == "title 1"
    assert matches_from_json(row["matches"]) == (NK,)


def test_known_items_by_id_and_by_link(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    with store.transaction() as db:
        store.record_item(db, item(1, "https://e.org/x"), "https://e.org/x", [], [], NOW)
    other_feed_same_link = item(7, "https://e.org/x", feed="B")
    unseen = item(8, "https://e.org/y", feed="B")
    known = store.known_items(
        [item(1), other_feed_same_link, unseen], [None, "https://e.org/x", "https://e.org/y"]
    )
    assert known == {"guid:A-1", "guid:B-7"}


def test_rollback_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    with pytest.raises(RuntimeError), store.transaction() as db:
        store.record_item(db, item(1), None, [NK], [], NOW)
        raise RuntimeError("crash in the middle")
    assert store.db["items"].count == 0 and store.db["matches"].count == 0


def test_prune_keeps_matched_and_alerted(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    old = NOW - timedelta(days=100)
    alert = Alert(rule="r", severity="low", channel="#c", matches=(NK,))
    with store.transaction() as db:
        store.record_item(db, item(1), None, [], [], old)  # plain, old → pruned
        store.record_item(db, item(2), None, [NK], [], old)  # matched → kept
        store.record_item(db, item(3), None, [NK], [alert], old)  # alerted → kept
        store.record_item(db, item(4), None, [], [], NOW)  # recent → kept
    assert store.prune_items(NOW - timedelta(days=90)) == 1
    assert {r["item_id"] for r in store.db["items"].rows} == {"guid:A-2", "guid:A-3", "guid:A-4"}
    # matched items that never alerted go after the longer match retention, with their matches
    assert store.prune_items(NOW - timedelta(days=90), NOW - timedelta(days=101)) == 0
    assert store.prune_items(NOW - timedelta(days=90), NOW - timedelta(days=1)) == 1
    assert {r["item_id"] for r in store.db["items"].rows} == {"guid:A-3", "guid:A-4"}
    assert {r["item_id"] for r in store.db["matches"].rows} == {"guid:A-3"}


def test_sync_feeds_resets_state_on_new_url(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    store.sync_feeds([("A", "http://x/a"), ("B", "http://x/b")])
    store.update_feed("A", etag='"v1"', consecutive_failures=3, gone=1)
    store.sync_feeds([("A", "http://x/a2")])
    a = store.feed("A")
    assert a["url"] == "http://x/a2" and a["etag"] is None and a["gone"] == 0
    assert [f["name"] for f in store.feeds()] == ["A"]  # B inactive
    assert len(store.feeds(active_only=False)) == 2


def test_feed_rows_reads_every_feed_as_feed_does(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    store.sync_feeds([("A", "http://x/a"), ("B", "http://x/b")])
    store.update_feed("B", etag='"v2"', consecutive_failures=2)
    store.sync_feeds([("A", "http://x/a")])  # B inactive: still read (a poll checks "gone")
    rows = store.feed_rows()
    assert sorted(rows) == ["A", "B"]
    assert rows == {"A": store.feed("A"), "B": store.feed("B")}
    assert rows["B"]["etag"] == '"v2"' and rows["B"]["consecutive_failures"] == 2


def test_matches_json_roundtrip_unicode() -> None:
    text = matches_to_json([NK])
    assert "КНДР" in text
    assert matches_from_json(text)[0].tags == ("dprk",)


def test_concurrent_writer_waits_not_fails(tmp_path: Path) -> None:
    path = tmp_path / "sw.db"
    store = Store(path)
    other = sqlite3.connect(str(path), timeout=5, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
    import threading

    t = threading.Timer(0.3, other.commit)
    t.start()
    store.set_meta("y", "2")  # waits on the busy timeout, then succeeds
    t.join()
    assert store.get_meta("x") == "1" and store.get_meta("y") == "2"
