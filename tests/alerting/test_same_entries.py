"""A rebuilt feed whose entries are those already recorded is neither pre-scanned nor parsed
(`ingest.samedoc`, `feeds.entries_hash`), on the process-pool path and in-thread alike;
anything new in it is read as before, and a failed poll never vouches for its document.

Real feeds over HTTP on 127.0.0.1, real worker processes, a real SQLite file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sanctionwatch.alerting.pipeline import FeedOutcome, poll
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.matching.engine import EngineCache
from sanctionwatch.runtime import engine_cache
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.pipeline import ALERTING, QUIET, FeedItem, rss, write_config

NEW = FeedItem(
    "Wagner fighters receive North Korean rockets",
    "Africa Corps units formerly of the Wagner Group took delivery of North Korean "
    "rockets shipped via Russia.",
    "https://news.example.org/a/wagner-rockets",
)
ITEMS_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the items' dates stay put between builds


def _rebuilt(items: list[FeedItem], built: str) -> bytes:
    """The feed as a server rebuilds it: the same items, a new lastBuildDate."""
    body = rss(items, now=ITEMS_AT)
    return body.replace(
        b"<description>test</description>",
        b"<description>test</description><lastBuildDate>" + built.encode() + b"</lastBuildDate>",
        1,
    )


def _setup(folder: Path, feed_server: FeedServer) -> tuple[Settings, Store, EngineCache]:
    feed_server.add("/a.xml", body=_rebuilt([*ALERTING, *QUIET], "one"), etag='"1"')
    folder.mkdir()
    cfg = write_config(folder, [("A", feed_server.url("/a.xml"))])
    settings = load_settings(str(cfg), env={})
    store = Store(settings.database)
    store.sync_feeds((f.name, f.url) for f in settings.feeds)
    return settings, store, engine_cache(settings.watchlists, settings.rules)


def _poll_a(settings: Settings, store: Store, cache: EngineCache, processes: bool) -> FeedOutcome:
    (outcome,) = poll(
        settings, store, lambda: cache.get(store.db), list(settings.feeds), processes=processes
    )
    return outcome


def _hash(store: Store) -> str | None:
    value = store.feed("A").get("entries_hash")
    return None if value is None else str(value)


@pytest.mark.parametrize("processes", [True, False], ids=["workers", "in-thread"])
def test_a_rebuilt_feed_with_nothing_new_is_not_read_again(
    tmp_path: Path, feed_server: FeedServer, processes: bool
) -> None:
    settings, store, cache = _setup(tmp_path / "db", feed_server)
    first = _poll_a(settings, store, cache, processes)
    assert first.parsed and first.new_items == len(ALERTING) + len(QUIET) and first.alerts > 0
    recorded = _hash(store)
    assert recorded is not None

    # a new ETag and lastBuildDate, the same entries: 200, yet nothing analysed
    feed_server.add("/a.xml", body=_rebuilt([*ALERTING, *QUIET], "two"), etag='"2"')
    again = _poll_a(settings, store, cache, processes)
    assert again.status == 200 and again.same_entries
    assert not again.parsed and not again.prescanned and again.matched == 0
    assert (again.new_items, again.alerts, again.error) == (0, 0, None)
    assert _hash(store) == recorded and store.feed("A")["etag"] == '"2"'

    # a new story on top: read as before, and the new document's hash is kept
    feed_server.add("/a.xml", body=_rebuilt([NEW, *ALERTING, *QUIET], "three"), etag='"3"')
    third = _poll_a(settings, store, cache, processes)
    assert not third.same_entries and third.parsed
    assert third.new_items == 1 and third.alerts >= 1
    assert _hash(store) not in (None, recorded)
    store.close()


def test_a_failed_poll_keeps_the_last_recorded_hash(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    settings, store, cache = _setup(tmp_path / "db", feed_server)
    _poll_a(settings, store, cache, processes=False)
    recorded = _hash(store)
    feed_server.add("/a.xml", body=b"<html><body>maintenance</body></html>", etag='"x"')
    failed = _poll_a(settings, store, cache, processes=False)
    assert failed.error and not failed.same_entries
    assert _hash(store) == recorded
    # back with the recorded entries: recognised, nothing lost in between
    feed_server.add("/a.xml", body=_rebuilt([*ALERTING, *QUIET], "four"), etag='"4"')
    back = _poll_a(settings, store, cache, processes=False)
    assert back.same_entries and back.error is None and back.new_items == 0
    store.close()


def test_a_new_url_forgets_the_hash(tmp_path: Path, feed_server: FeedServer) -> None:
    settings, store, cache = _setup(tmp_path / "db", feed_server)
    _poll_a(settings, store, cache, processes=False)
    assert _hash(store) is not None
    store.sync_feeds([("A", feed_server.url("/moved.xml"))])
    assert _hash(store) is None
    store.close()
