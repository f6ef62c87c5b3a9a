"""``/feeds`` changes applied once (issue 14, like ``/watchlist``): a replayed signature or a
Slack retry (``X-Slack-Retry-Num``) is acked with 200 but neither applied nor answered again,
so a captured ``add`` cannot bring back a feed an admin removed, and a replayed ``pause``
cannot undo a ``resume``. Real signed HTTP to the app behind waitress, a real SQLite file and
the feed over HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app_harness import ADMIN, Harness, running_app
from tests.support.feedserver import FeedServer
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub
from tests.support.slack_signing import signed_headers, slash_body

WIRE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Weather</title><link>https://wire.test/1</link>
<description>Rain on Sunday.</description></item></channel></rss>"""


@pytest.fixture
def harness(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> Iterator[Harness]:
    with running_app(tmp_path, slack_api, response_urls) as h:
        yield h


class Feeds:
    """/feeds requests over signed HTTP, counting what the app has handled."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.sent = 0

    def post(self, body: bytes, headers: dict[str, str]) -> None:
        response = self.h.http.post(self.h.url, content=body, headers=headers)
        assert response.status_code == 200 and response.text == "", response.text  # acked
        self.sent += 1
        self.h.settle(self.sent)

    def captured(self, text: str) -> tuple[bytes, dict[str, str], str]:
        """Send a command and return what an eavesdropper kept: body, headers, reply URL."""
        url = self.h.responses.new()
        body = slash_body(text, ADMIN, "alice", command="/feeds", response_url=url)
        headers = signed_headers(body)
        self.post(body, headers)
        return body, headers, url

    def reply(self, text: str) -> str:
        _, _, url = self.captured(text)
        (data,) = self.h.responses.wait(url)
        return str(data["text"])


def feed_audit(h: Harness) -> list[tuple[str, str]]:
    store = h.store()
    try:
        return [
            (r["action"], r["target"])
            for r in store.db.query(
                "SELECT action, target FROM audit_log WHERE list = 'feeds' ORDER BY id"
            )
        ]
    finally:
        store.close()


def added_feeds(h: Harness) -> list[str]:
    store = h.store()
    try:
        return [
            r["name"] for r in store.db.query("SELECT name FROM managed_feeds WHERE origin='added'")
        ]
    finally:
        store.close()


def retry_of(body: bytes, n: int) -> dict[str, str]:
    """Slack's redelivery: the same payload, a fresh timestamp and signature."""
    return signed_headers(body, timestamp=int(time.time()) + n, retry_num=n)


def test_replayed_add_after_a_remove_does_not_re_add(
    harness: Harness, feed_server: FeedServer
) -> None:
    url = feed_server.add("/wire.xml", body=WIRE_RSS)
    feeds = Feeds(harness)
    body, headers, add_url = feeds.captured(f"add Wire {url}")
    assert "added feed 'Wire'" in harness.responses.wait(add_url)[0]["text"]
    assert "removed feed 'Wire'" in feeds.reply("remove Wire")
    fetched = feed_server.hits("/wire.xml")
    audit = [("feed_add", "Wire"), ("feed_remove", "Wire")]
    assert feed_audit(harness) == audit

    feeds.post(body, headers)  # the captured add replayed inside the signature window
    assert added_feeds(harness) == [] and feed_audit(harness) == audit
    for n in (1, 2):  # Slack retrying it
        feeds.post(body, retry_of(body, n))
    assert added_feeds(harness) == [] and feed_audit(harness) == audit
    assert len(harness.responses.received(add_url)) == 1  # answered once, the first time
    assert feed_server.hits("/wire.xml") == fetched  # a replay does not even fetch the feed

    # the same text typed again is a new request and is applied
    assert "added feed 'Wire'" in feeds.reply(f"add Wire {url}")
    assert added_feeds(harness) == ["Wire"]
    assert feed_audit(harness) == [*audit, ("feed_add", "Wire")]


def test_replayed_pause_does_not_undo_a_resume(harness: Harness) -> None:
    feeds = Feeds(harness)
    body, headers, pause_url = feeds.captured("pause Local")
    assert "paused feed 'Local'" in harness.responses.wait(pause_url)[0]["text"]
    assert "resumed feed 'Local'" in feeds.reply("resume Local")
    feeds.post(body, headers)
    feeds.post(body, retry_of(body, 1))
    assert feed_audit(harness) == [("feed_pause", "Local"), ("feed_resume", "Local")]
    assert "paused" not in feeds.reply("list")  # Local is still polled
    assert len(harness.responses.received(pause_url)) == 1


def test_retry_whose_original_never_arrived_is_applied(
    harness: Harness, feed_server: FeedServer
) -> None:
    url = feed_server.add("/wire.xml", body=WIRE_RSS)
    feeds = Feeds(harness)
    reply_url = harness.responses.new()
    body = slash_body(f"add Wire {url}", ADMIN, "alice", command="/feeds", response_url=reply_url)
    feeds.post(body, signed_headers(body, retry_num=1))
    assert "added feed 'Wire'" in harness.responses.wait(reply_url)[0]["text"]
    assert added_feeds(harness) == ["Wire"]
    feeds.post(body, retry_of(body, 2))  # and its next retry is dropped
    assert feed_audit(harness) == [("feed_add", "Wire")]


def test_a_refused_command_is_answered_again_when_replayed(harness: Harness) -> None:
    """Nothing was applied, so nothing is claimed: the replay gets the same refusal."""
    feeds = Feeds(harness)
    body, headers, url = feeds.captured("remove Local")
    assert "cannot be removed" in harness.responses.wait(url)[0]["text"]
    feeds.post(body, headers)
    replies = harness.responses.wait(url, count=2)
    assert all("cannot be removed" in r["text"] for r in replies)
    assert feed_audit(harness) == []


def test_stale_replay_gets_401(harness: Harness) -> None:
    body = slash_body("pause Local", ADMIN, command="/feeds")
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    response = httpx.post(harness.url, content=body, headers=stale, timeout=10)
    assert response.status_code == 401
    assert feed_audit(harness) == []
