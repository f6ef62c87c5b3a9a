"""``bot.py story ID`` and ``/watchlist story ID`` (issue 11): one explanation, rendered for
the terminal and for Slack, on a real run where two outlets carry one wire story and a third
item is another story. Real signed slash commands, the Slack stand-in, a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.app_harness import ANALYST, deliver_alert, running_app, write_feed
from tests.support.pipeline import run_cli
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub

WIRE = (
    "North Korea has shipped about 6,700 containers of 152mm artillery shells and rockets to"
    " Russia since September, South Korea's defence minister said on Monday. Seoul says"
    " Pyongyang is being paid in food and raw materials, and that the munitions factories of"
    " the North are running at full capacity to meet Moscow's demand."
)
PACT = (
    "Kim Jong Un and Putin sign mutual defence pact in Pyongyang",
    "Russian President Vladimir Putin and North Korean leader Kim Jong-un signed a strategic"
    " partnership treaty pledging military assistance.",
)


def test_story_explains_joined_copies_and_new_stories_in_terminal_and_slack(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    write_feed(
        tmp_path / "b.xml",
        [("b1", "Shells & shells for Moscow", WIRE + " (Outlet B staff)"), ("b2", *PACT)],
    )
    feeds = '[[feeds]]\nname = "Outlet B"\nurl = "b.xml"\n'
    with running_app(tmp_path, slack_api, response_urls, config_extra=feeds) as harness:
        write_feed(tmp_path / "feed.xml", [("a1", "Arms", WIRE)])  # the harness's own feed
        deliver_alert(harness)
        store = harness.store()
        rows = store.db.execute(
            "SELECT a.id, a.story_id, a.thread_of, i.feed, i.title FROM alerts a"
            " JOIN items i ON i.item_id = a.item_id ORDER BY a.id"
        ).fetchall()
        store.close()
        by_title = {r[4]: r for r in rows}
        pair = [by_title["Arms"], by_title["Shells & shells for Moscow"]]
        first, copy = sorted(pair, key=lambda r: r[2] is not None)  # feeds poll in any order
        pact = by_title[PACT[0]]
        assert copy[1] == first[1] and copy[2] == first[0]  # one story, the copy in its thread
        assert pact[1] != first[1]

        # Slack: anyone may ask (ANALYST is no admin); asked by the copy's alert number
        reply = harness.reply(f"story #{copy[0]}", user=ANALYST)
        assert f"*Story {first[1]}:*" in reply
        assert reply.index(f"[{first[3]}]") < reply.index(f"[{copy[3]}]")  # both, first first
        assert (
            "Shells &amp; shells for Moscow" in reply and "Shells & shells" not in reply
        )  # escaped
        assert "joined: same text: MinHash similarity" in reply and "threshold 0.5" in reply
        assert "within 72 h" in reply and "← asked about" in reply
        assert f"alert #{first[0]} in #sanctions-alerts: message" in reply
        assert f"alert #{copy[0]} in #sanctions-alerts: thread copy" in reply

        # why the pact started a story of its own
        other = harness.reply(f"story {pact[0]}", user=ANALYST)
        assert "Why the first item started a new story" in other
        assert f"not story {first[1]}" in other and "other rules fired" in other
        assert ":warning: no alert #999" in harness.reply("story 999", user=ANALYST)

        # the terminal: the same explanation, as text and as JSON
        cfg = str(harness.config)
        code, text = run_cli(["story", f"story:{first[1]}", "--config", cfg])
        assert code == 0
        assert f"story {first[1]}: {first[4]}" in text and f"[{copy[3]}] {copy[4]}" in text
        assert "started the story" in text and "joined: same text" in text
        code, out = run_cli(["story", str(copy[0]), "--json", "--config", cfg])
        data = json.loads(out)
        assert code == 0 and data["story_id"] == first[1]
        assert [i["feed"] for i in data["items"]] == [first[3], copy[3]]
        assert data["items"][0]["first"] and not data["items"][1]["first"]
        assert data["items"][1]["text_similarity"] >= data["same_text_min_similarity"] == 0.5
        assert data["items"][1]["posted"][0]["how"] == "thread copy"
        assert data["window_hours"] == 72 and data["asked_item"] == data["items"][1]["item_id"]
        assert run_cli(["story", "nonsense!", "--config", cfg])[0] == 1
