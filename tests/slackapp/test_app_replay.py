"""Each Slack request applied once (replays, Slack retries) and [slack] reviewers enforced, over
real signed HTTP to the app behind waitress, the Web API stand-in and a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sanctionwatch.cli import main as cli
from sanctionwatch.clock import utcnow
from sanctionwatch.slackapp.review import REVIEWERS_ONLY
from sanctionwatch.storage.db import Store
from sanctionwatch.storage.replay import (
    SEEN_TABLE,
    DuplicateRequest,
    RequestKey,
    claim,
    request_key,
)
from tests.support.app_harness import (
    ADMIN,
    ANALYST,
    REVIEWER,
    Harness,
    deliver_alert,
    running_app,
    wait_for,
)
from tests.support.paths import REPO
from tests.support.response_urls import ResponseUrls
from tests.support.slack_api import SlackApiStub
from tests.support.slack_signing import action_body, signed_headers, slash_body


@pytest.fixture
def harness(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> Iterator[Harness]:
    with running_app(tmp_path, slack_api, response_urls) as h:
        yield h


@pytest.fixture
def strict(
    tmp_path: Path, slack_api: SlackApiStub, response_urls: ResponseUrls
) -> Iterator[Harness]:
    """The app with [slack] reviewers = the reviewer only."""
    with running_app(
        tmp_path, slack_api, response_urls, slack_extra=f'reviewers = ["{REVIEWER}"]\n'
    ) as h:
        yield h


def post(h: Harness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    response = h.http.post(h.url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def rows(h: Harness, sql: str) -> list[dict]:
    store = h.store()
    try:
        return [dict(r) for r in store.db.query(sql)]
    finally:
        store.close()


def dispositions(h: Harness) -> list[dict]:
    return rows(h, "SELECT * FROM alert_dispositions ORDER BY id")


def review_audits(h: Harness) -> list[dict]:
    return rows(h, "SELECT * FROM audit_log WHERE action = 'alert.disposition'")


# ---- replays and retries ----------------------------------------------------------------
def test_replayed_click_same_signature_is_acked_and_recorded_once(harness: Harness) -> None:
    alert_id, ts = deliver_alert(harness)
    body = action_body("review_true_match", str(alert_id), ANALYST, message_ts=ts)
    headers = signed_headers(body)
    post(harness, body, headers)
    harness.settle(1)
    assert len(dispositions(harness)) == 1
    for _ in range(3):  # an attacker replaying a captured click inside the 5-minute window
        post(harness, body, headers)
    harness.settle(4)
    assert [d["user_id"] for d in dispositions(harness)] == [ANALYST]
    assert len(review_audits(harness)) == 1
    assert len(harness.stub.calls_to("chat.update")) == 1
    assert not harness.stub.calls_to("chat.postEphemeral")  # a replay gets no reply either


def test_slack_retry_of_a_click_is_applied_once(harness: Harness) -> None:
    alert_id, ts = deliver_alert(harness)
    body = action_body("review_escalate", str(alert_id), ANALYST, message_ts=ts)
    post(harness, body, signed_headers(body))
    harness.settle(1)
    # Slack redelivers the same payload with a fresh timestamp/signature and X-Slack-Retry-Num
    for n in (1, 2):
        retry = signed_headers(body, timestamp=int(time.time()) + n, retry_num=n)
        assert retry["X-Slack-Signature"] != signed_headers(body)["X-Slack-Signature"]
        post(harness, body, retry)
    harness.settle(3)
    assert [d["disposition"] for d in dispositions(harness)] == ["escalate"]
    assert len(harness.stub.calls_to("chat.update")) == 1


def test_retry_whose_original_never_arrived_is_applied(harness: Harness) -> None:
    url = harness.responses.new()
    body = slash_body("add vessels Sky Aries", ADMIN, response_url=url)
    post(harness, body, signed_headers(body, retry_num=1))
    (reply,) = harness.responses.wait(url)
    assert "Added *Sky Aries*" in reply["text"]
    assert harness.counts() == (1, 1)


def test_replayed_add_after_a_remove_does_not_re_add(harness: Harness) -> None:
    add_url = harness.responses.new()
    body = slash_body("add vessels Sky Aries", ADMIN, response_url=add_url)
    headers = signed_headers(body)
    assert post(harness, body, headers).text == ""  # ack() first, empty
    assert "Added *Sky Aries*" in harness.responses.wait(add_url)[0]["text"]
    assert "Removed *Sky Aries*" in harness.reply("remove vessels Sky Aries")
    assert harness.counts() == (0, 2)
    post(harness, body, headers)  # replay of the captured add, still inside the window
    harness.settle(3)
    assert harness.counts() == (0, 2)  # not re-added, no audit row
    assert len(harness.responses.received(add_url)) == 1
    # a retry of it (new signature, X-Slack-Retry-Num) is not applied either
    post(harness, body, signed_headers(body, timestamp=int(time.time()) + 1, retry_num=1))
    harness.settle(4)
    assert harness.counts() == (0, 2)
    # a fresh command with the same text is a new request and is applied
    assert "Added *Sky Aries*" in harness.reply("add vessels Sky Aries")
    assert harness.counts() == (1, 3)


def test_forged_replay_still_gets_401(harness: Harness) -> None:
    body = slash_body("add vessels Sky Aries", ADMIN, response_url=harness.responses.new())
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    assert harness.http.post(harness.url, content=body, headers=stale).status_code == 401
    assert harness.counts() == (0, 0)


def test_claim_prunes_old_rows_and_keys_requests(tmp_path: Path) -> None:
    store = Store(tmp_path / "sw.db")
    now = utcnow()
    key = request_key(
        {"x-slack-signature": ["v0=ab"], "x-slack-request-timestamp": ["1"]}, {"trigger_id": "t1"}
    )
    assert key == RequestKey("sig:1:v0=ab", "delivery:t1", 0)
    with store.transaction() as db:
        claim(db, key, now - timedelta(minutes=16))
    with pytest.raises(DuplicateRequest), store.transaction() as db:
        claim(db, key, now - timedelta(minutes=15))
    other = RequestKey("sig:2:v0=cd", None)
    with store.transaction() as db:
        claim(db, other, now)  # prunes the 16-minute-old rows
    keys = [r[0] for r in store.db.execute(f"SELECT key FROM {SEEN_TABLE}").fetchall()]
    store.close()
    assert keys == ["sig:2:v0=cd"]


def test_claim_rolls_back_with_a_failed_change(tmp_path: Path) -> None:
    """Claim and change commit together: a change that fails leaves the request unclaimed."""
    store = Store(tmp_path / "sw.db")
    key = RequestKey("sig:3:v0=ef", "delivery:t3")
    with pytest.raises(RuntimeError), store.transaction() as db:
        claim(db, key)
        raise RuntimeError("crash before commit")
    with store.transaction() as db:
        claim(db, key)  # not a duplicate: the first attempt never committed
    store.close()


# ---- reviewers --------------------------------------------------------------------------
def test_non_reviewer_click_changes_nothing_and_is_told_why(strict: Harness) -> None:
    alert_id, ts = deliver_alert(strict)
    before = strict.stub.messages[("C0ALERTS01", ts)]["blocks"]
    body = action_body("review_false_positive", str(alert_id), ANALYST, message_ts=ts)
    post(strict, body, signed_headers(body))
    wait_for(lambda: len(strict.stub.calls_to("chat.postEphemeral")) == 1)
    call = strict.stub.calls_to("chat.postEphemeral")[0]
    assert call.params["user"] == ANALYST and REVIEWERS_ONLY in call.params["text"]
    strict.settle(1)
    assert dispositions(strict) == [] and review_audits(strict) == []
    assert not strict.stub.calls_to("chat.update")
    assert strict.stub.messages[("C0ALERTS01", ts)]["blocks"] == before
    row = rows(strict, f"SELECT disposition FROM alerts WHERE id = {alert_id}")
    assert row == [{"disposition": None}]
    # the admin edits watchlists but is no reviewer either
    body = action_body("review_true_match", str(alert_id), ADMIN, message_ts=ts)
    post(strict, body, signed_headers(body))
    strict.settle(2)
    assert dispositions(strict) == []


def test_reviewer_click_is_recorded(strict: Harness) -> None:
    alert_id, ts = deliver_alert(strict)
    body = action_body("review_true_match", str(alert_id), REVIEWER, message_ts=ts)
    post(strict, body, signed_headers(body))
    wait_for(lambda: len(strict.stub.calls_to("chat.update")) == 1)
    strict.settle(1)
    assert [(d["user_id"], d["disposition"]) for d in dispositions(strict)] == [
        (REVIEWER, "true_match")
    ]
    assert "True match — by <@U0REVIEWER>" in str(strict.stub.messages[("C0ALERTS01", ts)])
    assert not strict.stub.calls_to("chat.postEphemeral")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", "reviewers: not set — anyone in an alert's channel may set dispositions"),
        ('[slack]\nreviewers = ["U1", "U2"]\n', "reviewers: 2 user(s)"),
    ],
)
def test_check_reports_reviewers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    repo = REPO
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'rules = "{repo / "rules"}"\nwatchlists = "{repo / "watchlists"}"\n{extra}',
        encoding="utf-8",
    )
    assert cli.main(["check", "--config", str(cfg), "-q"]) == 0
    assert expected in capsys.readouterr().out
