"""Digests (issue 11): a digest channel gets one message per UTC period listing its stories;
high severity still posts at once; a restart mid-period loses nothing; the digest passes
Block Kit (slack-sdk's models and the Slack stand-in) and the CSV is honest about it.

Real parts: feeds over HTTP on 127.0.0.1, a real SQLite file, the slack-sdk WebClient posting
to the Slack stand-in. Time is moved by passing ``now`` to ``run_cycle``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sanctionwatch.alerting import mutecommands
from sanctionwatch.alerting.digest import DigestPolicy, period_bounds
from sanctionwatch.alerting.exports import export_range
from sanctionwatch.alerting.pipeline import run_cycle
from sanctionwatch.cli.ops import status_report
from sanctionwatch.config.channels import ChannelSettings
from sanctionwatch.config.settings import Settings, load_settings
from sanctionwatch.errors import ConfigError
from sanctionwatch.models import Alert
from sanctionwatch.runtime import engine_getter, make_poster
from sanctionwatch.slack.blockkit import message_problems
from sanctionwatch.slack.digestformat import MAX_DIGEST_STORIES, DigestStory, format_digest
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.overlay import baseline_entries
from tests.support.feedserver import FeedServer
from tests.support.pipeline import TOKEN, FeedItem, rss, write_config
from tests.support.slack_api import SlackApiStub, block_errors

CHANNEL = "#sanctions-alerts"
# medium severity (arms-broker-activity / arms-dealer-trade): these wait for the digest
BOUT = FeedItem(
    "Viktor Bout is brokering a rifle sale to the Houthis",
    "Viktor Bout is brokering a sale of rifles and ammunition to the Houthis, officials say.",
    "https://n.example.org/bout",
)
DEALER = FeedItem(
    "Russian arms dealer charged over Houthi weapons",
    "A Russian arms dealer was charged with supplying weapons to the Houthis.",
    "https://n.example.org/dealer",
)
# high severity (dprk-russia-leader-meeting): posts at once even in a digest channel
PACT = FeedItem(
    "Kim Jong Un and Putin sign mutual defence pact in Pyongyang",
    "Russian President Vladimir Putin and North Korean leader Kim Jong-un signed a"
    " strategic partnership treaty pledging military assistance.",
    "https://n.example.org/pact",
)
DIGEST_CONFIG = f'[channels."{CHANNEL}"]\ndigest = "hourly"\n'


def _settings(tmp_path: Path, url: str, slack_api: SlackApiStub, extra: str) -> Settings:
    cfg = write_config(tmp_path, [("Wire", url)], extra=extra)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack_api.base_url}
    return load_settings(str(cfg), env=env, cwd=tmp_path)


def _cycle(settings: Settings, now: datetime) -> None:
    """One `run` cycle at ``now`` with a fresh store and poster (as after a restart)."""
    store = Store(settings.database)
    try:
        poster = make_poster(settings, io.StringIO())
        run_cycle(settings, store, engine_getter(settings, store), poster, now=now)
    finally:
        store.close()


def _text(message: dict) -> str:
    return str(message["blocks"]) + message["text"]


def test_digest_channel_gets_one_digest_per_period_high_severity_posts_at_once(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    url = feed_server.add("/f.xml", body=rss([BOUT, PACT]))
    settings = _settings(tmp_path, url, slack_api, DIGEST_CONFIG)
    start, _ = period_bounds("hourly", datetime.now(UTC) - timedelta(hours=2))
    t0 = start + timedelta(minutes=10)

    _cycle(settings, t0)  # BOUT waits for the 1st period's digest; PACT posts now
    (pact,) = slack_api.top_level(CHANNEL)
    assert "Kim Jong Un and Putin" in _text(pact) and "Digest" not in _text(pact)

    # restart mid-period: a new process, same database; nothing is due yet
    feed_server.add("/f.xml", body=rss([BOUT, PACT, DEALER]))
    _cycle(settings, t0 + timedelta(minutes=30))  # DEALER: recorded in the 1st period too
    assert len(slack_api.top_level(CHANNEL)) == 1
    store = Store(settings.database)
    report = status_report(store)
    store.close()
    assert report["alerts"]["in_digest"]["waiting"] == 2 and report["alerts"]["pending"] == 0
    assert report["ok"]  # waiting for a digest is by design, not a problem

    feed_server.add("/f.xml", body=rss([BOUT, PACT, DEALER, _late()]))
    _cycle(settings, t0 + timedelta(hours=1))  # the 1st digest; _late() joins the 2nd period
    _cycle(settings, t0 + timedelta(hours=2))  # the 2nd digest
    _cycle(settings, t0 + timedelta(hours=3))  # nothing left: no empty digest

    top = slack_api.top_level(CHANNEL)
    assert len(top) == 3, [m["text"][:80] for m in top]
    first, second = top[1], top[2]
    for digest in (first, second):
        assert digest["blocks"][0]["type"] == "header" and "Digest" in _text(digest)
        assert not block_errors(digest["blocks"])  # the stand-in's Block Kit checks
        assert not message_problems(digest["text"], digest["blocks"])  # slack-sdk models
    assert "Viktor Bout" in _text(first) and "arms dealer charged" in _text(first)
    assert "2 stories" in _text(first) and "MEDIUM" in _text(first)
    assert "Kim Jong Un and Putin" not in _text(first)  # it posted on its own
    assert "Late" in _text(second) and BOUT.title not in _text(second)
    assert "1 story" in _text(second) and "Late" not in _text(first)
    meta = [c.params.get("metadata") for c in slack_api.calls_to("chat.postMessage")]
    assert sum("sanctionwatch_notice" in str(m) for m in meta) == 2  # exactly once each

    store = Store(settings.database)
    try:
        rows = _csv(settings, store, t0)
        assert (
            store.db.execute("SELECT count(*) FROM alerts WHERE status = 'digest'").fetchone()[0]
            == 0
        )
    finally:
        store.close()
    delivered = {r["title"][:20]: r["delivered"] for r in rows}
    assert delivered == {
        BOUT.title[:20]: "digest",
        DEALER.title[:20]: "digest",
        PACT.title[:20]: "yes",
        _late().title[:20]: "digest",
    }


def _late() -> FeedItem:
    return FeedItem(
        "Late: Viktor Bout sold rifles to Houthis",
        "Arms dealer Viktor Bout sold rifles to the Houthis in Yemen, a report said.",
        "https://n.example.org/late",
    )


def _csv(settings: Settings, store: Store, t0: datetime) -> list[dict[str, str]]:
    path, _ = export_range(settings, store, t0 - timedelta(days=1), t0 + timedelta(days=1))
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_digest_lists_the_top_stories_and_says_how_many_more(tmp_path: Path) -> None:
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    stories = [
        DigestStory(
            story_id=n,
            severity="medium",
            title=f"Story <{n}> & " + "x" * 600,
            link=f"https://n.example.org/{n}",
            actors=tuple(f"Actor {k} <@U1>" for k in range(12)),
            outlets=n % 4 + 1,
            rules=("arms-broker-activity",),
            alert_ids=tuple(range(n * 20, n * 20 + 15)),
        )
        for n in range(MAX_DIGEST_STORIES + 7)
    ]
    text, blocks = format_digest(CHANNEL, "hourly", start, start + timedelta(hours=1), stories, "t")
    assert not message_problems(text, blocks) and not block_errors(blocks)
    shown = str(blocks)
    assert f"Story &lt;{MAX_DIGEST_STORIES - 1}&gt;" in shown
    assert f"Story &lt;{MAX_DIGEST_STORIES}&gt;" not in shown
    assert "and 7 more stories" in shown and "--since 2026-12-01 --until 2026-12-02" in shown
    assert "<@U1>" not in shown  # watchlist text is escaped


def test_policy_rule_digest_threshold_and_none() -> None:
    def alert(severity: str, digest: str | None = None) -> Alert:
        return Alert("r", severity, CHANNEL, digest=digest)

    policy = DigestPolicy((ChannelSettings(CHANNEL.upper(), "daily", "high"),))
    assert policy.period_for(CHANNEL, [alert("medium")]) == "daily"
    assert policy.period_for(CHANNEL, [alert("high")]) is None  # high stays immediate
    assert policy.period_for(CHANNEL, [alert("medium", "hourly")]) == "hourly"  # rule wins
    assert policy.period_for("#other", [alert("low")]) is None
    assert policy.period_for("#other", [alert("low", "daily")]) == "daily"
    assert policy.period_for("#other", [alert("low", "daily"), alert("low")]) is None
    everything = DigestPolicy((ChannelSettings(CHANNEL, "hourly", "none"),))
    assert everything.period_for(CHANNEL, [alert("critical")]) == "hourly"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('digest = "dayly"', 'channels."#desk".digest'),
        ('digest_immediate_from = "urgent"', 'channels."#desk".digest_immediate_from'),
        ("digets = 1", 'channels."#desk".digets'),
    ],
)
def test_bad_channel_settings_name_the_key(tmp_path: Path, table: str, key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[channels."#desk"]\n{table}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg), env={}, cwd=tmp_path)
    assert key in err.value.message and str(cfg) in err.value.message


def test_a_digest_slack_refuses_is_retried_once_and_a_crash_after_posting_is_repaired(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    url = feed_server.add("/f.xml", body=rss([BOUT]))
    settings = _settings(tmp_path, url, slack_api, DIGEST_CONFIG)
    start, end = period_bounds("hourly", datetime.now(UTC) - timedelta(hours=1))
    _cycle(settings, start + timedelta(minutes=5))
    # a Retry-After beyond [slack] retry_after_cap_s: the digest waits in the outbox
    slack_api.fail_next("chat.postMessage", status=429, retry_after=120)
    _cycle(settings, end + timedelta(minutes=1))  # queued; Slack refuses for now
    store = Store(settings.database)
    try:
        assert store.db.execute("SELECT status FROM alerts").fetchone()[0] == "digest"
        assert (
            store.db.execute("SELECT status FROM outbox WHERE kind = 'digest'").fetchone()[0]
            == "retrying"
        )
        assert _csv(settings, store, start)[0]["delivered"] == "no"  # not delivered yet
    finally:
        store.close()
    later = datetime.now(UTC) + timedelta(hours=1)  # past the Retry-After
    _cycle(settings, later)
    assert len(slack_api.top_level(CHANNEL)) == 1  # posted once, after the retry

    store = Store(settings.database)  # as if the process died between post and bookkeeping
    try:
        store.db.execute("UPDATE alerts SET status = 'digest'")
        _cycle(settings, later + timedelta(minutes=15))
        assert store.db.execute("SELECT status FROM alerts").fetchone()[0] == "delivered"
    finally:
        store.close()
    assert len(slack_api.top_level(CHANNEL)) == 1  # repaired, not posted again


def test_a_mute_set_while_an_alert_waits_keeps_it_out_of_the_digest(
    tmp_path: Path, feed_server: FeedServer, slack_api: SlackApiStub
) -> None:
    """A mute made mid-period applies to what waits for the digest, as it would have at
    record time: the muted story is recorded suppressed with why, the other is listed."""
    url = feed_server.add("/f.xml", body=rss([BOUT, DEALER]))
    settings = _settings(tmp_path, url, slack_api, DIGEST_CONFIG)
    start, _ = period_bounds("hourly", datetime.now(UTC) - timedelta(hours=2))
    t0 = start + timedelta(minutes=10)
    _cycle(settings, t0)  # both wait for the digest
    assert slack_api.top_level(CHANNEL) == []

    store = Store(settings.database)
    try:
        entries = baseline_entries(settings.watchlists, store.db)
        made = mutecommands.mute(
            store, entries, [], Actor("ops", "ops", "cli"), "Viktor Bout 7d not ours", t0
        )
        assert isinstance(made, mutecommands.Muted), made
    finally:
        store.close()

    _cycle(settings, t0 + timedelta(hours=1))  # the period's digest
    (digest,) = slack_api.top_level(CHANNEL)
    assert "arms dealer charged" in _text(digest) and "Viktor Bout" not in _text(digest)
    assert "1 story" in _text(digest)
    store = Store(settings.database)
    try:
        rows = {r["title"]: r for r in _csv(settings, store, t0)}
        recorded = store.db.execute(
            "SELECT a.status, a.suppressed FROM alerts a JOIN items i ON i.item_id = a.item_id"
            " WHERE i.title = ?",
            [BOUT.title],
        ).fetchall()
    finally:
        store.close()
    assert rows[BOUT.title]["delivered"] == "no"  # recorded, exported, not posted
    assert rows[DEALER.title]["delivered"] == "digest"
    assert [(s, "muted" in w and "Bout" in w) for s, w in recorded] == [("suppressed", True)]
