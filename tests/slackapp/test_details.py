"""The "Details" button (issue 11): the trace of scores and clauses is not in the message; a
real signed click is acked, then the trace goes to the clicker alone (chat.postEphemeral),
escaped and within Block Kit's limits, long traces split or cut."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sanctionwatch.clock import utcnow
from sanctionwatch.slack.blockkit import MAX_BLOCKS, MAX_SECTION_TEXT, message_problems, slack_len
from sanctionwatch.slack.format import AlertView
from sanctionwatch.slack.storyformat import DETAILS_ACTION, format_details, trace_sections
from tests.support.app_harness import ANALYST, deliver_alert, running_app, wait_for
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub, block_errors
from tests.support.slack_signing import action_body, signed_headers


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def test_details_click_posts_the_trace_to_the_clicker_only(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    slack_api.add_user(ANALYST, "bob")
    with running_app(tmp_path, slack_api, response_urls) as harness:
        alert_id, ts = deliver_alert(harness)
        (message,) = slack_api.top_level("#sanctions-alerts")
        buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [e["action_id"] for e in buttons][-1] == DETAILS_ACTION
        assert "score" not in str(message["blocks"])  # the trace is not in the message
        posts_before = len(slack_api.calls_to("chat.postMessage"))

        response = harness.click(DETAILS_ACTION, str(alert_id), ANALYST, ts)
        assert response.status_code == 200  # acked
        harness.settle(1)
        wait_for(lambda: bool(slack_api.calls_to("chat.postEphemeral")))
        (shown,) = slack_api.calls_to("chat.postEphemeral")
        assert shown.params["user"] == ANALYST  # to the clicker alone
        blocks = _blocks(shown.params)
        text = str(blocks)
        assert f"Details of alert #{alert_id}" in text
        assert "fired on" in text or "matched" in text  # the clause trace
        assert "Scores:" in text
        assert not block_errors(blocks) and not message_problems(shown.params["text"], blocks)
        assert len(slack_api.calls_to("chat.postMessage")) == posts_before  # nothing public
        assert not slack_api.thread_of("#sanctions-alerts", ts)

        # a replay of one signed click (the same bytes twice) is acked and answered once
        body = action_body(DETAILS_ACTION, str(alert_id), ANALYST, message_ts=ts)
        headers = signed_headers(body)
        for _ in range(2):
            assert harness.http.post(harness.url, content=body, headers=headers).status_code == 200
        harness.settle(3)
        wait_for(lambda: len(slack_api.calls_to("chat.postEphemeral")) >= 2)
        assert len(slack_api.calls_to("chat.postEphemeral")) == 2


def test_long_traces_are_split_escaped_and_cut_within_limits() -> None:
    line = "any[2]: matched 'Russia' (Russia, text, score 100) <@U123> & <!channel>"
    trace = "\n".join(f"{n}: {line}" for n in range(3000))  # ~250 kB
    parts = trace_sections(trace)
    assert all(slack_len(p) <= MAX_SECTION_TEXT for p in parts) and len(parts) > MAX_BLOCKS
    assert "<@U123>" not in parts[0] and "&lt;@U123&gt;" in parts[0]
    assert parts[0].startswith("0: ") and "\n1: " in parts[0]  # split at line ends

    view = AlertView(
        alert_id=7,
        rule="r",
        severity="high",
        channel="#c",
        title="t",
        link=None,
        feed="f",
        published_at=None,
        detected_at=utcnow(),
        matches=(),
    )
    text, blocks = format_details(view, [trace, "one " + "x" * 5000])
    assert not message_problems(text, blocks) and not block_errors(blocks)
    assert len(blocks) <= MAX_BLOCKS
    assert "bot.py match" in str(blocks[-1])  # says where the whole trace is
    short_text, short = format_details(view, ["all[1]: matched 'Kim Jong Un'"])
    assert len(short) == 2 and "more part" not in str(short)
