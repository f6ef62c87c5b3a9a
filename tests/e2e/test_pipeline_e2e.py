"""End to end: feeds over real HTTP → matching → SQLite → Slack stand-in → CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer
from tests.support.pipeline import ALERTING, QUIET, FeedItem, rss, run_cli, slack_env, write_config
from tests.support.slack_api import SlackApiStub


def posted_titles(stub: SlackApiStub) -> list[str]:
    """The item title of every alert message the stub received (from the fallback text)."""
    titles = []
    for call in stub.calls_to("chat.postMessage"):
        if call.status != 200:
            continue
        text = call.params.get("text", "")
        hit = [it.title for it in ALERTING + QUIET if _slack_escape(it.title) in text]
        titles.extend(hit or [f"<unknown: {text[:80]}>"])
    return titles


def _slack_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def db_rows(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def setup(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    feed_server.add("/news.xml", body=rss(ALERTING + QUIET), etag='"v1"')
    slack_env(monkeypatch, slack_api.base_url)
    return write_config(tmp_path, [("News", feed_server.url("/news.xml"))])


def test_run_once_posts_exactly_the_alerting_items_once(
    setup: Path, tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    code, _ = run_cli(["run", "--once", "--config", str(setup)])
    assert code == 0
    titles = posted_titles(slack_api)
    # every alerting item posted, no look-alike posted
    assert {it.title for it in ALERTING} == set(titles)
    assert all(t in {it.title for it in ALERTING} for t in titles)
    # one message per (item, rule): never the same rule twice for one item
    alerts = db_rows(tmp_path, "SELECT item_id, rule, status, slack_ts FROM alerts")
    assert len(alerts) == len(titles) == len({(a[0], a[1]) for a in alerts})
    assert all(a[2] == "delivered" and a[3] for a in alerts)
    # every item recorded, matches recorded with offsets
    assert db_rows(tmp_path, "SELECT count(*) FROM items")[0][0] == len(ALERTING + QUIET)
    assert db_rows(tmp_path, "SELECT count(*) FROM matches WHERE [end] > start")[0][0] > 0

    # a second run (forced to poll again) posts nothing: 304, and items are known anyway
    before = len(slack_api.calls_to("chat.postMessage"))
    code, _ = run_cli(["run", "--once", "--all-feeds", "--config", str(setup)])
    assert code == 0
    assert len(slack_api.calls_to("chat.postMessage")) == before
    assert feed_server.requests[-1].headers.get("if-none-match") == '"v1"'
    assert db_rows(tmp_path, "SELECT last_status FROM feeds")[0][0] == 304

    # the feed changes (etag v2) and carries the same stories again plus one new: only new alerts
    new = FeedItem(
        "Wagner fighters in Mali receive North Korean rockets, officials say",
        "Africa Corps units formerly of the Wagner Group took delivery of North Korean "
        "122mm MLRS rockets shipped via Russia.",
        "https://news.example.org/a/mali",
    )
    feed_server.add("/news.xml", body=rss([new, *ALERTING, *QUIET]), etag='"v2"')
    run_cli(["run", "--once", "--all-feeds", "--config", str(setup)])
    after = slack_api.calls_to("chat.postMessage")[before:]
    assert after, "the new Wagner/DPRK story should alert"
    assert all("Mali" in c.params.get("text", "") for c in after)


def test_message_is_escaped_and_linked(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hostile = FeedItem(
        "<!channel> North Korea ships artillery shells to Russia <@U0ADMIN>",
        "Pyongyang delivered shells to Russia. <https://evil.example|click here>",
        "https://news.example.org/a/x?a=1&b=2",
    )
    feed_server.add("/f.xml", body=rss([hostile]))
    slack_env(monkeypatch, slack_api.base_url)
    cfg = write_config(tmp_path, [("F", feed_server.url("/f.xml"))])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    calls = slack_api.calls_to("chat.postMessage")
    assert calls
    for call in calls:
        payload = str(call.params.get("text")) + str(call.params.get("blocks"))
        assert "<!channel>" not in payload and "<@U0ADMIN>" not in payload
        assert "&lt;!channel&gt;" in payload
        assert "evil.example|" not in payload.replace("&lt;https://evil.example|", "")
        assert "<https://news.example.org/a/x?a=1&amp;b=2|" in payload


def test_slack_outage_loses_nothing_and_doubles_nothing(
    setup: Path, tmp_path: Path, slack_api: SlackApiStub
) -> None:
    slack_api.down = True
    code, _ = run_cli(["run", "--once", "--config", str(setup)])
    assert code == 0
    # issue 8: the attempted alert is 'retrying' (with a next-attempt time), the rest pending
    waiting = "SELECT count(*) FROM alerts WHERE status IN ('pending', 'retrying')"
    pending = db_rows(tmp_path, waiting)[0][0]
    assert pending >= len(ALERTING)
    assert db_rows(tmp_path, "SELECT max(attempts) FROM alerts")[0][0] >= 1
    assert run_cli(["status", "--config", str(setup)])[0] == 1  # monitoring sees pending alerts

    slack_api.down = False
    code, _ = run_cli(["run", "--once", "--config", str(setup)])  # feed not due: delivery only
    assert code == 0
    assert db_rows(tmp_path, waiting)[0][0] == 0
    assert set(posted_titles(slack_api)) == {it.title for it in ALERTING}
    assert len(posted_titles(slack_api)) == pending  # each exactly once
    run_cli(["run", "--once", "--config", str(setup)])
    assert len(posted_titles(slack_api)) == pending


def test_rate_limit_is_retried_within_the_run(
    setup: Path, tmp_path: Path, slack_api: SlackApiStub
) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    slack_api.fail_next("chat.postMessage", status=500)
    assert run_cli(["run", "--once", "--config", str(setup)])[0] == 0
    assert db_rows(tmp_path, "SELECT count(*) FROM alerts WHERE status = 'pending'")[0][0] == 0
    ok = [c for c in slack_api.calls_to("chat.postMessage") if c.status == 200]
    assert len(ok) == len(db_rows(tmp_path, "SELECT id FROM alerts"))


def test_first_poll_backfill_and_cross_feed_dedupe(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = FeedItem(
        ALERTING[0].title,
        ALERTING[0].description,
        "https://news.example.org/a/old",
        age_hours=24 * 10,
    )
    fresh = ALERTING[1]
    feed_server.add("/a.xml", body=rss([old, fresh]))
    # feed B carries the fresh story under its own guid but the same link (tracking params)
    same_story = FeedItem(
        fresh.title, fresh.description, fresh.link + "?utm_source=rss", guid="b-feed-guid-1"
    )
    feed_server.add("/b.xml", body=rss([same_story]))
    slack_env(monkeypatch, slack_api.base_url)
    cfg = write_config(
        tmp_path, [("A", feed_server.url("/a.xml")), ("B", feed_server.url("/b.xml"))]
    )
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    titles = posted_titles(slack_api)
    assert ALERTING[0].title not in titles  # 10 days old on first poll: recorded, not alerted
    assert db_rows(tmp_path, "SELECT count(*) FROM items WHERE link LIKE '%/old'")[0][0] == 1
    items_with_alerts = db_rows(tmp_path, "SELECT DISTINCT item_id FROM alerts")
    assert len(items_with_alerts) == 1  # the fresh story once, across both feeds


def test_broken_feeds_are_isolated_and_recorded(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_api: SlackApiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.add("/good.xml", body=rss(ALERTING[:1]))
    feed_server.add("/500.xml", status=500, body=b"boom", content_type="text/plain")
    feed_server.add("/html.xml", body=b"<html><body>Login</body></html>", content_type="text/html")
    feed_server.add("/slow.xml", delay_s=10, body=rss(ALERTING))
    slack_env(monkeypatch, slack_api.base_url)
    cfg = write_config(
        tmp_path,
        [
            ("Good", feed_server.url("/good.xml")),
            ("Error", feed_server.url("/500.xml")),
            ("Html", feed_server.url("/html.xml")),
            ("Slow", feed_server.url("/slow.xml")),
            ("Missing", str(tmp_path / "nope.xml")),
        ],
        extra="[fetch]\ntotal_timeout_s = 1.5\n",
    )
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert posted_titles(slack_api) and set(posted_titles(slack_api)) == {ALERTING[0].title}
    code, text = run_cli(["feeds", "--config", str(cfg)])
    assert code == 0
    errors = dict(db_rows(tmp_path, "SELECT name, last_error FROM feeds"))
    assert errors["Good"] is None
    assert "500" in errors["Error"]
    assert "html" in errors["Html"].lower()
    assert "timed out" in errors["Slow"].lower()
    assert "nope.xml" in errors["Missing"] or "not found" in errors["Missing"].lower()
    for name in ("Error", "Html", "Slow", "Missing"):
        assert f"{name}  [FAILING]" in text
    assert db_rows(tmp_path, "SELECT consecutive_failures FROM feeds WHERE name='Error'")[0][0] == 1


def test_weekly_csv_export_uploads(setup: Path, tmp_path: Path, slack_api: SlackApiStub) -> None:
    slack_api.add_channel("#compliance")
    run_cli(["run", "--once", "--config", str(setup)])
    today = datetime.now(UTC).date()
    since, until = today - timedelta(days=1), today + timedelta(days=1)
    code, text = run_cli(
        [
            "export",
            "--since",
            str(since),
            "--until",
            str(until),
            "--out",
            str(tmp_path / "week.csv"),
            "--to-slack",
            "#compliance",
            "--config",
            str(setup),
        ]
    )
    assert code == 0, text
    raw = (tmp_path / "week.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    n_alerts = db_rows(tmp_path, "SELECT count(*) FROM alerts")[0][0]
    assert len(rows) == n_alerts > 0
    assert {
        "alert_id",
        "detected_at",
        "published_at",
        "feed",
        "title",
        "link",
        "rule",
        "severity",
        "channel",
        "entities",
        "delivered",
    } <= set(rows[0])
    assert all(r["delivered"] == "yes" and r["entities"] for r in rows)
    uploads = list(slack_api.uploads.values())
    assert len(uploads) == 1 and uploads[0]["data"] == raw and uploads[0]["completed"]
    # an empty range gives a header-only file
    code, _ = run_cli(
        [
            "export",
            "--since",
            "2020-01-01",
            "--until",
            "2020-01-08",
            "--out",
            str(tmp_path / "empty.csv"),
            "--config",
            str(setup),
        ]
    )
    assert code == 0
    assert len((tmp_path / "empty.csv").read_text(encoding="utf-8-sig").splitlines()) == 1


def test_bad_files_exit_2_and_name_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[slack]\ndefault_chanel = '#x'\n", encoding="utf-8")
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "default_chanel" in err

    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "broken.yaml").write_text("entries:\n  - name: [unclosed\n", encoding="utf-8")
    cfg.write_text(f'watchlists = "{wl}"\n', encoding="utf-8")
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 2
    assert "broken.yaml" in capsys.readouterr().err
