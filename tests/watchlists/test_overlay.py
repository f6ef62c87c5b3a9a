"""Watchlist overlay: validation, engine pick-up without restart, append-only audit, and edits
made while a real `bot.py run --once` polls the same database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sanctionwatch.clock import utcnow
from sanctionwatch.config.settings import DEFAULT_WATCHLISTS, REPO_ROOT
from sanctionwatch.reporting.companions import write_changes
from sanctionwatch.runtime import engine_cache
from sanctionwatch.storage.audit import Actor, audit_rows
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.overlay import (
    EditError,
    add_entry,
    baseline_entries,
    clean_name,
    list_defaults,
    overlay_entries,
    remove_entry,
)
from tests.support.app_harness import SKY_TEXT, write_feed

ADMIN = Actor("U0ADMIN001", "Alice", "slack")
MAX_CONCURRENT_EDITS = 2000  # edits keep landing until the poll ends (this is a safety cap)
# Pause between edits: still ~100 edits a second, far beyond people typing in Slack. Without
# any pause a tight loop of writers can starve the poll's BEGIN IMMEDIATE (SQLite's busy
# handler is not fair); the poll then records the feed as failed and retries it next time.
EDIT_INTERVAL_S = 0.01
FEED_ITEMS = 400  # enough matching work that the poll is still writing while edits land


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "sw.db")


@pytest.fixture
def baseline(store: Store) -> list:
    return baseline_entries(DEFAULT_WATCHLISTS, store.db)


@pytest.mark.parametrize(
    "bad", ["", "   ", "x" * 201, "AB", "1", "a-b", "북", "the", "The News of", "und die", "и в на"]
)
def test_clean_name_refuses(bad: str) -> None:
    with pytest.raises(EditError):
        clean_name(bad)


@pytest.mark.parametrize("good", ["Sky Aries", "KN-23", "Ким Чен Ын", "북한", "x" * 200, "Iran"])
def test_clean_name_accepts(good: str) -> None:
    assert clean_name(f"  {good} ") == good


def test_list_defaults_inherit_usual_type_and_shared_tags(baseline: list) -> None:
    vessels = [e for e in baseline if e.list == "vessels"]
    assert list_defaults(vessels) == ("vessel", ("russia", "vessel", "arms-trade"), True)
    assert list_defaults([]) == ("keyword", (), False)


def test_edits_reach_the_engine_without_restart(store: Store, baseline: list) -> None:
    cache = engine_cache(DEFAULT_WATCHLISTS, REPO_ROOT / "rules")
    before = cache.get(store.db)
    assert not [m for m in before.match("", SKY_TEXT) if m.entity == "Sky Aries"]
    assert not before.evaluate(before.match("", SKY_TEXT), "#c")
    add_entry(store, baseline, ADMIN, "vessels", "Sky Aries")
    after = cache.get(store.db)
    assert after is not before
    alerts = after.evaluate(after.match("", SKY_TEXT), "#c")
    assert [a.rule for a in alerts] == ["dprk-russia-arms-transfer"]
    assert cache.get(store.db) is after  # unchanged input: no rebuild
    remove_entry(store, baseline, ADMIN, "vessels", "Sky Aries")
    assert not cache.get(store.db).evaluate(cache.get(store.db).match("", SKY_TEXT), "#c")


def test_fingerprint_never_repeats_after_remove_and_add(store: Store, baseline: list) -> None:
    cache = engine_cache(DEFAULT_WATCHLISTS, REPO_ROOT / "rules")
    add_entry(store, baseline, ADMIN, "misc", "Alpha Ship")
    add_entry(store, baseline, ADMIN, "misc", "Bravo Ship")
    cache.get(store.db)
    remove_entry(store, baseline, ADMIN, "misc", "Bravo Ship")
    add_entry(store, baseline, ADMIN, "misc", "Charlie Ship")  # may reuse Bravo's rowid
    names = {e.name for e in cache.get(store.db).entries if e.list == "misc"}
    assert names == {"Alpha Ship", "Charlie Ship"}


def test_edits_survive_reopen(tmp_path: Path, store: Store, baseline: list) -> None:
    add_entry(store, baseline, ADMIN, "vessels", "Sky Aries", ["Скай Овен"])
    store.close()
    again = Store(tmp_path / "sw.db")
    [entry] = overlay_entries(again.db)
    assert (entry.name, entry.aliases, entry.added_by) == ("Sky Aries", ("Скай Овен",), "Alice")


def test_audit_log_is_append_only(store: Store, baseline: list) -> None:
    add_entry(store, baseline, ADMIN, "vessels", "Sky Aries")
    for sql in ("UPDATE audit_log SET actor_id = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store.db.execute(sql)
    assert len(audit_rows(store.db)) == 1


def test_changes_companion_csv(tmp_path: Path, store: Store, baseline: list) -> None:
    add_entry(store, baseline, ADMIN, "vessels", "=cmd|' /C calc'!A0 Ship")
    now = utcnow()
    from datetime import timedelta

    from sanctionwatch.alerting.exports import COMPANIONS

    assert write_changes in COMPANIONS
    since = now - timedelta(days=now.weekday(), hours=now.hour, minutes=now.minute)
    path = write_changes(store, since, now + timedelta(minutes=1), tmp_path)
    year, week, _ = since.isocalendar()
    assert path.name == f"watchlist-changes-{year}-W{week:02d}.csv"
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("id,at,actor_id,actor_name,via,action,list")
    assert "Alice" in text and "watchlist.add" in text and "'=cmd" in text


def test_concurrent_adds_of_one_name_only_one_wins(store: Store, baseline: list) -> None:
    path = store.path
    results: list[str] = []

    def worker() -> None:
        own = Store(path)
        try:
            add_entry(own, baseline, ADMIN, "vessels", "Sky Aries")
            results.append("ok")
        except EditError:
            results.append("dup")
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["dup"] * 5 + ["ok"]
    assert len(overlay_entries(store.db)) == 1


def test_edits_while_a_real_poll_runs(tmp_path: Path, store: Store, baseline: list) -> None:
    """`bot.py run --once` in a subprocess on the same database while edits land: every edit
    is there afterwards and the poll succeeded."""
    items = [(f"g{i}", f"Item {i}", SKY_TEXT + f" Report {i}.") for i in range(FEED_ITEMS)]
    write_feed(tmp_path / "feed.xml", items)
    config = tmp_path / "sanctionwatch.toml"
    config.write_text(
        'database = "sw.db"\n[[feeds]]\nname = "Local"\nurl = "feed.xml"\n', encoding="utf-8"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    poll = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "bot.py"), "run", "--once", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    added: list[str] = []
    overlapped = False  # did an edit land while the poll had already recorded items?
    while poll.poll() is None and len(added) < MAX_CONCURRENT_EDITS:
        name = f"Vessel Number {len(added):04d}"
        add_entry(store, baseline, ADMIN, "concurrent", name)
        added.append(name)
        time.sleep(EDIT_INTERVAL_S)
        if poll.poll() is None and store.db.execute("SELECT count(*) FROM items").fetchone()[0]:
            overlapped = True
    out, err = poll.communicate(timeout=120)
    assert poll.returncode == 0, err[-2000:]
    names = {e.name for e in overlay_entries(store.db, "concurrent")}
    assert names == set(added)
    assert len(audit_rows(store.db, actions=["watchlist.add"])) == len(added)
    items_recorded = store.db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert items_recorded == FEED_ITEMS
    assert overlapped, "no edit landed while the poll was writing; raise FEED_ITEMS"
