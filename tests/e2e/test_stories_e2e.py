"""One message per item and channel, and one top-level message per story (issue 11), end to
end: feeds over 127.0.0.1 → run --once → the Slack stand-in → the CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer
from tests.support.pipeline import ALERTING, QUIET, FeedItem, rss, run_cli, slack_env, write_config
from tests.support.slack_api import SlackApiStub

CHANNEL = "#sanctions-alerts"
SEED_TITLE = "Kim Jong Un to meet Putin in Russia to discuss weapons"
SEED_TEXT = (
    "North Korean leader Kim Jong Un will travel to Russia to meet President Vladimir Putin and"
    " discuss weapons supplies, US officials said. Russian Defence Minister Sergei Shoigu"
    " visited Pyongyang in July and was shown North Korean missiles. Washington says the DPRK"
    " has supplied munitions to Russia for the war in Ukraine. Kim Jong-un is expected to seek"
    " technology for satellites in return. The Wagner Group received North Korean arms"
    " deliveries last year, according to the White House. Kim Jong Un has not left the"
    " country since the pandemic. Officials said Kim Jong-un could travel by armoured train."
)
WIRE = (
    "North Korea has shipped about 6,700 containers of 152mm artillery shells and rockets to"
    " Russia since September, South Korea's defence minister said on Monday. Seoul says"
    " Pyongyang is being paid in food and raw materials, and that the munitions factories of"
    " the North are running at full capacity to meet Moscow's demand."
)
OTHER = ALERTING[1]  # Kim and Putin sign a pact: another story


def _visible(message: dict) -> str:
    """The text a reader sees: every block's text (not the fallback)."""
    parts = []
    for block in message["blocks"]:
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        for el in block.get("elements", []):
            if isinstance(el.get("text"), str):
                parts.append(el["text"])
            elif isinstance(el.get("text"), dict):
                parts.append(el["text"]["text"])
    return "\n".join(parts)


def _alert_rows(tmp_path: Path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "sw.db") as conn:
        return conn.execute(
            "SELECT id, item_id, channel, status, story_id, story_first, thread_of FROM alerts"
            " ORDER BY id"
        ).fetchall()


@pytest.fixture
def env(slack_api: SlackApiStub, monkeypatch: pytest.MonkeyPatch) -> SlackApiStub:
    slack_env(monkeypatch, slack_api.base_url)
    return slack_api


def test_seed_story_is_one_message_naming_every_actor(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    feed_server.add(
        "/seed.xml", body=rss([FeedItem(SEED_TITLE, SEED_TEXT, "https://n.example.org/seed")])
    )
    cfg = write_config(tmp_path, [("Wire", feed_server.url("/seed.xml"))])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    top = env.top_level(CHANNEL)
    assert len(top) == 1  # four rules fire; one message
    seen = _visible(top[0])
    for name in ("North Korea", "DPRK", "Kim Jong Un", "Putin", "Shoigu", "Wagner", "munitions"):
        assert name in seen, name
    assert "×" in seen and "(Kim Jong-un)" in seen  # counted, with the words as written
    assert "CRITICAL" in top[0]["blocks"][0]["text"]["text"]  # the highest severity
    assert "score 100" not in seen  # the trace is not in the message
    assert "*Kim Jong Un*" in seen.split("> ", 1)[1]  # the excerpt bolds the matched words
    fallback = top[0]["text"]
    assert "[CRITICAL]" in fallback and SEED_TITLE in fallback and "Sergei Shoigu" in fallback
    assert "Language: en" in seen


def test_a_20kb_report_gives_one_message(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    paragraphs = [SEED_TEXT, WIRE, ALERTING[2].description, OTHER.description]
    report = " ".join(paragraphs * 40)[:20_000]
    assert len(report) >= 19_000
    feed_server.add(
        "/r.xml", body=rss([FeedItem("Annual report on arms", report, "https://n.example.org/r")])
    )
    cfg = write_config(tmp_path, [("Think tank", feed_server.url("/r.xml"))])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert env.post_count(CHANNEL) == 1
    assert len(_alert_rows(tmp_path)) == 1


def test_same_wire_text_in_three_feeds_is_one_story_with_a_thread(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    heads = [
        "North Korea sent millions of shells to Russia, Seoul says",
        "Seoul: Pyongyang shipped 6,700 containers of munitions to Moscow",
        "DPRK artillery shells flow to Russia, South Korean minister says",
    ]
    for k, head in enumerate(heads):
        items = [FeedItem(head, WIRE + f" (Outlet {k} staff)", f"https://o{k}.example.org/s")]
        if k == 0:
            items.append(OTHER)  # a different story in the same run
        items += QUIET
        feed_server.add(f"/f{k}.xml", body=rss(items))
    feeds = [(f"Outlet {k}", feed_server.url(f"/f{k}.xml")) for k in range(3)]
    cfg = write_config(tmp_path, feeds)
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0

    top = env.top_level(CHANNEL)
    assert len(top) == 2  # the wire story and the other story
    wire_msg = next(m for m in top if any(h in m["text"] for h in heads))
    replies = env.thread_of(CHANNEL, wire_msg["ts"])
    assert len(replies) == 2
    reply_text = " ".join(_visible(r) for r in replies)
    assert sum(f"Outlet {k}" in reply_text for k in range(3)) == 2  # outlet, title, link
    assert "example.org/s" in reply_text
    assert "also reported by 2 outlets" in _visible(wire_msg)  # updated in place
    assert wire_msg.get("edited", 0) >= 1

    rows = _alert_rows(tmp_path)
    assert all(r[3] == "delivered" for r in rows)
    stories = {r[4] for r in rows}
    assert len(stories) == 2  # top-level messages = stories × channels
    # the CSV: one row per item and channel, grouped by story
    code, _ = run_cli(
        ["export", "--since", "2000-01-01", "--until", "2100-01-01", "--out",
         str(tmp_path / "x.csv"), "--config", str(cfg)]
    )  # fmt: skip
    assert code == 0
    table = list(csv.DictReader(io.StringIO((tmp_path / "x.csv").read_text("utf-8-sig"))))
    assert len(table) == len(rows) == 4
    assert list(table[0])[-4:] == ["story_id", "story_first", "story_sources", "disposition_reason"]
    wire_rows = [r for r in table if r["title"] in heads]
    assert len({r["story_id"] for r in wire_rows}) == 1
    assert sorted(r["story_first"] for r in wire_rows) == ["no", "no", "yes"]
    outlets = wire_rows[0]["story_sources"].split("; ")
    assert sorted(outlets) == ["Outlet 0", "Outlet 1", "Outlet 2"]

    # a second run posts nothing more
    before = len(env.messages)
    assert run_cli(["run", "--once", "--all-feeds", "--config", str(cfg)])[0] == 0
    assert len(env.messages) == before


def test_a_new_development_is_a_new_story(
    tmp_path: Path, feed_server: FeedServer, env: SlackApiStub
) -> None:
    """Same actors, but the text now has Wagner receiving the arms: other actors → new story."""
    later = WIRE + " The Wagner Group received part of the shipment in Mali."
    feed_server.add(
        "/a.xml",
        body=rss(
            [
                FeedItem("Shells to Russia", WIRE, "https://a.example.org/1"),
                FeedItem("Shells reach Wagner", later, "https://a.example.org/2"),
            ]
        ),
    )
    cfg = write_config(tmp_path, [("A", feed_server.url("/a.xml"))])
    assert run_cli(["run", "--once", "--config", str(cfg)])[0] == 0
    assert len(env.top_level(CHANNEL)) == 2
    assert len({r[4] for r in _alert_rows(tmp_path)}) == 2
