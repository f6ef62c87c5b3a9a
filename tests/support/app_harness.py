"""The Slack app behind waitress on 127.0.0.1, wired to the Slack stand-in, for app tests.

`running_app` starts the real app (signed requests over real HTTP, a real SQLite file, a
local feed); `Harness` sends slash commands and button clicks to it and reads the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import httpx
from slack_sdk import WebClient

from sanctionwatch.alerting.jobs import once
from sanctionwatch.cli import main as cli
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.slack.poster import SlackPoster
from sanctionwatch.slackapp.app import ThreadStores, build_app
from sanctionwatch.slackapp.monitor import Monitor
from sanctionwatch.slackapp.server import HttpServer, wsgi_app
from sanctionwatch.slackapp.work import AfterAck
from sanctionwatch.storage.db import Store
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub
from tests.support.slack_signing import TEST_SIGNING_SECRET, action_body, signed_headers, slash_body

ADMIN = "U0ADMIN001"
ANALYST = "U0ANALYST1"  # in the stub's users, not an admin
REVIEWER = "U0REVIEWER"
SLACK_DEADLINE_S = 3.0  # Slack drops a slash command answered later than this
REPLAY_WINDOW_S = 5 * 60
ALERT_TEXT = "North Korea has shipped millions of artillery shells to Russia, officials say."
SKY_TEXT = (
    "Satellite images show the cargo ship Sky Aries loading containers of artillery shells"
    " at the North Korean port of Rajin."
)


def ensure_cli_commands() -> None:
    """The serve/watchlist commands are part of the main parser."""
    names = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "watchlist"} <= set(names)


def write_feed(path: Path, items: list[tuple[str, str, str]]) -> None:
    """RSS with undated items (undated items always alert on a first poll)."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{xml_escape(g)}</guid><title>{xml_escape(t)}</title>"
        f"<description>{xml_escape(d)}</description></item>"
        for g, t, d in items
    )
    path.write_text(
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Local</title>"
        f"<link>https://example.org/</link><description>t</description>{body}</channel></rss>",
        encoding="utf-8",
    )


@dataclass
class Harness:
    settings: Settings
    stub: SlackApiStub
    url: str
    http: httpx.Client
    tmp: Path
    config: Path
    responses: ResponseUrls
    work: AfterAck

    def settle(self, requests: int, timeout: float = 10.0) -> None:
        """Wait until the app has handled ``requests`` requests after their acks."""
        assert self.work.wait_finished(requests, timeout), (self.work.finished, requests)

    def command(
        self, text: str, user: str = ADMIN, name: str = "someone", response_url: str = ""
    ) -> httpx.Response:
        body = slash_body(text, user, name, response_url=response_url or self.responses.new())
        return self.http.post(self.url, content=body, headers=signed_headers(body))

    def reply(self, text: str, user: str = ADMIN) -> str:
        """Send a command; the ack is empty and in time, the reply comes to response_url."""
        url = self.responses.new()
        started = time.monotonic()
        response = self.command(text, user, response_url=url)
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert elapsed < SLACK_DEADLINE_S, f"ack took {elapsed:.2f}s"
        assert response.text == ""  # ack() first: the reply follows
        (data,) = self.responses.wait(url)
        assert data["response_type"] == "ephemeral"
        return str(data["text"])

    def click(self, action_id: str, value: str, user: str, ts: str) -> httpx.Response:
        body = action_body(action_id, value, user, message_ts=ts)
        return self.http.post(self.url, content=body, headers=signed_headers(body))

    def store(self) -> Store:
        return Store(self.settings.database)

    def counts(self) -> tuple[int, int]:
        store = self.store()
        try:
            overlay = store.db.execute("SELECT count(*) FROM watchlist_overlay").fetchone()[0]
            audit = store.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
            return int(overlay), int(audit)
        finally:
            store.close()


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@contextmanager
def running_app(
    tmp_path: Path,
    slack_api: SlackApiStub,
    response_urls: ResponseUrls,
    slack_extra: str = "",
    config_extra: str = "",
) -> Iterator[Harness]:
    """The app behind waitress on 127.0.0.1 with a local feed; ``slack_extra`` adds
    ``[slack]`` lines (e.g. reviewers), ``config_extra`` goes at the end (more feeds)."""
    write_feed(tmp_path / "feed.xml", [("a1", "Arms", ALERT_TEXT)])
    config = tmp_path / "sanctionwatch.toml"
    config.write_text(
        'database = "sw.db"\nexports_dir = "exports"\n'
        f'[slack]\nadmins = ["{ADMIN}"]\ndefault_channel = "#sanctions-alerts"\n'
        f"{slack_extra}"
        '[[feeds]]\nname = "Local"\nurl = "feed.xml"\n'
        f"{config_extra}",
        encoding="utf-8",
    )
    env = {
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": slack_api.base_url,
    }
    settings = load_settings(str(config), env=env, cwd=tmp_path)
    slack_api.add_user(ADMIN, "alice")
    stores = ThreadStores(settings.database)
    stores.get()
    client = WebClient(token=TEST_TOKEN, base_url=slack_api.base_url)
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    work = AfterAck()
    app = build_app(settings, stores, poster, client, signing_secret=TEST_SIGNING_SECRET, work=work)
    server = HttpServer(wsgi_app(app, Monitor(settings, stores.get)), "127.0.0.1", 0).start()
    try:
        with httpx.Client(timeout=10) as http:
            yield Harness(
                settings, slack_api, server.url, http, tmp_path, config, response_urls, work
            )
    finally:
        server.stop(grace_s=2)
        work.shutdown()
        stores.close()


def deliver_alert(harness: Harness) -> tuple[int, str]:
    """Poll the local feed once: one alert, posted to the stub; returns (alert id, ts)."""
    store = harness.store()
    try:
        cache = cli.engine_getter(harness.settings, store)
        poster = SlackPoster(TEST_TOKEN, harness.stub.base_url, max_retries=0)
        report = once(harness.settings, store, cache, poster, all_feeds=True)
        assert report.delivered >= 1
        row = store.db.execute("SELECT id, slack_ts FROM alerts ORDER BY id").fetchone()
        return int(row[0]), str(row[1])
    finally:
        store.close()
