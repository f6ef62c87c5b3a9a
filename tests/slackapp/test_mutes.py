"""Mutes: ``/watchlist mute <entity|rule> <duration> [reason]`` and ``unmute`` over real signed
requests, for admins, audited; muted matches are recorded (suppressed) and not posted until
the mute expires or is lifted; ``status`` lists the active ones."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from pathlib import Path

from sanctionwatch.alerting import mutecommands
from sanctionwatch.alerting.jobs import once
from sanctionwatch.cli import main as cli
from sanctionwatch.clock import utcnow
from sanctionwatch.slack.poster import SlackPoster
from sanctionwatch.storage.audit import Actor
from sanctionwatch.watchlists.overlay import baseline_entries
from tests.support.app_harness import ALERT_TEXT, ANALYST, Harness, running_app, write_feed
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub

CHANNEL = "#sanctions-alerts"


def _poll_with(harness: Harness, guid: str) -> str:
    """A new item (the alerting text, a new guid and title) polled once; its alert's status."""
    write_feed(harness.tmp / "feed.xml", [(guid, f"Arms {guid}", f"{ALERT_TEXT} Report {guid}.")])
    store = harness.store()
    try:
        cache = cli.engine_getter(harness.settings, store)
        poster = SlackPoster(TEST_TOKEN, harness.stub.base_url, max_retries=0)
        once(harness.settings, store, cache, poster, all_feeds=True)
        row = store.db.execute(
            "SELECT a.status, a.suppressed FROM alerts a WHERE a.item_id LIKE ? ORDER BY id DESC",
            [f"%{guid}%"],
        ).fetchone()
        if row is None:  # the item id is a hash: find it by title
            row = store.db.execute(
                "SELECT a.status, a.suppressed FROM alerts a JOIN items i USING (item_id)"
                " WHERE i.title = ?",
                [f"Arms {guid}"],
            ).fetchone()
        assert row is not None, guid
        return str(row[0])
    finally:
        store.close()


def _status_json(harness: Harness) -> dict:
    out = io.StringIO()
    cli.main(["status", "--json", "--config", str(harness.config)], out=out)
    return json.loads(out.getvalue())


def test_mute_holds_is_audited_listed_and_lifted(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls) as harness:
        refused = harness.reply("mute North Korea 4h", user=ANALYST)
        assert "only watchlist admins" in refused
        reply = harness.reply("mute north korea 4h summit week coverage")
        assert "Muted entity *North Korea* until" in reply
        assert _poll_with(harness, "g1") == "suppressed"
        assert slack_api.post_count(CHANNEL) == 0  # recorded, not posted

        status = _status_json(harness)
        (mute,) = status["mutes"]
        assert mute["target"] == "North Korea" and mute["kind"] == "entity"
        assert mute["reason"] == "summit week coverage" and "U0ADMIN001" in mute["by"]
        text = io.StringIO()
        cli.main(["status", "--config", str(harness.config)], out=text)
        assert "muted entity: North Korea until" in text.getvalue()
        assert "North Korea" in harness.reply("mutes", user=ANALYST)

        assert "Unmuted *North Korea*" in harness.reply("unmute North Korea")
        assert _poll_with(harness, "g2") == "delivered"
        assert slack_api.post_count(CHANNEL) == 1
        assert _status_json(harness)["mutes"] == []

        store = harness.store()
        audits = list(store.db.query("SELECT * FROM audit_log WHERE action LIKE 'mute.%'"))
        store.close()
        assert [a["action"] for a in audits] == ["mute.add", "mute.lift"]
        assert all(a["actor_id"] == "U0ADMIN001" for a in audits)
        assert "summit week coverage" in audits[0]["after"]


def test_a_mute_expires_after_its_duration(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls) as harness:
        store = harness.store()
        rules = ["dprk-russia-arms-transfer"]
        entries = baseline_entries(harness.settings.watchlists, store.db)
        # a one-hour mute made 59 min 57 s ago: three seconds are left
        made = utcnow() - timedelta(minutes=59, seconds=57)
        result = mutecommands.mute(
            store, entries, rules, Actor("ops", "ops", "cli"), "Russia 1h", made
        )
        store.close()
        assert isinstance(result, mutecommands.Muted)
        assert _poll_with(harness, "g1") == "suppressed"
        time.sleep(max(0.0, (result.mute.until - utcnow()).total_seconds()) + 0.2)
        assert _status_json(harness)["mutes"] == []
        assert _poll_with(harness, "g2") == "delivered"


def test_mute_refuses_what_it_cannot_name(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls) as harness:
        assert "needs a target and a duration" in harness.reply("mute North Korea")
        assert "is not a rule or watchlist entry" in harness.reply("mute Atlantis 2d")
        assert "not muted" in harness.reply("unmute Russia")
        assert "Muted rule *dprk-russia-arms-transfer*" in harness.reply(
            "mute rule:dprk-russia-arms-transfer 2d"
        )
        assert "out of range" not in harness.reply("mute Russia 90d")
        assert "needs a target" in harness.reply("mute Russia 91d")


def test_bot_py_watchlist_mute_and_unmute(tmp_path: Path) -> None:
    cfg = tmp_path / "sw.toml"
    cfg.write_text('database = "sw.db"\n', encoding="utf-8")
    out = io.StringIO()
    assert (
        cli.main(["watchlist", "mute", "Kim Jong Un", "2h", "why", "--config", str(cfg)], out=out)
        == 0
    )
    assert "muted entity 'Kim Jong Un' until" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["watchlist", "mutes", "--json", "--config", str(cfg)], out=out) == 0
    assert [m["target"] for m in json.loads(out.getvalue())["mutes"]] == ["Kim Jong Un"]
    assert cli.main(["watchlist", "unmute", "Kim Jong Un", "--config", str(cfg)], out=out) == 0
    assert cli.main(["watchlist", "unmute", "Kim Jong Un", "--config", str(cfg)], out=out) == 1
