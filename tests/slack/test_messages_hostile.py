"""Every message the bot sends is one Slack accepts, whatever the feed or the list contains.

Property tests drive each formatter with hostile inputs and check the output against
``blockkit.problems``, slack-sdk's models, and the Slack stand-in's own independent rules; the
end-to-end tests send the result through the real slack-sdk client to the stand-in, which
refuses what Slack refuses (shown first, so a pass means something).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sanctionwatch.alerting.designations import designation_message
from sanctionwatch.alerting.jobs import notify_ops
from sanctionwatch.config.settings import load_settings
from sanctionwatch.models import Entry, Match
from sanctionwatch.slack.blockkit import MAX_FALLBACK_TEXT, MAX_SECTION_TEXT, problems, slack_len
from sanctionwatch.slack.format import (
    AlertView,
    escape,
    escape_fit,
    format_alert,
    format_alert_reduced,
)
from sanctionwatch.slack.poster import SlackDeliveryError, SlackPoster
from sanctionwatch.slackapp.review import apply_review
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from sanctionwatch.watchlists.importers import ImportReport
from tests.support.factories import make_match
from tests.support.pipeline import write_config
from tests.support.slack_api import TEST_TOKEN, SlackApiStub, block_errors

PROPERTY = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DETECTED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
# The input that broke delivery: a 2,000-character tracking URL with 300 "&" and a 500-character
# headline; escaped, the old title section was 3,705 characters.
BUG_URL = ("https://news.example.org/a?" + "u=1&" * 300).ljust(2000, "x")
BUG_TITLE = ("North Korea ships shells to Russia " * 20)[:500]
PIECES = [
    "&",
    "<",
    ">",
    "&amp;",
    "<!channel>",
    "<@U0ANALYST1>",
    "<http://evil|click>",
    "*_~`",
    "😀",
    "👩‍👩‍👧‍👦",
    "🇰🇵",
    "👍🏽",
    "e\u0301",
    "z\u0336\u0336\u0336",
    "\u202e",  # right-to-left override
    "\u200b",
    "مرحبا",
    "שלום",
    "김정은",
    "Ким Чен Ын",
    "\n",
    " ",
    "\udc80",  # a lone surrogate (undecodable byte smuggled through)
    "\x00\x1b[31m",
]


def hostile(max_pieces: int = 60) -> st.SearchStrategy[str]:
    """Text built from the pieces above, random text, or one piece repeated thousands of
    times (a 5,000-character headline of "&", a 100,000-character explanation)."""
    return st.one_of(
        st.just(""),
        st.text(max_size=80),
        st.lists(st.sampled_from(PIECES), max_size=max_pieces).map("".join),
        st.tuples(st.sampled_from(PIECES), st.integers(1, 6000)).map(lambda t: t[0] * t[1]),
    )


LINKS = st.one_of(
    st.none(),
    st.just(BUG_URL),
    st.integers(0, 500).map(lambda n: ("https://example.org/?" + "a&" * n)[:2000]),
    st.integers(0, 2000).map(lambda n: "https://example.org/" + "p" * n),
    hostile(10).map(lambda t: "https://example.org/" + t),
    st.sampled_from(["javascript:alert(1)", "https://evil|<!channel>", "", "ftp://x"]),
)


@st.composite
def matches(draw: st.DrawFn) -> Match:
    text = draw(hostile(10))
    return Match(
        entity_id=draw(hostile(5)),
        entity=draw(hostile(20)),
        watchlist=draw(hostile(5)),
        alias=draw(hostile(10)),
        text=text,
        field=draw(st.sampled_from(["title", "text"])),
        start=0,
        end=len(text),
        score=draw(st.floats(0, 100)),
        detail=draw(hostile(10)),
    )


@st.composite
def views(draw: st.DrawFn) -> AlertView:
    return AlertView(
        alert_id=draw(st.integers(1, 10**12)),
        rule=draw(hostile(10)),
        severity=draw(st.one_of(st.sampled_from(["low", "critical"]), hostile(5))),
        channel="#sanctions-alerts",
        title=draw(hostile()),
        link=draw(LINKS),
        feed=draw(hostile(10)),
        published_at=draw(st.one_of(st.none(), st.just(DETECTED))),
        detected_at=DETECTED,
        matches=tuple(draw(st.lists(matches(), max_size=30))),
        explanation=draw(hostile()),
        disposition=draw(st.one_of(st.none(), st.just("true_match"), hostile(5))),
        disposition_by=draw(st.one_of(st.none(), st.just("U0ANALYST1"), hostile(10))),
        disposition_at=draw(st.one_of(st.none(), st.just(DETECTED))),
    )


def mrkdwn_texts(node: object) -> Iterator[str]:
    """Every mrkdwn text in the blocks (plain_text shows "<!channel>" as it is: harmless)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from mrkdwn_texts(value)


@contextmanager
def no_clamping() -> Iterator[None]:
    """Fail if a formatter relied on blockkit's last-resort clamp: its own budget must hold."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("sanctionwatch.slack.blockkit")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not records, [r.getMessage() for r in records]


def assert_accepted(text: str, blocks: list[dict]) -> None:
    assert problems(blocks) == []
    assert block_errors(blocks) == []  # the stand-in's independent rules (slack-sdk + limits)
    assert text.strip() and slack_len(text) <= MAX_FALLBACK_TEXT
    for t in [text, *mrkdwn_texts(blocks)]:
        assert "<!" not in t and "<http://evil" not in t, t  # nothing hostile became markup


# ------------------------------------------------------------------ properties
@PROPERTY
@given(views())
def test_every_alert_is_accepted(view: AlertView) -> None:
    with no_clamping():
        text, blocks = format_alert(view)
    assert_accepted(text, blocks)
    assert blocks[-1]["block_id"] == f"review:{view.alert_id}"  # review buttons always there


@PROPERTY
@given(views())
def test_every_reduced_alert_is_accepted(view: AlertView) -> None:
    with no_clamping():
        text, blocks = format_alert_reduced(view)
    assert_accepted(text, blocks)
    assert blocks[-1]["type"] == "actions"


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    return Entry(
        id="x:1",
        name=draw(hostile(20)),
        type=draw(st.one_of(st.just("person"), hostile(3))),
        list="x",
        programs=tuple(draw(st.lists(hostile(5), max_size=5))),
        source_id=draw(hostile(5)),
    )


@PROPERTY
@given(
    st.lists(entries(), min_size=1, max_size=40),
    st.integers(0, 2000),
    hostile(10),
    hostile(10),
)
def test_every_designation_message_is_accepted(
    added: list[Entry], repeat: int, list_name: str, source_file: str
) -> None:
    report = ImportReport(
        list_name=list_name,
        fmt="ofac-sdn",
        source_file=source_file,
        total=10**6,
        added=added * max(1, repeat // 40),
        removed=added,
        changed=[],
        imported_at=DETECTED,
    )
    message = designation_message(report, first_import=False)
    assert message is not None
    assert_accepted(*message)


# ------------------------------------------------------------------ the bug and its limits
def test_bug_long_ampersand_url_beside_long_title() -> None:
    assert len(BUG_URL) == 2000 and BUG_URL.count("&") == 300
    old_section = f"*<{escape(BUG_URL)}|{escape_fit(BUG_TITLE, 500)}>*"
    assert len(old_section) > MAX_SECTION_TEXT  # what Slack refused
    view = AlertView(42, "r", "high", "#a", BUG_TITLE, BUG_URL, "f", None, DETECTED, ())
    with no_clamping():
        text, blocks = format_alert(view)
    assert_accepted(text, blocks)
    title = blocks[1]["text"]["text"]
    assert BUG_TITLE[:200] in title  # the headline is still shown …
    assert "<https://" not in title and "link too long" in title  # … unlinked, and says why


def test_long_link_keeps_the_link_and_shortens_the_title() -> None:
    url = ("https://example.org/?" + "a&" * 200).ljust(1900, "x")  # escaped: 2,700
    view = AlertView(7, "r", "high", "#a", BUG_TITLE, url, "f", None, DETECTED, ())
    _, blocks = format_alert(view)
    title = blocks[1]["text"]["text"]
    assert title.startswith(f"*<{escape(url)}|North Korea ships")
    assert title.endswith("…>*") and len(title) <= MAX_SECTION_TEXT


def test_thousand_matches_are_packed_and_counted() -> None:
    many = tuple(
        make_match(
            f"Entity {i} " + "&<>" * 40,
            "text",
            entity_id=f"id{i}",
            watchlist="wl",
            alias="alias",
            score=99.0,
            detail="",
        )
        for i in range(1000)
    )
    view = AlertView(9, "r", "critical", "#a", "t", None, "f", None, DETECTED, many, "why " * 5000)
    with no_clamping():
        text, blocks = format_alert(view)
    assert_accepted(text, blocks)
    assert len(blocks) == 50
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    shown = sum(s.count("\n• ") + s.startswith("• ") for s in sections)
    more = int(sections[-1].rsplit(" and ", 1)[1].split()[0])
    assert shown + more == 1000  # every match is either shown or counted


# ------------------------------------------------------------------ the stand-in refuses
def test_stand_in_refuses_what_slack_refuses(slack_api: SlackApiStub) -> None:
    client = WebClient(token=TEST_TOKEN, base_url=slack_api.base_url)
    too_long = f"*<{escape(BUG_URL)}|{escape_fit(BUG_TITLE, 500)}>*"
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(
            channel="#sanctions-alerts",
            text="t",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": too_long}}],
        )
    body = info.value.response.data
    assert isinstance(body, dict) and body["error"] == "invalid_blocks"
    assert body["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    for blocks, pointer in [
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0"),
        ([{"type": "divider"}] * 51, "/blocks]"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/blocks/0"),
    ]:
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel="#sanctions-alerts", text="t", blocks=blocks)
        assert info.value.response["error"] == "invalid_blocks"
        assert pointer in info.value.response["errors"][0]
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="#sanctions-alerts", text="x" * 40_001)
    assert info.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="#sanctions-alerts", text="")
    assert info.value.response["error"] == "no_text"
    assert slack_api.messages == {}  # nothing refused was stored

    ts = client.chat_postMessage(channel="C0ALERTS01", text="ok")["ts"]
    with pytest.raises(SlackApiError) as info:
        client.chat_update(channel="C0ALERTS01", ts=ts, text="t", blocks=[{"type": "x"}])
    assert info.value.response["error"] == "invalid_blocks"
    assert slack_api.messages[("C0ALERTS01", ts)]["text"] == "ok"  # left unchanged


def test_refusal_reaches_the_poster_as_permanent_invalid_blocks(slack_api: SlackApiStub) -> None:
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    with pytest.raises(SlackDeliveryError) as info:
        poster.post("#sanctions-alerts", "t", [{"type": "section", "text": {"type": "mrkdwn"}}])
    assert info.value.error == "invalid_blocks" and not info.value.retryable


# ------------------------------------------------------------------ end to end
def test_hostile_alert_is_posted_and_its_review_update_accepted(
    tmp_path: Path, slack_api: SlackApiStub
) -> None:
    store = Store(tmp_path / "sw.db")
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    title = "<!channel> Wagner & Rosoboronexport 🇷🇺 " + "&<>" * 400 + "\u202eشحنات e\u0301"
    with store.transaction() as db:
        db.execute(
            "INSERT INTO items (item_id, feed, title, link) VALUES ('i1', ?, ?, ?)",
            ["<feed> & " * 300, title, BUG_URL],
        )
        alert = db.execute(
            "INSERT INTO alerts (item_id, rule, severity, channel, explanation, matches, status,"
            " created_at) VALUES ('i1', 'r', 'critical', '#sanctions-alerts', ?, '[]', 'pending',"
            " '2026-01-05T10:00:00+00:00')",
            ["all: " + "&" * 5000],
        ).lastrowid
    assert alert is not None
    view = AlertView(alert, "r", "critical", "#a", title, BUG_URL, "f", None, DETECTED, ())
    ts = poster.post("#sanctions-alerts", *format_alert(view))
    with store.transaction() as db:
        db.execute(
            "UPDATE alerts SET status = 'delivered', slack_channel = ?, slack_ts = ? WHERE id = ?",
            ["#sanctions-alerts", ts, alert],
        )
    result = apply_review(
        store, poster, "review_true_match", str(alert), Actor("U0ANALYST1", "<!here> " * 400)
    )
    assert result.message_updated, result.update_error
    message = slack_api.messages[("C0ALERTS01", ts)]
    assert message["edited"] == 1
    assert problems(message["blocks"]) == []
    assert "True match — by <@U0ANALYST1>" in str(message["blocks"])


def test_ops_notice_with_a_huge_error_is_posted(tmp_path: Path, slack_api: SlackApiStub) -> None:
    name = "Feed <&> " * 100
    cfg = write_config(tmp_path, [(name, "https://example.org/rss")])
    config = load_settings(str(cfg), env={})
    store = Store(config.database)
    store.sync_feeds([(name, "https://example.org/rss")])
    store.update_feed(name, consecutive_failures=99, last_error="<html>&nbsp;" * 20_000)
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    assert notify_ops(config, store, poster) == 1
    (posted,) = slack_api.messages_in("#ops")
    assert 0 < slack_len(posted["text"]) <= MAX_FALLBACK_TEXT
    assert "has failed 99 polls in a row" in posted["text"] and "&lt;html&gt;" in posted["text"]


def test_designations_with_absurd_names_are_posted(slack_api: SlackApiStub) -> None:
    added = [
        Entry(id=f"o:{i}", name="<!channel> &" * 300, type="person", list="o", programs=("X",))
        for i in range(1000)
    ]
    report = ImportReport("o" * 5000, "ofac-sdn", "/" * 9000, 10**6, added, [], [], DETECTED)
    message = designation_message(report, first_import=False)
    assert message is not None
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    poster.post("#sanctions-alerts", *message)
    (posted,) = slack_api.messages_in("#sanctions-alerts")
    assert problems(posted["blocks"]) == [] and "1,000 new designation(s)" in posted["text"]
