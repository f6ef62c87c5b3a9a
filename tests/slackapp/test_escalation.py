"""Escalate reaches the escalation channel: a real signed click, the app, the outbox, the
stand-in Slack. The post names the story, its actors and who escalated it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.config.settings import load_settings
from sanctionwatch.errors import ConfigError
from tests.support.app_harness import ANALYST, deliver_alert, running_app, wait_for
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub

ESCALATIONS = "#escalations"


def _visible(message: dict) -> str:
    return str(message["blocks"]) + message["text"]


def test_escalate_posts_the_story_and_who_to_the_escalation_channel(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    extra = f'escalation_channel = "{ESCALATIONS}"\nescalation_mention = "<!subteam^S0DESK1>"\n'
    with running_app(tmp_path, slack_api, response_urls, slack_extra=extra) as harness:
        alert_id, ts = deliver_alert(harness)
        assert slack_api.channel_id(ESCALATIONS) is None  # nothing there before the click
        assert harness.click("review_true_match", str(alert_id), ANALYST, ts).status_code == 200
        harness.settle(1)
        assert slack_api.channel_id(ESCALATIONS) is None  # only Escalate posts there
        assert harness.click("review_escalate", str(alert_id), ANALYST, ts).status_code == 200
        harness.settle(2)
        wait_for(lambda: slack_api.channel_id(ESCALATIONS) is not None)
        (posted,) = slack_api.messages_in(ESCALATIONS)
        seen = _visible(posted)
        assert f"Escalated by <@{ANALYST}>" in seen  # who
        assert "North Korea" in seen and "Russia" in seen  # the actors
        assert "<!subteam^S0DESK1>" in seen  # the desk is pinged
        assert "HIGH" in seen or "CRITICAL" in seen  # the severity
        assert f"Alert #{alert_id}" in seen
        store = harness.store()
        rows = list(store.db.query("SELECT kind, status, ref FROM outbox WHERE kind='escalation'"))
        store.close()
        assert rows == [{"kind": "escalation", "status": "delivered", "ref": f"alert:{alert_id}"}]


def test_escalate_with_mention_only_goes_into_the_alert_thread(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    extra = 'escalation_mention = "<!subteam^S0DESK1>"\n'
    with running_app(tmp_path, slack_api, response_urls, slack_extra=extra) as harness:
        alert_id, ts = deliver_alert(harness)
        assert harness.click("review_escalate", str(alert_id), ANALYST, ts).status_code == 200
        harness.settle(1)
        wait_for(lambda: len(slack_api.thread_of("#sanctions-alerts", ts)) == 1)
        (reply,) = slack_api.thread_of("#sanctions-alerts", ts)
        assert "<!subteam^S0DESK1>" in _visible(reply) and f"<@{ANALYST}>" in _visible(reply)
        assert len(slack_api.top_level("#sanctions-alerts")) == 1


def test_escalate_without_a_target_posts_nothing(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls) as harness:
        alert_id, ts = deliver_alert(harness)
        assert harness.click("review_escalate", str(alert_id), ANALYST, ts).status_code == 200
        harness.settle(1)
        assert len(slack_api.calls_to("chat.postMessage")) == 1  # the alert itself only


@pytest.mark.parametrize("value", ["@desk", "S0DESK1", "<#C123>", ""])
def test_a_bad_escalation_mention_is_a_config_error(tmp_path: Path, value: str) -> None:
    cfg = tmp_path / "sw.toml"
    cfg.write_text(f'[slack]\nescalation_mention = "{value}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="escalation_mention"):
        load_settings(str(cfg), env={}, cwd=tmp_path)
