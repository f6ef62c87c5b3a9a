"""Feeds managed like watchlists: /feeds from Slack (real signed requests), the CLI verbs,
OPML import/export, per-feed channel; a feed added from Slack is polled on the next cycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanctionwatch.storage.db import Store
from tests.support.app_harness import ADMIN, ANALYST, Harness, running_app
from tests.support.feedserver import FeedServer
from tests.support.pipeline import run_cli
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub
from tests.support.slack_signing import signed_headers, slash_body

WIRE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Wagner Group received North Korean rockets</title>
<link>https://wire.test/1</link><description>The Wagner Group received North Korean rockets
and missiles, the White House said.</description></item></channel></rss>"""
PAGE = b"""<!DOCTYPE html><html><head><title>Wire</title>
<link rel="alternate" type="application/rss+xml" title="Wire" href="/rss.xml"></head>
<body>news</body></html>"""


def feeds_reply(h: Harness, text: str, user: str = ADMIN) -> str:
    url = h.responses.new()
    body = slash_body(text, user, "alice", command="/feeds", response_url=url)
    response = h.http.post(h.url, content=body, headers=signed_headers(body))
    assert response.status_code == 200 and response.text == ""
    (data,) = h.responses.wait(url)
    return str(data["text"])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SANCTIONWATCH_CONFIG", raising=False)


def test_feed_added_from_slack_is_polled_next_cycle(
    env: None,
    tmp_path: Path,
    slack_api: SlackApiStub,
    response_urls: ResponseUrls,
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/rss.xml", body=WIRE_RSS)
    page = feed_server.add("/page", body=PAGE, content_type="text/html; charset=utf-8")
    with running_app(tmp_path, slack_api, response_urls) as h:
        assert "only admins" in feeds_reply(h, f"add Wire {url}", user=ANALYST)
        # a web page is refused, naming the feed it advertises
        reply = feeds_reply(h, f"add Wire {page}")
        assert "is a web page, not a feed" in reply and url in reply
        reply = feeds_reply(h, f'add "Wire news" <{url}> #wire-alerts 30')
        assert "added feed 'Wire news'" in reply
        assert "Wire news" in feeds_reply(h, "list")
        # a TOML feed can be paused from Slack, not removed
        assert "cannot be removed" in feeds_reply(h, "remove Local")
        assert "paused feed 'Local'" in feeds_reply(h, "pause Local")
        config = h.config
    hits = feed_server.hits("/rss.xml")
    code, out = run_cli(["run", "--once", "--config", str(config)])
    assert code == 0, out
    assert feed_server.hits("/rss.xml") == hits + 1  # polled, no restart, no config edit
    store = Store(tmp_path / "sw.db")
    alerts = list(store.db.query("SELECT rule, channel, item_id FROM alerts"))
    polled = {r["name"] for r in store.db.query("SELECT name FROM feeds WHERE active = 1")}
    audit = [
        r["action"] for r in store.db.query("SELECT action FROM audit_log WHERE list = 'feeds'")
    ]
    store.close()
    wire = [a for a in alerts if "wire.test" in a["item_id"]]
    assert wire and {a["channel"] for a in wire} == {"#wire-alerts"}  # the feed's channel
    assert polled == {"Wire news"}  # Local is paused
    assert audit == ["feed_add", "feed_pause"]
    code, out = run_cli(["feeds", "--json", "--config", str(config)])
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["Local"]["paused"] and rows["Wire news"]["interval_minutes"] == 30


def test_cli_verbs_and_opml_round_trip(env: None, tmp_path: Path, feed_server: FeedServer) -> None:
    url_a = feed_server.add("/a.xml", body=WIRE_RSS)
    url_b = feed_server.add("/b.xml", body=WIRE_RSS.replace(b"wire.test/1", b"wire.test/2"))
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'database = "sw.db"\n[[feeds]]\nname = "Base"\nurl = "{url_a}"\n', encoding="utf-8"
    )
    code, out = run_cli(["feeds", "add", "B & Co", url_b, "--channel", "#b", "--config", str(cfg)])
    assert code == 0 and "added feed 'B & Co'" in out
    code, out = run_cli(["feeds", "add", "Again", url_b, "--config", str(cfg)])
    assert code != 0
    assert run_cli(["feeds", "pause", "Base", "--config", str(cfg)])[0] == 0
    assert "already paused" in run_cli(["feeds", "pause", "Base", "--config", str(cfg)])[1]
    assert run_cli(["feeds", "resume", "Base", "--config", str(cfg)])[0] == 0
    opml = tmp_path / "feeds.opml"
    assert run_cli(["feeds", "export-opml", "--out", str(opml), "--config", str(cfg)])[0] == 0
    code, stdout = run_cli(["feeds", "export-opml", "--config", str(cfg)])
    undated = [line for line in stdout.splitlines() if "dateCreated" not in line]
    written = opml.read_text(encoding="utf-8")
    assert undated == [line for line in written.splitlines() if "dateCreated" not in line]
    assert len(undated) >= 6 and 'xmlUrl="' + url_b + '"' in written

    other = tmp_path / "other"
    other.mkdir()
    cfg2 = other / "c.toml"
    cfg2.write_text('database = "sw.db"\n', encoding="utf-8")
    code, out = run_cli(["feeds", "import-opml", str(opml), "--config", str(cfg2)])
    assert code == 0 and "added 2 feed(s), skipped 0" in out
    code, out = run_cli(["feeds", "list", "--json", "--config", str(cfg2)])
    assert {(r["name"], r["url"]) for r in json.loads(out)} == {("Base", url_a), ("B & Co", url_b)}
    # importing again adds nothing
    code, out = run_cli(["feeds", "import-opml", str(opml), "--config", str(cfg2)])
    assert "added 0 feed(s), skipped 2" in out
    assert run_cli(["feeds", "remove", "B & Co", "--config", str(cfg2)])[0] == 0
    code, out = run_cli(["feeds", "--json", "--config", str(cfg2)])
    assert [r["name"] for r in json.loads(out)] == ["Base"]


def test_toml_channel_key_routes_alerts(env: None, tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/w.xml", body=WIRE_RSS)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'database = "sw.db"\n[[feeds]]\nname = "W"\nurl = "{url}"\nchannel = "#w"\n',
        encoding="utf-8",
    )
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    store = Store(tmp_path / "sw.db")
    channels = {r[0] for r in store.db.execute("SELECT channel FROM alerts")}
    store.close()
    assert channels == {"#w"}
