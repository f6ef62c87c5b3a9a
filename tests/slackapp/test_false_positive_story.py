"""A false positive on a story quiets its later copies, end to end: a feed alerts, an analyst
clicks False positive (a real signed request), the same story arrives in another feed, and it
is recorded (and exported) but not posted."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from sanctionwatch.alerting.exports import export_range
from sanctionwatch.alerting.jobs import once
from sanctionwatch.cli import main as cli
from sanctionwatch.clock import utcnow
from sanctionwatch.slack.poster import SlackPoster
from tests.support.app_harness import (
    ALERT_TEXT,
    ANALYST,
    Harness,
    deliver_alert,
    running_app,
    write_feed,
)
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub

CHANNEL = "#sanctions-alerts"
SECOND_FEED = '[[feeds]]\nname = "Other outlet"\nurl = "other.xml"\n'


def _poll(harness: Harness) -> None:
    store = harness.store()
    try:
        cache = cli.engine_getter(harness.settings, store)
        poster = SlackPoster(TEST_TOKEN, harness.stub.base_url, max_retries=0)
        once(harness.settings, store, cache, poster, all_feeds=True)
    finally:
        store.close()


def _rows(harness: Harness) -> list[dict]:
    store = harness.store()
    try:
        return list(
            store.db.query(
                "SELECT a.id, a.status, a.thread_of, a.story_id, a.suppressed, i.feed"
                " FROM alerts a JOIN items i ON i.item_id = a.item_id ORDER BY a.id"
            )
        )
    finally:
        store.close()


def test_false_positive_on_a_story_quiets_its_later_copies(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    write_feed(tmp_path / "other.xml", [])
    with running_app(tmp_path, slack_api, response_urls, config_extra=SECOND_FEED) as harness:
        alert_id, ts = deliver_alert(harness)
        assert slack_api.post_count(CHANNEL) == 1
        click = harness.click("review_false_positive", str(alert_id), ANALYST, ts)
        assert click.status_code == 200
        harness.settle(1)

        # the same wire story, another outlet, another link and headline
        write_feed(tmp_path / "other.xml", [("o1", "Arms shipments", ALERT_TEXT)])
        _poll(harness)
        rows = _rows(harness)
        assert len(rows) == 2
        copy = rows[1]
        assert copy["feed"] == "Other outlet" and copy["story_id"] == rows[0]["story_id"]
        assert copy["thread_of"] == alert_id
        assert copy["status"] == "suppressed"
        assert copy["suppressed"] == "story judged a false positive"
        assert slack_api.post_count(CHANNEL) == 1  # nothing posted: not top-level, not a reply
        assert slack_api.thread_of(CHANNEL, ts) == []

        store = harness.store()
        now = utcnow()
        path, count = export_range(
            harness.settings, store, now - timedelta(days=1), now + timedelta(days=1)
        )
        store.close()
        with path.open(encoding="utf-8-sig", newline="") as f:
            table = list(csv.DictReader(f))
        assert count == 2 and len(table) == 2  # each article is evidence
        assert {r["story_id"] for r in table} == {str(rows[0]["story_id"])}
        assert [r["delivered"] for r in table] == ["yes", "no"]


def test_a_true_match_story_still_threads_its_copies(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    """The control: only a false positive quiets; a true match keeps the thread going."""
    write_feed(tmp_path / "other.xml", [])
    with running_app(tmp_path, slack_api, response_urls, config_extra=SECOND_FEED) as harness:
        alert_id, ts = deliver_alert(harness)
        harness.click("review_true_match", str(alert_id), ANALYST, ts)
        harness.settle(1)
        write_feed(tmp_path / "other.xml", [("o1", "Arms shipments", ALERT_TEXT)])
        _poll(harness)
        assert [r["status"] for r in _rows(harness)] == ["delivered", "delivered"]
        assert len(slack_api.thread_of(CHANNEL, ts)) == 1
