"""The analysis workers live across polls and take engine changes by fingerprint; changed
documents with nothing new skip feedparser (issue 12).

Real feeds over HTTP on 127.0.0.1, real worker processes, real SQLite files.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sanctionwatch.alerting.pipeline import FeedOutcome, WarmPool, poll
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.matching.engine import Engine
from sanctionwatch.runtime import engine_cache, engine_getter
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.pipeline import ALERTING, QUIET, FeedItem, rss, write_config

ZORBLAX = FeedItem(
    "Zorblax Maritime Holdings buys a tanker",
    "A ship changed hands off Nakhodka.",
    "https://news.example.org/a/zorblax",
)
NEWS = FeedItem("Harbour reopens after the storm", "Ferries run again.", "https://b.example/h")
DEATH_NOTICED_S = 10.0  # how long the executor may take to notice a killed worker


@pytest.fixture
def setup(
    tmp_path: Path, feed_server: FeedServer
) -> Iterator[tuple[Settings, Store, Callable[[], Engine], Path]]:
    lists = tmp_path / "watchlists"
    shutil.copytree(REPO / "watchlists", lists)
    feed_server.add("/a.xml", body=rss(ALERTING), etag='"a1"')
    feed_server.add("/b.xml", body=rss(QUIET), etag='"b1"')
    cfg = write_config(
        tmp_path,
        [("A", feed_server.url("/a.xml")), ("B", feed_server.url("/b.xml"))],
        extra=f'watchlists = "{lists}"',
    )
    settings = load_settings(str(cfg), env={})
    store = Store(settings.database)
    store.sync_feeds((f.name, f.url) for f in settings.feeds)
    cache = engine_cache(settings.watchlists, settings.rules)
    yield settings, store, lambda: cache.get(store.db), lists
    store.close()


def _poll(
    settings: Settings, store: Store, engine_for: Callable[[], Engine], warm: WarmPool
) -> dict[str, FeedOutcome]:
    outcomes = poll(settings, store, engine_for, list(settings.feeds), processes=True, warm=warm)
    return {o.name: o for o in outcomes}


def _entities(db: Path, item_id: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT entity FROM matches WHERE item_id = ?", [item_id])
        return {r[0] for r in rows}


def test_two_polls_use_the_same_workers_and_an_edit_reaches_them_by_fingerprint(
    setup: tuple[Settings, Store, Callable[[], Engine], Path], feed_server: FeedServer
) -> None:
    settings, store, engine_for, lists = setup
    warm = WarmPool(store.path, workers=2)
    try:
        first = _poll(settings, store, engine_for, warm)
        assert first["A"].new_items == len(ALERTING) and first["A"].alerts >= 1
        assert warm.pool is not None
        pids = warm.pool.worker_pids()
        assert pids
        # a watchlist edit and a story only the edited list knows
        (lists / "extra.yaml").write_text(
            "entries:\n  - name: Zorblax Maritime Holdings\n    type: organisation\n"
            "    tags: [dprk]\n",
            encoding="utf-8",
        )
        feed_server.add("/a.xml", body=rss([ZORBLAX, *ALERTING]), etag='"a2"')
        feed_server.add("/b.xml", body=rss([NEWS, *QUIET]), etag='"b2"')
        second = _poll(settings, store, engine_for, warm)
        assert warm.pool.fingerprint == engine_for().fingerprint
        assert not warm.pool.broken  # so the workers analysed both documents, not the poller
        # the same processes, not restarted (the executor may add one on demand, up to 2)
        assert set(pids) <= set(warm.pool.worker_pids()) and len(warm.pool.worker_pids()) <= 2
        assert second["A"].new_items == 1 and second["A"].matched == 1
        assert second["B"].new_items == 1 and second["B"].parsed
        assert "Zorblax Maritime Holdings" in _entities(settings.database, f"link:{ZORBLAX.link}")
    finally:
        warm.close()
    assert warm.pool is None


def test_a_changed_document_with_nothing_new_is_not_parsed(
    setup: tuple[Settings, Store, Callable[[], Engine], Path], feed_server: FeedServer
) -> None:
    settings, store, engine_for, _ = setup
    warm = WarmPool(store.path, workers=1)
    try:
        _poll(settings, store, engine_for, warm)
        # same items, new ETag and a new order: a changed document that brings nothing
        feed_server.add("/a.xml", body=rss(list(reversed(ALERTING)), title="New"), etag='"a3"')
        again = _poll(settings, store, engine_for, warm)
        a = again["A"]
        assert a.status == 200 and a.prescanned and not a.parsed
        assert a.new_items == 0 and a.matched == 0 and a.error is None
        assert store.feed("A")["etag"] == '"a3"'  # state saved as for a parsed document
        assert again["B"].status == 304 and not again["B"].prescanned
        # and one new item in it is parsed and recorded as before
        feed_server.add("/a.xml", body=rss([NEWS, *ALERTING]), etag='"a4"')
        third = _poll(settings, store, engine_for, warm)
        a = third["A"]
        assert a.parsed and not a.prescanned and a.new_items == 1
        assert a.cut == len(ALERTING) and a.matched == 1  # feedparser read only the new one
    finally:
        warm.close()


def test_a_broken_pool_is_replaced_at_the_next_poll(
    setup: tuple[Settings, Store, Callable[[], Engine], Path], feed_server: FeedServer
) -> None:
    settings, store, engine_for, _ = setup
    warm = WarmPool(store.path, workers=1)
    try:
        _poll(settings, store, engine_for, warm)
        assert warm.pool is not None
        old = warm.pool.worker_pids()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + DEATH_NOTICED_S
        executor = warm.pool._executor
        while not getattr(executor, "_broken", False) and time.monotonic() < deadline:
            time.sleep(0.05)
        feed_server.add("/a.xml", body=rss([NEWS, *ALERTING]), etag='"a5"')
        again = _poll(settings, store, engine_for, warm)
        assert again["A"].new_items == 1 and again["A"].error is None
        new = warm.pool.worker_pids()
        assert new and not set(new) & set(old)
    finally:
        warm.close()


def test_workers_get_a_copy_of_the_stored_engine_not_a_second_pickle(
    setup: tuple[Settings, Store, Callable[[], Engine], Path],
    feed_server: FeedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, store, _engine_for, lists = setup
    engine_for = engine_getter(settings, store)  # as run and serve: kept beside the database
    warm = WarmPool(store.path, workers=1)
    try:
        with caplog.at_level(logging.INFO, logger="sanctionwatch.alerting.enginefile"):
            first = _poll(settings, store, engine_for, warm)
            (lists / "extra.yaml").write_text(
                "entries:\n  - name: Zorblax Maritime Holdings\n    type: organisation\n"
                "    tags: [dprk]\n",
                encoding="utf-8",
            )
            feed_server.add("/a.xml", body=rss([ZORBLAX, *ALERTING]), etag='"a2"')
            second = _poll(settings, store, engine_for, warm)
        published = [r.getMessage() for r in caplog.records if "engine published" in r.msg]
        assert len(published) == 2 and all("how=copied" in m for m in published), published
        assert warm.pool is not None and not warm.pool.broken
        assert first["A"].alerts >= 1 and second["A"].matched == 1
        assert "Zorblax Maritime Holdings" in _entities(settings.database, f"link:{ZORBLAX.link}")
    finally:
        warm.close()
