"""SlackPoster (real slack-sdk WebClient) against the local Slack Web API stand-in."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from slack_sdk import WebClient

from sanctionwatch.errors import DeliveryError
from sanctionwatch.slack.format import format_alert
from sanctionwatch.slack.poster import Poster, SlackDeliveryError, SlackPoster
from tests.support import slack_api as slack_support
from tests.support.factories import make_view
from tests.support.slack_api import TEST_TOKEN, SlackApiStub

# The fixture; tests/conftest.py may register it project-wide too (same object, no clash).
slack_api = slack_support.slack_api

FAST_BACKOFF_S = 0.01  # keep retry tests quick; the retry logic is the same


def poster(stub: SlackApiStub, **kw: float) -> SlackPoster:
    kw.setdefault("backoff_s", FAST_BACKOFF_S)
    p: Poster = SlackPoster(TEST_TOKEN, stub.base_url, **kw)  # type: ignore[arg-type]
    assert isinstance(p, SlackPoster)
    return p


def test_post_returns_ts_and_sends_blocks_with_token(slack_api: SlackApiStub) -> None:
    text, blocks = format_alert(make_view())
    ts = poster(slack_api).post("#sanctions-alerts", text, blocks)
    assert ts == "1700000000.000100"
    (call,) = slack_api.calls_to("chat.postMessage")
    assert call.headers["authorization"] == f"Bearer {TEST_TOKEN}"
    assert call.params["channel"] == "#sanctions-alerts"
    assert call.params["blocks"] == blocks
    assert call.params["text"] == text
    assert call.params["unfurl_links"] is False
    (message,) = slack_api.messages_in("sanctions-alerts")
    assert message["ts"] == ts and message["blocks"][-1]["block_id"] == "review:42"
    assert slack_api.post_count("#sanctions-alerts") == 1


def test_each_post_gets_its_own_ts(slack_api: SlackApiStub) -> None:
    p = poster(slack_api)
    ts = {p.post("C0ALERTS01", "t", [{"type": "divider"}]) for _ in range(3)}
    assert len(ts) == 3 and slack_api.post_count("C0ALERTS01") == 3


def test_rate_limit_honours_retry_after_then_posts_once(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    start = time.monotonic()
    ts = poster(slack_api, max_retry_after_s=5).post("#sanctions-alerts", "t", [])
    elapsed = time.monotonic() - start
    assert ts
    assert elapsed >= 1.0
    assert [c.status for c in slack_api.calls_to("chat.postMessage")] == [429, 200]
    assert slack_api.post_count("#sanctions-alerts") == 1


def test_rate_limit_longer_than_cap_fails_fast_and_retryable(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=60)
    start = time.monotonic()
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api, max_retry_after_s=2).post("#sanctions-alerts", "t", [])
    assert time.monotonic() - start < 2
    err = info.value
    assert err.retryable is True
    assert err.retry_after_s == 60
    assert "ratelimited" in err.message and "#sanctions-alerts" in err.message
    assert slack_api.post_count("#sanctions-alerts") == 0


def test_server_error_then_success(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", status=500)
    slack_api.fail_next("chat.postMessage", status=502)
    ts = poster(slack_api).post("#sanctions-alerts", "t", [])
    assert ts
    assert [c.status for c in slack_api.calls_to("chat.postMessage")] == [500, 502, 200]
    assert slack_api.post_count("#sanctions-alerts") == 1


def test_slack_down_gives_retryable_delivery_error_after_max_retries(
    slack_api: SlackApiStub,
) -> None:
    slack_api.down = True
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api, max_retries=2).post("#sanctions-alerts", "t", [])
    err = info.value
    assert isinstance(err, DeliveryError)  # what the pipeline catches
    assert err.retryable is True
    assert "HTTP 503" in err.message and "#sanctions-alerts" in err.message
    assert err.hint
    assert len(slack_api.calls_to("chat.postMessage")) == 3  # first try + 2 retries


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_blocks"])
def test_permanent_slack_errors_are_not_retried(slack_api: SlackApiStub, error: str) -> None:
    slack_api.fail_next("chat.postMessage", error=error)
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).post("#nowhere", "t", [])
    err = info.value
    assert err.retryable is False
    assert error in err.message and "#nowhere" in err.message
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_strict_unknown_channel_is_channel_not_found(slack_api: SlackApiStub) -> None:
    slack_api.strict_channels = True
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).post("#typo-channel", "t", [])
    assert "channel_not_found" in info.value.message
    assert "invite" in info.value.hint


def test_bad_token_is_invalid_auth_not_retryable(slack_api: SlackApiStub) -> None:
    p = SlackPoster("not-a-token", slack_api.base_url, backoff_s=FAST_BACKOFF_S)
    with pytest.raises(SlackDeliveryError) as info:
        p.post("#sanctions-alerts", "t", [])
    assert "invalid_auth" in info.value.message
    assert info.value.retryable is False
    assert "SLACK_BOT_TOKEN" in info.value.hint


def test_nothing_listening_is_retryable_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = SlackPoster(
        TEST_TOKEN, f"http://127.0.0.1:{port}/api/", max_retries=1, backoff_s=FAST_BACKOFF_S
    )
    with pytest.raises(SlackDeliveryError) as info:
        p.post("#sanctions-alerts", "t", [])
    assert info.value.retryable is True


def test_update_by_channel_name_uses_id_from_post(slack_api: SlackApiStub) -> None:
    p = poster(slack_api)
    text, blocks = format_alert(make_view())
    ts = p.post("#sanctions-alerts", text, blocks)
    text2, blocks2 = format_alert(make_view(disposition="false_positive", disposition_by="U0X"))
    p.update("#sanctions-alerts", ts, text2, blocks2)
    (call,) = slack_api.calls_to("chat.update")
    assert call.params["channel"] == "C0ALERTS01" and call.params["ts"] == ts
    (message,) = slack_api.messages_in("C0ALERTS01")
    assert message["blocks"] == blocks2 and message["edited"] == 1
    assert not slack_api.calls_to("conversations.list")  # id came from the post answer


def test_update_of_deleted_message_is_permanent(slack_api: SlackApiStub) -> None:
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).update("C0ALERTS01", "1.000001", "t", [])
    assert "message_not_found" in info.value.message
    assert info.value.retryable is False


def test_upload_file_end_to_end_resolves_name_via_paginated_list(
    slack_api: SlackApiStub, tmp_path: Path
) -> None:
    for i in range(450):  # more than two pages of conversations.list
        slack_api.add_channel(f"chan-{i:03d}")
    report_id = slack_api.add_channel("weekly-reports", "CZZZREPORT")
    path = tmp_path / "alerts-2026-W48.csv"
    payload = "\ufeffalert_id,title\r\n1,Ким Чен Ын\r\n".encode()
    path.write_bytes(payload)
    p = poster(slack_api)
    p.upload_file("#weekly-reports", path, title="Weekly alerts", comment="12 alerts")
    (upload,) = slack_api.uploads.values()
    assert upload["data"] == payload
    assert upload["completed"] and upload["channel_id"] == report_id
    assert upload["title"] == "Weekly alerts" and upload["initial_comment"] == "12 alerts"
    assert upload["filename"] == "alerts-2026-W48.csv"
    lists_before = len(slack_api.calls_to("conversations.list"))
    assert lists_before == 3  # 454 channels in pages of 200
    p.upload_file("#weekly-reports", path, title="again")  # cached: no new listing
    p.upload_file("Weekly-Reports", path, title="third")
    assert len(slack_api.calls_to("conversations.list")) == lists_before
    assert len(slack_api.uploads) == 3


def test_upload_to_unknown_channel_and_missing_file(
    slack_api: SlackApiStub, tmp_path: Path
) -> None:
    p = poster(slack_api)
    f = tmp_path / "x.csv"
    f.write_text("a\n")
    with pytest.raises(SlackDeliveryError) as info:
        p.upload_file("#does-not-exist", f, title="x")
    assert "#does-not-exist" in info.value.message and "channels:read" in info.value.hint
    with pytest.raises(SlackDeliveryError) as info:
        p.upload_file("C0REPORTS1", tmp_path / "missing.csv", title="x")
    assert "missing.csv" in info.value.message
    assert not slack_api.uploads


def test_upload_url_failure_is_retryable_delivery_error(
    slack_api: SlackApiStub, tmp_path: Path
) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a\n")
    slack_api.fail_next("upload", status=500)
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).upload_file("C0REPORTS1", f, title="x")
    assert info.value.retryable is True
    (upload,) = slack_api.uploads.values()
    assert not upload["completed"]


def test_stub_speaks_to_plain_webclient(slack_api: SlackApiStub) -> None:
    """Sanity of the stand-in itself, as other suites use it directly."""
    client = WebClient(token=TEST_TOKEN, base_url=slack_api.base_url)
    assert client.auth_test()["user_id"]
    assert client.users_info(user="U0ANALYST1")["user"]["name"] == "analyst"
    eph = client.chat_postEphemeral(channel="C0ALERTS01", user="U0ANALYST1", text="only you")
    assert eph["message_ts"]
    slack_api.on("views.open", lambda params: {"view": {"id": "V1"}})
    assert client.views_open(trigger_id="t", view={"type": "modal"})["view"]["id"] == "V1"
    no_auth = WebClient(token=None, base_url=slack_api.base_url, retry_handlers=[])
    with pytest.raises(Exception, match="invalid_auth"):
        no_auth.auth_test()


# ---- issue 8: never re-post blindly; metadata; history ---------------------------------------
def test_lost_answer_is_not_resent_and_is_reported_unknown(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", lost=True)
    meta = {"event_type": "sanctionwatch_alert", "event_payload": {"alert_id": 7}}
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).post("#sanctions-alerts", "t", [], meta)
    assert info.value.unknown is True and info.value.retryable is True
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # slack-sdk did not re-send it
    (message,) = slack_api.messages_in("sanctions-alerts")  # and Slack has it
    assert message["metadata"] == meta


def test_refused_connection_is_retried_on_the_spot_and_not_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = SlackPoster(
        TEST_TOKEN, f"http://127.0.0.1:{port}/api/", max_retries=1, backoff_s=FAST_BACKOFF_S
    )
    with pytest.raises(SlackDeliveryError) as info:
        p.post("#sanctions-alerts", "t", [])
    assert info.value.unknown is False


def test_read_timeout_is_unknown(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", hang_s=3)
    start = time.monotonic()
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api, timeout_s=0.5).post("#sanctions-alerts", "t", [])
    assert time.monotonic() - start < 2.5
    assert info.value.unknown is True
    assert len(slack_api.calls_to("chat.postMessage")) <= 1  # the held call is recorded late


def test_non_json_answer_is_permanent(slack_api: SlackApiStub) -> None:
    slack_api.fail_next("chat.postMessage", body="<html><body>Bad gateway</body></html>")
    with pytest.raises(SlackDeliveryError) as info:
        poster(slack_api).post("#sanctions-alerts", "t", [])
    assert info.value.error == "non_json_response" and info.value.retryable is False


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived", "channel_not_found"])
def test_channel_errors_are_persistent_like_slack(slack_api: SlackApiStub, error: str) -> None:
    slack_api.channel_errors["#sanctions-alerts"] = error
    for _ in range(2):
        with pytest.raises(SlackDeliveryError, match=error):
            poster(slack_api).post("C0ALERTS01", "t", [])
    assert slack_api.messages == {}


def test_find_message_pages_history_and_needs_metadata(slack_api: SlackApiStub) -> None:
    from datetime import UTC, datetime

    slack_api.real_time_ts = True
    started = datetime.now(UTC)
    p = poster(slack_api)
    for n in range(1, 8):
        meta = {"event_type": "sanctionwatch_alert", "event_payload": {"alert_id": n}}
        p.post("#sanctions-alerts", f"alert {n}", [], meta)
    client = WebClient(token=TEST_TOKEN, base_url=slack_api.base_url)
    page = client.conversations_history(channel="C0ALERTS01", limit=3)
    assert len(page["messages"]) == 3 and page["has_more"]
    assert all("metadata" not in m for m in page["messages"])  # not asked for
    assert page["messages"][0]["text"] == "alert 7"  # newest first
    assert not client.conversations_history(channel="C0ALERTS01", oldest="9999999999")["messages"]
    # the oldest alert is on the last page of a small-page search
    small = SlackPoster(TEST_TOKEN, slack_api.base_url, history_page_size=2)
    ts = small.find_message("#sanctions-alerts", "sanctionwatch_alert", "alert_id", 1, started)
    assert ts == slack_api.messages_in("sanctions-alerts")[0]["ts"]
    assert len(slack_api.calls_to("conversations.history")) >= 2 + 4
    assert (
        p.find_message("#sanctions-alerts", "sanctionwatch_alert", "alert_id", 99, started) is None
    )
