"""The Slack app over real HTTP: waitress on 127.0.0.1, signed requests sent with httpx, bolt's
WebClient and our SlackPoster talking to the local Slack Web API stand-in, a real SQLite file."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from sanctionwatch.alerting.jobs import export_range, once
from sanctionwatch.cli import main as cli
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.slack.format import SlackPoster
from sanctionwatch.slackapp.app import ThreadStores, build_app
from sanctionwatch.slackapp.server import HttpServer, wsgi_app
from sanctionwatch.slackapp.work import AfterAck
from sanctionwatch.storage.db import Store, utcnow
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub
from tests.support.slack_signing import (
    DOC_BODY,
    DOC_SIGNATURE,
    DOC_SIGNING_SECRET,
    DOC_TIMESTAMP,
    TEST_SIGNING_SECRET,
    action_body,
    signed_headers,
    slash_body,
)

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
    server = HttpServer(wsgi_app(app), "127.0.0.1", 0).start()
    try:
        with httpx.Client(timeout=10) as http:
            yield Harness(
                settings, slack_api, server.url, http, tmp_path, config, response_urls, work
            )
    finally:
        server.stop(grace_s=2)
        work.shutdown()
        stores.close()


@pytest.fixture
def harness(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> Iterator[Harness]:
    with running_app(tmp_path, slack_api, response_urls) as h:
        yield h


# ---- signatures -------------------------------------------------------------------------
class _Clock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_slack_published_signature_vector() -> None:
    at = float(DOC_TIMESTAMP)
    verifier = SignatureVerifier(DOC_SIGNING_SECRET, clock=_Clock(at))  # type: ignore[arg-type]
    assert verifier.is_valid(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)
    assert not verifier.is_valid(DOC_BODY + "x", DOC_TIMESTAMP, DOC_SIGNATURE)
    stale = SignatureVerifier(DOC_SIGNING_SECRET, clock=_Clock(at + REPLAY_WINDOW_S + 1))  # type: ignore[arg-type]
    assert not stale.is_valid(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)
    # our own signing helper reproduces Slack's example
    from tests.support.slack_signing import signature

    assert signature(DOC_SIGNING_SECRET, DOC_TIMESTAMP, DOC_BODY.encode()) == DOC_SIGNATURE


@pytest.mark.parametrize("kind", ["unsigned", "forged", "stale", "wrong-secret", "tampered"])
def test_bad_signatures_get_401_and_change_nothing(harness: Harness, kind: str) -> None:
    body = slash_body("add vessels Sky Aries", ADMIN)
    headers = signed_headers(body)
    if kind == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif kind == "forged":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif kind == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - REPLAY_WINDOW_S - 60)
    elif kind == "wrong-secret":
        headers = signed_headers(body, secret="not-the-secret")
    elif kind == "tampered":
        body = slash_body("add vessels Evil Ship", ADMIN)
    response = harness.http.post(harness.url, content=body, headers=headers)
    assert response.status_code == 401
    assert harness.counts() == (0, 0)
    click = action_body("review_true_match", "1", ADMIN)
    response = harness.http.post(
        harness.url, content=click, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401


def test_healthz_and_unknown_path(harness: Harness) -> None:
    base = harness.url.rsplit("/slack/events", 1)[0]
    assert harness.http.get(base + "/healthz").text == "ok\n"
    assert harness.http.post(base + "/other", content=b"x").status_code == 404


# ---- slash command ----------------------------------------------------------------------
def test_admin_adds_list_show_remove(harness: Harness) -> None:
    text = harness.reply("add vessels Sky Aries | SKY-ARIES | Скай Овен")
    assert "Added *Sky Aries* to `vessels`" in text and "new list" not in text
    assert "russia" in text  # inherited the list's shared tags
    listed = harness.reply("list vessels", user=ANALYST)
    assert "Sky Aries" in listed and "added by Alice" in listed and "Angara" in listed
    shown = harness.reply("show скай овен", user=ANALYST)
    assert "`vessels`" in shown and "Sky Aries" in shown
    lists = harness.reply("list", user=ANALYST)
    assert "`vessels` — 4 entries, 1 added from Slack" in lists
    assert harness.counts() == (1, 1)
    removed = harness.reply("remove vessels sky-aries")
    assert "Removed *Sky Aries*" in removed
    assert harness.counts() == (0, 2)
    store = harness.store()
    rows = list(store.db.query("SELECT * FROM audit_log ORDER BY id"))
    store.close()
    assert [r["action"] for r in rows] == ["watchlist.add", "watchlist.remove"]
    assert rows[0]["actor_id"] == ADMIN and rows[0]["actor_name"] == "Alice"  # users.info
    assert rows[0]["before"] is None and '"Sky Aries"' in rows[0]["after"]
    assert '"Sky Aries"' in rows[1]["before"] and rows[1]["after"] is None


def test_new_list_is_created_and_says_so(harness: Harness) -> None:
    text = harness.reply("add my-brokers type=person tags=dprk,arms-trade Jon Q Example")
    assert "*new list* `my-brokers`" in text and "as a person" in text
    assert "dprk, arms-trade" in text
    assert "my-brokers" in harness.reply("list")


def test_non_admin_is_refused_politely_and_nothing_changes(harness: Harness) -> None:
    for text in ("add vessels Sky Aries", "remove vessels Angara"):
        reply = harness.reply(text, user=ANALYST)
        assert reply.startswith("Sorry") and f"<@{ADMIN}>" in reply
    assert harness.counts() == (0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add vessels", "Usage"),
        ("add vessels |", "Which name"),
        ("add vessels " + "x" * 201, "limit is 200"),
        ("add vessels AB", "too short"),
        ("add vessels Sky | x", "too short"),
        ("add vessels The News", "only of common words"),
        ("add vessels и на", "only of common words"),
        ("add vessels angara", "already in list 'vessels'"),
        ("add vessels Ship Z | Ангара", "already in list 'vessels'"),
        ("add vessels type=ufo Sky Aries", "Unknown type"),
        ("add Bad/List Sky Aries", "not a valid list name"),
        ("remove nolist Sky Aries", "There is no list 'nolist'"),
        ("remove vessels Angara", "pull request"),
        ("remove vessels Nothing Here", "is not in list"),
        ("remove vessels", "Usage"),
        ("show", "Usage"),
        ("list nolist", "There is no list"),
        ("frobnicate", "I don't know `frobnicate`"),
    ],
)
def test_bad_inputs_get_clear_replies(harness: Harness, text: str, expected: str) -> None:
    reply = harness.reply(text)
    assert expected in reply
    assert harness.counts() == (0, 0)


def test_help_duplicates_and_escaping(harness: Harness) -> None:
    assert "/watchlist add <list> <name>" in harness.reply("help")
    assert "/watchlist add" in harness.reply("")
    harness.reply("add vessels Sky Aries")
    assert "already in list" in harness.reply("add vessels sky   ARIES")
    assert harness.counts() == (1, 1)
    # Slack sends &lt; &gt; for < >; a name with markup is stored as text and shown escaped
    reply = harness.reply("add misc &lt;!channel&gt; Ship Name")
    assert "<!channel>" not in reply and "&lt;!channel&gt; Ship Name" in reply


# ---- review buttons ---------------------------------------------------------------------
def _deliver_alert(harness: Harness) -> tuple[int, str]:
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


def _alert_row(harness: Harness, alert_id: int) -> dict:
    store = harness.store()
    try:
        return dict(next(store.db.query("SELECT * FROM alerts WHERE id = ?", [alert_id])))
    finally:
        store.close()


def test_click_updates_message_records_history_and_reaches_csv(harness: Harness) -> None:
    alert_id, ts = _deliver_alert(harness)
    assert harness.click("review_true_match", str(alert_id), ANALYST, ts).status_code == 200
    wait_for(lambda: len(harness.stub.calls_to("chat.update")) == 1)
    message = harness.stub.messages[("C0ALERTS01", ts)]
    blob = str(message["blocks"])
    assert f"True match — by <@{ANALYST}>" in blob and message["edited"] == 1
    assert _alert_row(harness, alert_id)["disposition"] == "true_match"

    # a second click by someone else: recorded too, the latest stands, history kept
    assert harness.click("review_false_positive", str(alert_id), REVIEWER, ts).status_code == 200
    wait_for(lambda: len(harness.stub.calls_to("chat.update")) == 2)
    blob = str(harness.stub.messages[("C0ALERTS01", ts)]["blocks"])
    assert f"False positive — by <@{REVIEWER}>" in blob and "True match — by" not in blob
    row = _alert_row(harness, alert_id)
    assert row["disposition"] == "false_positive" and "U0REVIEWER" in row["disposition_by"]
    store = harness.store()
    history = list(store.db.query("SELECT * FROM alert_dispositions ORDER BY id"))
    audit = list(store.db.query("SELECT * FROM audit_log WHERE action = 'alert.disposition'"))
    settings = harness.settings
    now = utcnow()
    path, count = export_range(
        settings, store, now - timedelta(days=1), now + timedelta(days=1), companions=True
    )
    store.close()
    assert [h["disposition"] for h in history] == ["true_match", "false_positive"]
    assert [h["user_id"] for h in history] == [ANALYST, REVIEWER]
    assert len(audit) == 2 and '"true_match"' in audit[1]["before"]
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert count == 1 and rows[0]["disposition"] == "false_positive"
    assert rows[0]["disposition_by"] == "Reviewer (U0REVIEWER)" and rows[0][
        "disposition_at"
    ].endswith("Z")


def test_click_on_unknown_alert_gets_ephemeral_error(harness: Harness) -> None:
    assert harness.click("review_escalate", "999", ANALYST, "1.2").status_code == 200
    wait_for(lambda: len(harness.stub.calls_to("chat.postEphemeral")) == 1)
    call = harness.stub.calls_to("chat.postEphemeral")[0]
    assert "Alert #999 does not exist" in call.params["text"]
    assert call.params["user"] == ANALYST
    assert not harness.stub.calls_to("chat.update")
    assert harness.counts()[1] == 0


def test_done_when_admin_adds_name_and_next_poll_alerts(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance test: a Slack add makes the very next poll alert, without a restart."""
    ensure_cli_commands()
    monkeypatch.setenv("SLACK_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", harness.stub.base_url)
    feed = harness.tmp / "feed.xml"
    write_feed(feed, [("s1", "Ship spotted", SKY_TEXT)])
    argv = ["run", "--once", "--all-feeds", "--config", str(harness.config), "-q"]
    assert cli.main(argv) == 0
    assert not [m for m in harness.stub.calls_to("chat.postMessage") if "Sky" in str(m.params)]

    assert "Added *Sky Aries*" in harness.reply("add vessels Sky Aries")
    write_feed(feed, [("s1", "Ship spotted", SKY_TEXT), ("s2", "Ship seen again", SKY_TEXT)])
    later = feed.stat().st_mtime + 5  # a local feed's Last-Modified has 1 s resolution
    os.utime(feed, (later, later))
    assert cli.main(argv) == 0
    posted = [c for c in harness.stub.calls_to("chat.postMessage") if "Sky Aries" in str(c.params)]
    assert len(posted) == 1
    assert "dprk-russia-arms-transfer" in str(posted[0].params)
