"""The process-pool poll path records exactly what the in-thread path records (issue 5).

Real feeds over HTTP on 127.0.0.1, real worker processes (forkserver), real SQLite files.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.alerting.pipeline import FeedOutcome, poll
from sanctionwatch.alerting.workers import AnalysisPool, PoolUnavailable
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.ingest.fetch import DEFAULT_SETTINGS
from sanctionwatch.matching.engine import Engine, EngineCache
from sanctionwatch.runtime import build_engine, engine_cache
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.pipeline import ALERTING, QUIET, FeedItem, rss, write_config

SHARED = ALERTING[0]  # the same story (same link) in two feeds: recorded once
B_ONLY = FeedItem("Football club wins the cup", "The final ended 2-1.", "https://b.example/cup")
STORM = FeedItem("Storm closes the port", "Ships waited offshore.", "https://b.example/storm")
STORM_AGAIN = FeedItem(
    "Port closed by storm", "The same story, retitled.", STORM.link, guid="storm-2"
)
GUID_ONLY = [  # no links: identities come from guids, scoped to the feed
    FeedItem(ALERTING[1].title, ALERTING[1].description, guid="pact-1"),
    FeedItem("Harvest festival opens", "Farmers celebrated a good year.", guid="harvest-1"),
    # older than the backfill window on a first poll: recorded, never alerted
    FeedItem(ALERTING[0].title, ALERTING[0].description, guid="old-1", age_hours=24 * 400),
]
NOT_A_FEED = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything recorded, without row ids and wall-clock stamps, in a stable order."""
    queries = {
        "items": "SELECT item_id, feed, link_key, guid, title, link, summary, published_at,"
        " match_count FROM items ORDER BY item_id",
        "matches": "SELECT item_id, entity_id, entity, watchlist, alias, text, field, start,"
        " [end], score, detail, type, tags FROM matches ORDER BY item_id, field, start,"
        " entity_id, alias",
        "alerts": "SELECT item_id, rule, severity, channel, explanation, matches, status"
        " FROM alerts ORDER BY item_id, rule",
        "feeds": "SELECT name, last_status, last_error, consecutive_failures, items_seen"
        " FROM feeds ORDER BY name",
    }
    with sqlite3.connect(db) as conn:
        return {k: conn.execute(q).fetchall() for k, q in queries.items()}


def _setup(folder: Path, urls: list[tuple[str, str]]) -> tuple[Settings, Store, EngineCache]:
    folder.mkdir()
    # one fetch thread: feeds are recorded in list order, so the shared story belongs to
    # the same feed on both paths
    cfg = write_config(folder, urls, extra="[poll]\nmax_workers = 1\n")
    settings = load_settings(str(cfg), env={})
    store = Store(settings.database)
    store.sync_feeds((f.name, f.url) for f in settings.feeds)
    return settings, store, engine_cache(settings.watchlists, settings.rules)


def _poll(
    settings: Settings, store: Store, cache: EngineCache, processes: bool
) -> list[FeedOutcome]:
    return poll(
        settings, store, lambda: cache.get(store.db), list(settings.feeds), processes=processes
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def said(self, text: str) -> bool:
        return any(text in m for m in self.messages)


@pytest.fixture
def worker_log() -> Iterator[_Records]:
    """INFO records of sanctionwatch.alerting.workers, whatever the CLI's logging setup did before
    (caplog misses them once the CLI has configured the sanctionwatch logger)."""
    logger = logging.getLogger("sanctionwatch.alerting.workers")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def feeds(feed_server: FeedServer) -> list[tuple[str, str]]:
    feed_server.add("/a.xml", body=rss(ALERTING + QUIET), etag='"a1"')
    feed_server.add("/b.xml", body=rss([B_ONLY, SHARED, STORM, STORM_AGAIN]), etag='"b1"')
    feed_server.add("/c.html", body=NOT_A_FEED, content_type="text/html")
    feed_server.add("/d.xml", body=rss(GUID_ONLY), etag='"d1"')
    return [(name, feed_server.url(path)) for name, path in
            [("A", "/a.xml"), ("B", "/b.xml"), ("C", "/c.html"), ("D", "/d.xml")]]  # fmt: skip


def test_process_pool_records_exactly_what_the_in_thread_path_records(
    tmp_path: Path, feeds: list[tuple[str, str]], worker_log: _Records
) -> None:
    results: dict[bool, tuple[list[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]] = {}
    for processes in (False, True):
        settings, store, cache = _setup(tmp_path / f"p{processes}", feeds)
        polled = _poll(settings, store, cache, processes)
        store.close()
        # ``matched`` (items run through the matcher) is left out: in the pool path feed B may
        # be analysed before A's transaction commits, and then also matches the story it shares
        # with A (the exact re-check at record time still records it once, from A).
        results[processes] = (
            sorted((o.name, o.new_items, o.alerts, o.error, o.parsed) for o in polled),
            _rows(settings.database),
        )
    assert worker_log.said("analysis workers started")  # the second run used processes
    outcomes, rows = results[True]
    assert results[False] == results[True]
    # and what they agree on is the real thing, not two empty databases
    by_name = {o[0]: o for o in outcomes}
    assert by_name["A"][1] == len(ALERTING + QUIET) and by_name["A"][2] >= len(ALERTING)
    # B: its own two stories plus the retitled duplicate (counted, not recorded); the
    # shared story was already recorded from A
    assert by_name["B"][1] == 3
    assert by_name["C"][3] and "HTML" in by_name["C"][3]
    assert by_name["D"][1] == len(GUID_ONLY)
    alerted = {r[0] for r in rows["alerts"]}
    assert "guid:D|pact-1" in alerted and "guid:D|old-1" not in alerted
    assert len(rows["items"]) == len(ALERTING + QUIET) + 2 + len(GUID_ONLY)
    assert rows["matches"] and all(r[4] for r in rows["alerts"])  # explanations kept


def test_workers_match_only_new_items_and_nothing_on_304(
    tmp_path: Path, feed_server: FeedServer, feeds: list[tuple[str, str]]
) -> None:
    settings, store, cache = _setup(tmp_path / "w", feeds)
    _poll(settings, store, cache, processes=True)
    again = {o.name: o for o in _poll(settings, store, cache, processes=True)}
    assert again["A"].status == 304 and not again["A"].parsed and again["A"].matched == 0
    # one story added to a feed that is otherwise unchanged: only that one is matched
    new = FeedItem(
        "Wagner fighters receive North Korean rockets",
        "Africa Corps units formerly of the Wagner Group took delivery of North Korean "
        "rockets shipped via Russia.",
        "https://news.example.org/a/wagner-rockets",
    )
    feed_server.add("/a.xml", body=rss([new, *ALERTING, *QUIET]), etag='"a2"')
    third = {o.name: o for o in _poll(settings, store, cache, processes=True)}
    store.close()
    assert third["A"].parsed and third["A"].matched == 1
    assert third["A"].new_items == 1 and third["A"].alerts >= 1


def _extra_engine(tmp_path: Path) -> Engine:
    """The shipped watchlists plus one entry only this engine knows."""
    lists = tmp_path / "watchlists"
    shutil.copytree(REPO / "watchlists", lists)
    (lists / "extra.yaml").write_text(
        "entries:\n  - name: Zorblax Maritime Holdings\n    type: organisation\n    tags: [dprk]\n",
        encoding="utf-8",
    )
    return build_engine(lists, REPO / "rules")


def test_a_changed_engine_reaches_the_workers(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    base = build_engine(REPO / "watchlists", REPO / "rules")
    extra = _extra_engine(tmp_path)
    assert base.fingerprint != extra.fingerprint
    body = rss([FeedItem("Zorblax Maritime Holdings buys a tanker", "A ship changed hands.",
                         "https://news.example.org/a/zorblax")])  # fmt: skip
    pool = AnalysisPool(base, store.path, workers=1)
    try:

        def entities() -> set[str]:
            got = pool.analyse(body, "F", None, None, DEFAULT_SETTINGS, "#c")
            return {m.entity for a in got.fresh for m in a.matches}

        assert "Zorblax Maritime Holdings" not in entities()
        pool.refresh(extra)
        assert pool.fingerprint == extra.fingerprint
        assert "Zorblax Maritime Holdings" in entities()
    finally:
        pool.close()
        store.close()


def test_pool_is_used_only_for_large_polls(
    tmp_path: Path, feeds: list[tuple[str, str]], worker_log: _Records
) -> None:
    settings, store, cache = _setup(tmp_path / "s", feeds)
    engine_for: Callable[[], Engine] = lambda: cache.get(store.db)  # noqa: E731
    outcomes = poll(replace(settings), store, engine_for, list(settings.feeds))
    store.close()
    assert len(outcomes) == len(feeds)
    assert not worker_log.said("analysis workers started")


def test_a_killed_worker_marks_the_pool_broken(tmp_path: Path) -> None:
    """A worker dying (OOM killer, segfault in a parser) makes the pool unavailable, so
    fetch threads parse in-thread instead of losing the document."""
    store = Store(tmp_path / "sw.db")
    pool = AnalysisPool(build_engine(REPO / "watchlists", REPO / "rules"), store.path, workers=1)
    body = rss(ALERTING)
    try:
        first = pool.analyse(body, "F", None, None, DEFAULT_SETTINGS, "#c")
        assert len(first.fresh) == len(ALERTING) and not pool.broken
        executor = pool._executor  # the real worker processes, to kill one
        assert executor is not None
        for pid in list(executor._processes):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(PoolUnavailable):
            for _ in range(50):  # the executor notices the death on its next round trip
                pool.analyse(body, "F", None, None, DEFAULT_SETTINGS, "#c")
        assert pool.broken
        with pytest.raises(PoolUnavailable):
            pool.submit(body, "F", None, None, DEFAULT_SETTINGS, "#c")
    finally:
        pool.close()
        store.close()
