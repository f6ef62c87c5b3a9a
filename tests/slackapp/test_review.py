"""Review dispositions: history, latest stands, audit, re-render via chat.update on the stub."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctionwatch.errors import DeliveryError
from sanctionwatch.slack.poster import SlackPoster
from sanctionwatch.slackapp.review import ReviewError, apply_review, history, record_disposition
from sanctionwatch.storage.audit import Actor
from sanctionwatch.storage.db import Store
from tests.support.slack_api import TEST_TOKEN, SlackApiStub

ANALYST = Actor("U0ANALYST1", "Analyst")
REVIEWER = Actor("U0REVIEWER", "Reviewer")


def seed_alert(store: Store, slack_channel: str | None, ts: str | None) -> int:
    with store.transaction() as db:
        db.execute(
            "INSERT INTO items (item_id, feed, title, link) VALUES ('i1', 'F', 'Shells', "
            "'https://example.org/a')"
        )
        cur = db.execute(
            "INSERT INTO alerts (item_id, rule, severity, channel, explanation, matches, status,"
            " created_at, slack_channel, slack_ts) VALUES ('i1', 'r', 'high', '#sanctions-alerts',"
            " '', '[]', 'delivered', '2026-01-05T10:00:00+00:00', ?, ?)",
            [slack_channel, ts],
        )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "sw.db")


def test_history_latest_stands_and_audit(store: Store) -> None:
    alert = seed_alert(store, None, None)
    assert record_disposition(store, alert, "escalate", ANALYST) is None
    previous = record_disposition(store, alert, "true_match", REVIEWER)
    assert previous is not None and previous["disposition"] == "escalate"
    assert [h["disposition"] for h in history(store.db, alert)] == ["escalate", "true_match"]
    row = store.db.execute(
        "SELECT disposition, disposition_by FROM alerts WHERE id = ?", [alert]
    ).fetchone()
    assert row == ("true_match", "Reviewer (U0REVIEWER)")
    audits = list(store.db.query("SELECT * FROM audit_log WHERE target = ?", [str(alert)]))
    assert [a["actor_id"] for a in audits] == ["U0ANALYST1", "U0REVIEWER"]


@pytest.mark.parametrize("value", ["999", "abc", "-1", ""])
def test_unknown_or_bad_alert_is_refused(store: Store, value: str) -> None:
    with pytest.raises(ReviewError):
        apply_review(store, _NoPoster(), "review_true_match", value, ANALYST)
    assert store.db.execute("SELECT count(*) FROM alert_dispositions").fetchone()[0] == 0


def test_unknown_button_is_refused(store: Store) -> None:
    alert = seed_alert(store, None, None)
    with pytest.raises(ReviewError):
        apply_review(store, _NoPoster(), "review_delete_everything", str(alert), ANALYST)


def test_update_by_channel_name_from_the_alert_row(store: Store, slack_api: SlackApiStub) -> None:
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    ts = poster.post("#sanctions-alerts", "alert", [])
    alert = seed_alert(store, "#sanctions-alerts", ts)
    result = apply_review(store, poster, "review_escalate", str(alert), ANALYST)
    assert result.message_updated
    message = slack_api.messages[("C0ALERTS01", ts)]
    assert "Escalated — by <@U0ANALYST1>" in str(message["blocks"])
    assert message["blocks"][-1]["block_id"] == f"review:{alert}"  # buttons stay


def test_update_failure_still_records(store: Store, slack_api: SlackApiStub) -> None:
    poster = SlackPoster(TEST_TOKEN, slack_api.base_url, max_retries=0)
    alert = seed_alert(store, "C0ALERTS01", "1700000000.999999")  # message deleted in Slack
    result = apply_review(store, poster, "review_false_positive", str(alert), ANALYST)
    assert not result.message_updated and "message_not_found" in (result.update_error or "")
    assert [h["disposition"] for h in history(store.db, alert)] == ["false_positive"]


class _NoPoster:
    def post(self, channel: str, text: str, blocks: list[dict]) -> str:
        raise DeliveryError("no")

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        raise DeliveryError("no")

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str = "") -> None:
        raise DeliveryError("no")
