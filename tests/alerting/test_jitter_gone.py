"""Forever-mode jitter spreads next polls; --all-feeds never re-polls a gone (410) feed."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from sanctionwatch.alerting.jobs import once
from sanctionwatch.config.settings import load_settings
from sanctionwatch.runtime import engine_getter
from sanctionwatch.slack.dryrun import DryRunPoster
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.pipeline import QUIET, rss, run_cli, write_config


def test_jitter_spreads_next_polls(tmp_path: Path) -> None:
    feeds = []
    for n in range(8):
        path = tmp_path / f"f{n}.xml"
        path.write_bytes(rss(QUIET))
        feeds.append((f"F{n}", str(path)))
    cfg = write_config(tmp_path, feeds, extra="[poll]\njitter_s = 600\n")
    settings = load_settings(str(cfg), env={}, cwd=tmp_path)
    store = Store(settings.database)
    once(
        settings,
        store,
        engine_getter(settings, store),
        DryRunPoster(io.StringIO()),
        jitter=True,
    )
    delays = []
    for row in store.feeds():
        nxt = datetime.fromisoformat(row["next_poll_at"])
        last = datetime.fromisoformat(row["last_fetch_at"])
        delays.append((nxt - last).total_seconds())
    interval = 15 * 60
    assert all(interval <= d <= interval + 600 for d in delays)
    assert len(set(delays)) > 1  # spread, not all at the same second


def test_all_feeds_skips_gone(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    feed_server.add("/gone.xml", status=410, body=b"gone", content_type="text/plain")
    cfg = write_config(tmp_path, [("Gone", feed_server.url("/gone.xml"))])
    run_cli(["run", "--once", "--config", str(cfg)])
    assert feed_server.hits("/gone.xml") == 1
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    assert feed_server.hits("/gone.xml") == 1
