"""Operations: backoff, 410, Retry-After, ops notices once, feeds/status, retention (issue 5)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from sanctionwatch.alerting.jobs import retention_job
from sanctionwatch.config.settings import load_settings
from sanctionwatch.storage.db import Store
from tests.support.feedserver import FeedServer
from tests.support.pipeline import (
    ALERTING,
    QUIET,
    FeedItem,
    rss,
    run_cli,
    slack_env,
    write_config,
)
from tests.support.slack_api import SlackApiStub

INTERVAL_MIN = 15  # write_config's interval_minutes
SLACK_MARGIN_S = 120  # clock slack between the run and the assertions


def _rows(db: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _feed(db: Path, name: str) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM feeds WHERE name = ?", [name]).fetchone()
    return dict(row)


def _delay_min(row: dict[str, Any]) -> float:
    nxt = datetime.fromisoformat(row["next_poll_at"])
    last = datetime.fromisoformat(row["last_fetch_at"])
    return (nxt - last).total_seconds() / 60


def _make_due(db: Path) -> None:
    """Time passes: every feed becomes due."""
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE feeds SET next_poll_at = ?", [past])


def _ops_posts(stub: SlackApiStub) -> list[str]:
    return [str(m.get("text", "")) for m in stub.messages_in("#ops")]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, slack_api: SlackApiStub) -> SlackApiStub:
    slack_env(monkeypatch, slack_api.base_url)
    return slack_api


def test_backoff_doubles_and_success_resets(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    feed_server.add("/f.xml", status=500, body=b"down", content_type="text/plain")
    cfg = write_config(tmp_path, [("F", feed_server.url("/f.xml"))])
    db = tmp_path / "sw.db"
    delays = []
    for _ in range(4):
        assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
        delays.append(round(_delay_min(_feed(db, "F"))))
        _make_due(db)
    assert delays == [INTERVAL_MIN * 2**k for k in range(4)]
    assert _feed(db, "F")["consecutive_failures"] == 4
    # not due: a run does not poll it
    hits = feed_server.hits("/f.xml")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE feeds SET next_poll_at = '2999-01-01T00:00:00+00:00'")
    run_cli(["run", "--once", "--config", str(cfg)])
    assert feed_server.hits("/f.xml") == hits
    # recovery resets the failure count and the interval
    feed_server.add("/f.xml", body=rss(QUIET))
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    row = _feed(db, "F")
    assert row["consecutive_failures"] == 0 and row["last_error"] is not None
    assert round(_delay_min(row)) == INTERVAL_MIN


def test_backoff_is_capped(tmp_path: Path, feed_server: FeedServer, env: SlackApiStub) -> None:
    feed_server.add("/f.xml", status=503, body=b"down", content_type="text/plain")
    cfg = write_config(
        tmp_path, [("F", feed_server.url("/f.xml"))], extra="[poll]\nbackoff_max_minutes = 40\n"
    )
    db = tmp_path / "sw.db"
    for _ in range(5):
        run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    assert round(_delay_min(_feed(db, "F"))) == 40


@pytest.mark.parametrize(
    ("status", "retry_after", "at_least_s"),
    [
        (429, "7200", 7200),
        (503, "5400", 5400),
        (429, "HTTP-DATE", 3 * 3600 - SLACK_MARGIN_S),
    ],
    ids=["429-seconds", "503-seconds", "429-http-date"],
)
def test_retry_after_is_honoured(
    tmp_path: Path,
    feed_server: FeedServer,
    env: SlackApiStub,
    status: int,
    retry_after: str,
    at_least_s: int,
) -> None:
    if retry_after == "HTTP-DATE":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    feed_server.add("/f.xml", status=status, headers={"Retry-After": retry_after})
    cfg = write_config(tmp_path, [("F", feed_server.url("/f.xml"))])
    run_cli(["run", "--once", "--config", str(cfg)])
    row = _feed(tmp_path / "sw.db", "F")
    assert str(status) in row["last_error"]
    assert _delay_min(row) * 60 >= at_least_s  # beyond the 15-minute interval and backoff
    assert _delay_min(row) * 60 <= at_least_s + 2 * SLACK_MARGIN_S + INTERVAL_MIN * 60


def test_gone_feed_stops_polling_and_ops_hear_once(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    feed_server.add("/gone.xml", status=410, body=b"gone", content_type="text/plain")
    feed_server.add("/ok.xml", body=rss(QUIET))
    cfg = write_config(
        tmp_path, [("Gone", feed_server.url("/gone.xml")), ("Ok", feed_server.url("/ok.xml"))]
    )
    db = tmp_path / "sw.db"
    run_cli(["run", "--once", "--config", str(cfg)])
    assert _feed(db, "Gone")["gone"] == 1
    for _ in range(3):
        _make_due(db)
        run_cli(["run", "--once", "--config", str(cfg)])
    assert feed_server.hits("/gone.xml") == 1  # never polled again
    assert feed_server.hits("/ok.xml") == 4
    posts = _ops_posts(env)
    assert len(posts) == 1 and "Gone" in posts[0] and "410" in posts[0]
    code, text = run_cli(["feeds", "--config", str(cfg)])
    assert code == 0 and "Gone  [GONE]" in text and "never (gone)" in text
    code, text = run_cli(["status", "--config", str(cfg)])
    assert code == 1 and "Gone" in text


def test_failures_beyond_threshold_are_posted_once(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    feed_server.add("/bad.xml", status=500, body=b"x", content_type="text/plain")
    cfg = write_config(
        tmp_path, [("Bad", feed_server.url("/bad.xml"))], extra="[poll]\nfailure_report_after = 3\n"
    )
    counts = []
    for _ in range(6):
        run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
        counts.append(len(_ops_posts(env)))
    assert counts == [0, 0, 1, 1, 1, 1]
    post = _ops_posts(env)[0]
    assert "Bad" in post and "3" in post and "500" in post
    # it recovers, then fails again beyond the threshold: ops hear about it again, once
    feed_server.add("/bad.xml", body=rss(QUIET))
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    feed_server.add("/bad.xml", status=500, body=b"x", content_type="text/plain")
    for _ in range(4):
        run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    assert len(_ops_posts(env)) == 2


def test_feeds_and_status_tell_the_operator(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    feed_server.add("/good.xml", body=rss(ALERTING + QUIET))
    cfg = write_config(tmp_path, [("Good", feed_server.url("/good.xml"))])
    assert run_cli(["status", "--config", str(cfg)])[0] == 0  # nothing polled, nothing wrong
    run_cli(["run", "--once", "--config", str(cfg)])
    n_alerts = _rows(tmp_path / "sw.db", "SELECT count(*) FROM alerts")[0][0]
    assert n_alerts >= len(ALERTING)
    code, text = run_cli(["feeds", "--config", str(cfg)])
    assert code == 0
    assert "Good  [ok]" in text and "HTTP 200" in text
    assert f"items seen: {len(ALERTING + QUIET)}" in text and f"alerts: {n_alerts}" in text
    assert "last success: 20" in text and "next poll:" in text and "from now" in text
    code, out = run_cli(["feeds", "--json", "--config", str(cfg)])
    (row,) = json.loads(out)
    assert row["alerts"] == n_alerts and row["items_seen"] == len(ALERTING + QUIET)
    code, text = run_cli(["status", "--config", str(cfg)])
    assert code == 0, text
    assert "1 healthy, 0 failing" in text and "pending delivery: 0" in text

    # a failing feed and an undelivered alert both make the check fail
    feed_server.add("/good.xml", status=500, body=b"x", content_type="text/plain")
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    code, text = run_cli(["status", "--config", str(cfg)])
    assert code == 1 and "1 failing (Good)" in text
    feed_server.add("/good.xml", body=rss(ALERTING + QUIET))
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    assert run_cli(["status", "--config", str(cfg)])[0] == 0
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        conn.execute("UPDATE alerts SET status = 'pending' WHERE id = 1")
    code, text = run_cli(["status", "--config", str(cfg)])
    assert code == 1 and "pending delivery: 1" in text


def test_retention_prunes_unmatched_items_and_keeps_alerts(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    plain = FeedItem("Local club wins the cup", "Fans celebrated.", "https://news.example.org/cup")
    feed_server.add("/f.xml", body=rss([*ALERTING, *QUIET, plain]))
    cfg = write_config(tmp_path, [("F", feed_server.url("/f.xml"))], extra="retention_days = 30\n")
    run_cli(["run", "--once", "--config", str(cfg)])
    db = tmp_path / "sw.db"
    before = {
        t: _rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "matches", "alerts")
    }
    unmatched = _rows(db, "SELECT count(*) FROM items WHERE match_count = 0")[0][0]
    assert unmatched >= 1 and before["alerts"] >= 1
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat(timespec="seconds")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE items SET first_seen_at = ?", [old])
    settings = load_settings(str(cfg), env={})
    store = Store(settings.database)
    try:
        assert retention_job(settings, store) == unmatched
        assert retention_job(settings, store) == 0  # idempotent
    finally:
        store.close()
    after = {
        t: _rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("items", "matches", "alerts")
    }
    assert after == {**before, "items": before["items"] - unmatched}
    # an unmatched item pruned while its feed still carries it may be recorded again; a
    # matched one is kept, so nothing is alerted twice
    posts = len(env.calls_to("chat.postMessage"))
    run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])
    assert len(env.calls_to("chat.postMessage")) == posts
