"""Stories are judged from a digest: each story's menu records the decision like the alert
buttons do (who, when, audited, in the CSV), and the digest is updated in place with the
decision under that story; a reason given in the modal shows there too. Real signed
requests to the app behind waitress, the slack-sdk client against the Slack stand-in."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sanctionwatch.alerting.delivery import deliver_all
from sanctionwatch.alerting.jobs import once
from sanctionwatch.clock import utcnow
from sanctionwatch.runtime import engine_getter
from sanctionwatch.slack.blockkit import message_problems
from sanctionwatch.slack.digestformat import DIGEST_REVIEW_ACTION, story_alerts
from sanctionwatch.slack.poster import SlackPoster
from sanctionwatch.slack.reviewformat import REASON_ACTION, REASON_BLOCK, REASON_CALLBACK
from tests.support.app_harness import ANALYST, REVIEWER, Harness, running_app, wait_for
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import TEST_TOKEN, SlackApiStub, block_errors
from tests.support.slack_signing import (
    CHANNEL_ID,
    action_body,
    signed_headers,
    view_submission_body,
)

# every alert of the default channel waits for its hourly digest, whatever its severity
DIGEST_ALL = '[channels."#sanctions-alerts"]\ndigest = "hourly"\ndigest_immediate_from = "none"\n'


def _deliver_digest(harness: Harness) -> tuple[int, str]:
    """Poll once (the alert waits), then deliver the digest as after its hour: (alert, ts)."""
    store = harness.store()
    try:
        poster = SlackPoster(TEST_TOKEN, harness.stub.base_url, max_retries=0)
        once(harness.settings, store, engine_getter(harness.settings, store), poster)
        (alert_id,) = [
            r[0] for r in store.db.execute("SELECT id FROM alerts WHERE status = 'digest'")
        ]
        report = deliver_all(store, poster, now=utcnow() + timedelta(hours=2))
        assert report.delivered == 1
        (ts,) = store.db.execute("SELECT slack_ts FROM outbox WHERE kind = 'digest'").fetchone()
        return int(alert_id), str(ts)
    finally:
        store.close()


def _choose(harness: Harness, choice: str, user: str, ts: str) -> int:
    body = action_body(DIGEST_REVIEW_ACTION, choice, user, message_ts=ts, menu=True)
    return harness.http.post(harness.url, content=body, headers=signed_headers(body)).status_code


def _digest(slack_api: SlackApiStub, ts: str) -> dict[str, Any]:
    return slack_api.messages[(CHANNEL_ID, ts)]


def _story_text(message: dict[str, Any], alert_id: int) -> str:
    (block,) = [b for b in message["blocks"] if b.get("block_id") == f"digest-story:{alert_id}"]
    return str(block["text"]["text"])


def test_a_story_judged_from_the_digest_is_recorded_and_shown_under_it(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls, config_extra=DIGEST_ALL) as harness:
        alert_id, ts = _deliver_digest(harness)
        posted = _digest(slack_api, ts)
        assert story_alerts(posted["blocks"]) == [alert_id]
        (menu,) = [b["accessory"] for b in posted["blocks"] if "accessory" in b]
        assert menu["type"] == "overflow" and menu["action_id"] == DIGEST_REVIEW_ACTION
        assert [o["value"] for o in menu["options"]] == [
            f"review_true_match:{alert_id}",
            f"review_false_positive:{alert_id}",
            f"review_escalate:{alert_id}",
        ]
        before = _story_text(posted, alert_id)

        assert _choose(harness, f"review_false_positive:{alert_id}", ANALYST, ts) == 200
        harness.settle(1)
        store = harness.store()
        try:
            row = store.db.execute(
                "SELECT disposition, disposition_by FROM alerts WHERE id = ?", [alert_id]
            ).fetchone()
            audited = store.db.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'alert.disposition'"
            ).fetchone()[0]
        finally:
            store.close()
        assert row[0] == "false_positive" and audited == 1
        wait_for(lambda: "False positive" in _story_text(_digest(slack_api, ts), alert_id))
        updated = _digest(slack_api, ts)
        assert _story_text(updated, alert_id).startswith(before)  # the story line is kept
        assert f"False positive — by <@{ANALYST}> at " in _story_text(updated, alert_id)
        assert updated["blocks"][0] == posted["blocks"][0]  # the header is untouched
        assert not block_errors(updated["blocks"])
        assert not message_problems(updated["text"], updated["blocks"])

        # a reason from the modal the choice opened shows under the story as well
        (view,) = slack_api.views.values()
        assert view["callback_id"] == REASON_CALLBACK
        assert f'"alert_id": {alert_id}' in view["private_metadata"]
        values = {
            REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": "sports <b>"}}
        }
        body = view_submission_body(REASON_CALLBACK, view["private_metadata"], values, ANALYST)
        assert harness.http.post(harness.url, content=body, headers=signed_headers(body)).is_success
        harness.settle(2)
        wait_for(lambda: "sports" in _story_text(_digest(slack_api, ts), alert_id))
        shown = _story_text(_digest(slack_api, ts), alert_id)
        assert "sports &lt;b&gt;" in shown and shown.count("False positive") == 1


def test_a_digest_choice_by_a_non_reviewer_records_nothing(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    extra = f'reviewers = ["{REVIEWER}"]\n'
    with running_app(
        tmp_path, slack_api, response_urls, slack_extra=extra, config_extra=DIGEST_ALL
    ) as harness:
        alert_id, ts = _deliver_digest(harness)
        posted = json.dumps(_digest(slack_api, ts)["blocks"])
        assert _choose(harness, f"review_true_match:{alert_id}", ANALYST, ts) == 200
        harness.settle(1)
        wait_for(lambda: bool(slack_api.calls_to("chat.postEphemeral")))
        store = harness.store()
        try:
            row = store.db.execute(
                "SELECT disposition FROM alerts WHERE id = ?", [alert_id]
            ).fetchone()
        finally:
            store.close()
        assert row[0] is None
        assert json.dumps(_digest(slack_api, ts)["blocks"]) == posted  # not updated
        assert not slack_api.calls_to("chat.update")
        # a reviewer's choice is recorded and shown
        assert _choose(harness, f"review_true_match:{alert_id}", REVIEWER, ts) == 200
        harness.settle(2)
        wait_for(lambda: "True match" in _story_text(_digest(slack_api, ts), alert_id))
