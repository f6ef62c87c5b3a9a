"""The reason modal: a click records at once and opens a modal (views.open with the click's
trigger_id); a submitted reason (a real signed view_submission) is added to the decision,
shown on the message and exported in the CSV."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from sanctionwatch.alerting.exports import export_range
from sanctionwatch.clock import utcnow
from sanctionwatch.slack.reviewformat import REASON_ACTION, REASON_BLOCK, REASON_CALLBACK
from tests.support.app_harness import (
    ANALYST,
    REVIEWER,
    Harness,
    deliver_alert,
    running_app,
    wait_for,
)
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub
from tests.support.slack_signing import signed_headers, view_submission_body

REASON = "Seoul's figures, confirmed by <b>two</b> outlets & OFAC"


def _submit(harness: Harness, meta: str, reason: str, user: str = ANALYST) -> int:
    values = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}}
    body = view_submission_body(REASON_CALLBACK, meta, values, user)
    return harness.http.post(harness.url, content=body, headers=signed_headers(body)).status_code


def _one(harness: Harness, sql: str, *params: object) -> tuple:
    store = harness.store()
    try:
        return tuple(store.db.execute(sql, list(params)).fetchone())
    finally:
        store.close()


def test_click_opens_modal_and_the_reason_reaches_decision_message_and_csv(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    extra = 'escalation_channel = "#escalations"\n'
    with running_app(tmp_path, slack_api, response_urls, slack_extra=extra) as harness:
        alert_id, ts = deliver_alert(harness)
        assert harness.click("review_escalate", str(alert_id), ANALYST, ts).status_code == 200
        harness.settle(1)
        # recorded at once, before any reason
        assert _one(harness, "SELECT disposition FROM alerts WHERE id = ?", alert_id) == (
            "escalate",
        )
        (opened,) = slack_api.calls_to("views.open")
        (view,) = slack_api.views.values()
        click = next(c for c in slack_api.calls if c.method == "views.open")
        assert opened.params["trigger_id"] and view["callback_id"] == REASON_CALLBACK
        assert click.params["trigger_id"] == view["trigger_id"]
        assert f'"alert_id": {alert_id}' in view["private_metadata"]

        assert _submit(harness, view["private_metadata"], REASON) == 200
        harness.settle(2)
        assert _one(
            harness,
            "SELECT reason, user_id FROM alert_dispositions WHERE alert_id = ? ORDER BY id DESC",
            alert_id,
        ) == (REASON, ANALYST)
        wait_for(lambda: "two" in str(slack_api.messages[("C0ALERTS01", ts)]["blocks"]))
        shown = str(slack_api.messages[("C0ALERTS01", ts)]["blocks"])
        assert "&lt;b&gt;two&lt;/b&gt; outlets &amp; OFAC" in shown  # escaped on the message
        assert f"by <@{ANALYST}>" in shown  # the reviewer as a mention, as after the click
        escalations = slack_api.messages_in("#escalations")
        assert len(escalations) == 2 and "two" in str(escalations[1]["blocks"])
        assert escalations[1].get("thread_ts") == escalations[0]["ts"]  # under the escalation

        store = harness.store()
        now = utcnow()
        path, _ = export_range(harness.settings, store, now - timedelta(days=1), now + timedelta(1))
        store.close()
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0])[-1] == "disposition_reason"
        assert rows[0]["disposition_reason"] == REASON


def test_a_reason_from_someone_who_did_not_decide_is_refused(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> None:
    with running_app(tmp_path, slack_api, response_urls) as harness:
        alert_id, ts = deliver_alert(harness)
        harness.click("review_true_match", str(alert_id), ANALYST, ts)
        harness.settle(1)
        (view,) = slack_api.views.values()
        assert _submit(harness, view["private_metadata"], "not mine", user=REVIEWER) == 200
        harness.settle(2)
        assert _one(harness, "SELECT disposition_reason FROM alerts WHERE id = ?", alert_id) == (
            None,
        )
        # an empty submission (the reason is optional) changes nothing either
        assert _submit(harness, view["private_metadata"], "") == 200
        harness.settle(3)
        assert _one(harness, "SELECT count(*) FROM audit_log WHERE action = 'alert.reason'") == (0,)
